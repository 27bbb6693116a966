package subscription

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/notify"
	"github.com/qala-city/qala/internal/problem"
)

// Resolver resolves @context values (jsonld.Resolver).
type Resolver interface {
	Resolve(ctx context.Context, raw any) (*jsonld.Context, error)
	Core() *jsonld.Context
}

// Options configure Open.
type Options struct {
	Dir      string
	Resolver Resolver
	Logger   *slog.Logger
	// NoSync skips the fsync of writes (tests and benchmarks only).
	NoSync bool
	// FlushEvery is how often changed status counters are written (default 1 s).
	FlushEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Registry holds every tenant's subscriptions, in memory for matching and
// in a pebble database for restarts. It is safe for concurrent use.
//
// Keys: 's' tenant 0x00 id -> record (JSON); 'c' -> the change-log cursor
// of the notification pipeline (8 bytes, big endian).
type Registry struct {
	db   *pebble.DB
	res  Resolver
	log  *slog.Logger
	wo   *pebble.WriteOptions
	now  func() time.Time
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	tenants map[string]*tenantIdx
	closed  bool
	stamp   uint64 // of the last candidates call
}

type record struct {
	Sub    Subscription `json:"sub"`
	Status Status       `json:"status"`
}

const (
	prefixSub = 's'
	keyCursor = "c"
)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("subscription: registry closed")

// Open opens (or creates) the registry's database and loads it.
func Open(opts Options) (*Registry, error) {
	if opts.Dir == "" || opts.Resolver == nil {
		return nil, errors.New("subscription: Dir and Resolver are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	db, err := pebble.Open(opts.Dir, &pebble.Options{Logger: quietLogger{log}, FormatMajorVersion: pebble.FormatNewest})
	if err != nil {
		return nil, fmt.Errorf("subscription: open %s: %w", opts.Dir, err)
	}
	r := &Registry{db: db, res: opts.Resolver, log: log, wo: pebble.Sync, now: opts.Now, stop: make(chan struct{}), tenants: map[string]*tenantIdx{}}
	if opts.NoSync {
		r.wo = pebble.NoSync
	}
	if r.now == nil {
		r.now = time.Now
	}
	if err := r.load(); err != nil {
		db.Close()
		return nil, err
	}
	every := opts.FlushEvery
	if every <= 0 {
		every = time.Second
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				if err := r.flush(); err != nil && !errors.Is(err, ErrClosed) {
					r.log.Warn("subscription status flush failed", "err", err)
				}
			}
		}
	}()
	return r, nil
}

func (r *Registry) load() error {
	it, err := r.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixSub}, UpperBound: []byte{prefixSub + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		var rec record
		if err := json.Unmarshal(it.Value(), &rec); err != nil {
			r.log.Error("subscription record unreadable; skipped", "key", string(it.Key()), "err", err)
			continue
		}
		c, err := r.compile(context.Background(), &rec.Sub)
		if err != nil {
			// Its @context cannot be loaded now (a remote context that is
			// down): keep the subscription, read with the core context,
			// rather than lose it.
			fallback := rec.Sub
			fallback.Context, fallback.JSONLDCtx = nil, ""
			if c, err = r.compile(context.Background(), &fallback); err != nil {
				r.log.Error("subscription cannot be compiled; skipped", "id", rec.Sub.ID, "tenant", rec.Sub.Tenant, "err", err)
				continue
			}
			r.log.Warn("subscription's @context unavailable; it is read with the core context until updated", "id", rec.Sub.ID, "tenant", rec.Sub.Tenant)
			c.Subscription = rec.Sub
		}
		c.status = rec.Status
		c.lastSent = rec.Status.LastNotification
		r.tenant(rec.Sub.Tenant).add(c)
	}
	return it.Error()
}

// compile resolves the subscription's contexts and prepares it for matching.
func (r *Registry) compile(ctx context.Context, s *Subscription) (*compiled, error) {
	sctx := r.res.Core()
	if s.Context != nil {
		var err error
		if sctx, err = r.res.Resolve(ctx, s.Context); err != nil {
			return nil, err
		}
	}
	c, err := compile(s, sctx)
	if err != nil {
		return nil, err
	}
	c.ctx, c.nctx = sctx, sctx
	if s.JSONLDCtx != "" {
		if c.nctx, err = r.res.Resolve(ctx, s.JSONLDCtx); err != nil {
			return nil, err
		}
	}
	c.env = c.envelopeParts()
	return c, nil
}

func (r *Registry) tenant(t string) *tenantIdx {
	ti := r.tenants[t]
	if ti == nil {
		ti = newTenantIdx()
		r.tenants[t] = ti
	}
	return ti
}

func subKey(tenant, id string) []byte {
	k := make([]byte, 0, 2+len(tenant)+len(id))
	k = append(k, prefixSub)
	k = append(k, tenant...)
	k = append(k, 0)
	return append(k, id...)
}

func (r *Registry) put(c *compiled) error {
	b, err := json.Marshal(record{Sub: c.Subscription, Status: c.status})
	if err != nil {
		return err
	}
	return r.db.Set(subKey(c.Tenant, c.ID), b, r.wo)
}

// Create adds a new subscription to a tenant: AlreadyExists when the id is
// taken, LdContextNotAvailable when its jsonldContext cannot be loaded.
func (r *Registry) Create(ctx context.Context, tenant string, s *Subscription) error {
	s.Tenant = tenant
	c, err := r.compile(ctx, s)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	ti := r.tenant(tenant)
	if _, ok := ti.subs[s.ID]; ok {
		return problem.New(problem.AlreadyExists, "subscription %s already exists", s.ID)
	}
	if err := r.put(c); err != nil {
		return err
	}
	ti.add(c)
	return nil
}

func notFound(id string) error {
	return problem.NotFound("subscription %s does not exist", id)
}

// Get returns a subscription of a tenant, or ResourceNotFound.
func (r *Registry) Get(tenant, id string) (*View, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.tenants[tenant].get(id)
	if c == nil {
		return nil, notFound(id)
	}
	return c.view(), nil
}

func (t *tenantIdx) get(id string) *compiled {
	if t == nil {
		return nil
	}
	return t.subs[id]
}

func (c *compiled) view() *View {
	return &View{Sub: c.Subscription, Status: c.status, sctx: c.ctx}
}

// List returns a tenant's subscriptions in the order they were created.
func (r *Registry) List(tenant string) []*View {
	r.mu.Lock()
	defer r.mu.Unlock()
	ti := r.tenants[tenant]
	if ti == nil {
		return nil
	}
	out := make([]*View, 0, len(ti.subs))
	for _, c := range ti.subs {
		out = append(out, c.view())
	}
	slices.SortFunc(out, func(a, b *View) int {
		if c := a.Sub.CreatedAt.Compare(b.Sub.CreatedAt); c != 0 {
			return c
		}
		switch {
		case a.Sub.ID < b.Sub.ID:
			return -1
		case a.Sub.ID > b.Sub.ID:
			return 1
		}
		return 0
	})
	return out
}

// Update replaces a subscription with what patch returns for it (clause
// 5.8.2); ResourceNotFound when it does not exist.
func (r *Registry) Update(ctx context.Context, tenant, id string, patch func(*Subscription) (*Subscription, error)) error {
	r.mu.Lock()
	old := r.tenants[tenant].get(id)
	if old == nil {
		r.mu.Unlock()
		return notFound(id)
	}
	cur := old.Subscription
	r.mu.Unlock()
	n, err := patch(&cur)
	if err != nil {
		return err
	}
	n.Tenant, n.ID, n.CreatedAt = tenant, id, cur.CreatedAt
	c, err := r.compile(ctx, n)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	ti := r.tenants[tenant]
	old = ti.get(id)
	if old == nil {
		return notFound(id)
	}
	c.status, c.lastSent = old.status, old.lastSent
	if err := r.put(c); err != nil {
		return err
	}
	ti.remove(old)
	ti.add(c)
	return nil
}

// Delete removes a subscription; ResourceNotFound when it does not exist.
func (r *Registry) Delete(tenant, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	ti := r.tenants[tenant]
	c := ti.get(id)
	if c == nil {
		return notFound(id)
	}
	if err := r.db.Delete(subKey(tenant, id), r.wo); err != nil {
		return err
	}
	ti.remove(c)
	return nil
}

// Record updates the status of the subscription a delivery attempt was for
// (timesSent, timesFailed, lastNotification, lastSuccess, lastFailure,
// notification.status). Counters reach the database within FlushEvery.
func (r *Registry) Record(a notify.Attempt) {
	if a.Msg == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.tenants[a.Msg.Tenant].get(a.Msg.Subscription)
	if c == nil {
		return
	}
	at := a.At
	if at.IsZero() {
		at = r.now()
	}
	st := &c.status
	st.LastNotification = at
	if a.OK {
		st.TimesSent++
		st.LastSuccess = at
		st.Failed = false
	} else {
		st.TimesFailed++
		st.LastFailure = at
		st.Failed = true
	}
	c.dirty = true
}

// flush writes the status of subscriptions whose counters changed.
func (r *Registry) flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	b := r.db.NewBatch()
	defer b.Close()
	var flushed []*compiled
	for _, ti := range r.tenants {
		for _, c := range ti.subs {
			if !c.dirty {
				continue
			}
			v, err := json.Marshal(record{Sub: c.Subscription, Status: c.status})
			if err != nil {
				return err
			}
			b.Set(subKey(c.Tenant, c.ID), v, nil)
			flushed = append(flushed, c)
		}
	}
	if len(flushed) == 0 {
		return nil
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	for _, c := range flushed {
		c.dirty = false
	}
	return nil
}

// Cursor returns the persisted change-log cursor of the notification
// pipeline, and false when none was ever persisted.
func (r *Registry) Cursor() (uint64, bool) {
	v, closer, err := r.db.Get([]byte(keyCursor))
	if err != nil {
		return 0, false
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// SetCursor persists the pipeline's cursor (durably: it is written only
// after the notifications up to it were taken by the sink).
func (r *Registry) SetCursor(seq uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	return r.db.Set([]byte(keyCursor), b[:], r.wo)
}

// Close flushes the status counters and closes the database.
func (r *Registry) Close() error {
	close(r.stop)
	r.wg.Wait()
	ferr := r.flush()
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	if err := r.db.Close(); err != nil {
		return err
	}
	if errors.Is(ferr, ErrClosed) {
		ferr = nil
	}
	return ferr
}

type quietLogger struct{ log *slog.Logger }

func (l quietLogger) Infof(string, ...any) {}
func (l quietLogger) Errorf(format string, args ...any) {
	l.log.Error("subscriptions db: " + fmt.Sprintf(format, args...))
}
func (l quietLogger) Fatalf(format string, args ...any) {
	l.log.Error("subscriptions db: " + fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}
