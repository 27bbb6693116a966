// Package embedded is Qala's single-binary store: the current state of every
// tenant held in memory, indexed by id (hash and B-tree), type, attribute name,
// geometry (R-trees per attribute and type) and, for the attributes queries
// filter on, value (values.go), over a durable pebble log with group commit.
//
// Entities are held encoded (codec.go, strings interned in a store-wide symbol
// table) in one pointer-free allocation per entity with what the indexes need
// (body.go), and decoded on Get and Query, so a million entities fit in
// memory and cost the garbage collector little.
//
// # Write path and locks
//
// Write holds Store.writeMu while it applies its changes (reading the head
// state: its own earlier changes, then groups committed but not yet durable,
// then the published indexes), encodes them, and hands ONE pebble batch to the
// commit pipeline (ApplyNoSyncWait). It then releases writeMu and waits for
// the WAL fsync outside it, so concurrent writers share fsyncs. Once durable,
// groups are published strictly in commit order: the indexes are updated under
// tenant.mu and the events handed to subscribers. Readers therefore only ever
// see durable state. Lock order: writeMu → tenantsMu → tenant.mu → pendingMu;
// symbols.mu and subsMu are leaves.
//
// One Event is emitted per change that changed its entity: a Write that
// changes the same id twice emits two events, the second's Before being the
// first's After. Event.Seq is persisted and keeps increasing across restarts.
//
// Query takes candidates from the indexes in chunks under the tenant's read
// lock and decodes (and filters) them outside it, so a long scan never blocks
// writers; a scan may therefore see changes published while it runs. The
// plan (plan.go) picks the source of candidates by cost; a collecting source
// holds at most maxCollect candidates. Building a value index takes the
// tenant's write lock once.
package embedded

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// Options configure Open.
type Options struct {
	// Dir is the directory of the pebble database; it is created if needed.
	Dir string
	// Logger receives startup and error logs; nil means slog.Default().
	Logger *slog.Logger
	// Registerer, when not nil, receives the store's metrics.
	Registerer prometheus.Registerer
	// NoSync skips the WAL fsync: acknowledged writes may be lost on a crash.
	// For tests and benchmarks only.
	NoSync bool
	// CacheEntries bounds the cache of decoded entities that Get and Query
	// share; 0 means a default of 8192, negative disables it.
	CacheEntries int
}

// Store is the embedded store. It implements store.Store.
type Store struct {
	db     *pebble.DB
	log    *slog.Logger
	noSync bool
	// serialSync makes each commit wait for its own fsync under writeMu (no
	// shared fsyncs); only benchmarks set it, to compare with group commit.
	serialSync bool
	syms       *symbols
	strings    *interner // strings of the value indexes (values.go)
	cache      *cache
	metrics    *metrics

	tenantsMu sync.RWMutex
	tenants   map[string]*tenant // published tenants

	writeMu     sync.Mutex
	headTenants map[string]bool // tenants including those of groups not yet published
	seq         uint64          // last event Seq assigned
	last        *group          // the last group committed
	failed      error           // a commit or sync failed: the store accepts no more writes
	enc         encoder
	symsSaved   int // symbols persisted so far; later ones go into the next batch

	pendingMu sync.Mutex
	pending   map[pkey]*pendingEntry // committed, not yet durable and published

	subsMu  sync.Mutex
	subs    atomic.Pointer[[]subscriber]
	nextSub uint64

	pubSeq   atomic.Uint64 // Seq of the last published event
	logStart atomic.Uint64 // first Seq the change log may still hold (log.go)
	trimMu   sync.Mutex

	closed atomic.Bool
}

type subscriber struct {
	id uint64
	fn func([]store.Event)
}

type pkey struct{ tenant, id string }

type pendingEntry struct {
	ent  *ngsild.Entity // nil when deleted
	data []byte         // its encoding
	g    *group
}

// group is the work of one Write call between commit and publication.
type group struct {
	tenant    string
	newTenant bool
	puts      []*staged // final state per id, in order of first change
	events    []store.Event
	logs      []logRecord // the change log records of events, index for index
	stats     []statDelta // what the changes do to the tenant's statistics (stats.go)
	prev      *group
	done      chan struct{} // closed once published (or abandoned)
}

type staged struct {
	id   string
	ent  *ngsild.Entity // nil when deleted
	body body           // the record's new body (its data is the encoding)
	ix   indexed
}

var _ store.Store = (*Store)(nil)

// Key spaces in pebble.
const (
	prefixEntity = 'e' // 'e' uvarint(len(tenant)) tenant id → encoding
	prefixTenant = 't' // 't' tenant → empty
	prefixSymbol = 's' // 's' uint32 big-endian → symbol string
	prefixLog    = 'c' // 'c' uint64 big-endian Seq → change log record (log.go)
	keySeq       = "m/seq"
)

// Open opens (creating if needed) the store in opts.Dir and rebuilds all
// indexes from it.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("embedded: no directory given")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	db, err := pebble.Open(opts.Dir, &pebble.Options{
		Logger:       pebbleLogger{log},
		MemTableSize: 16 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", opts.Dir, err)
	}
	s := &Store{
		db:          db,
		log:         log,
		noSync:      opts.NoSync,
		syms:        newSymbols(),
		cache:       newCache(cmp.Or(opts.CacheEntries, defaultCacheEntries)),
		strings:     &interner{},
		headTenants: map[string]bool{store.DefaultTenant: true},
		pending:     make(map[pkey]*pendingEntry),
	}
	s.tenants = map[string]*tenant{store.DefaultTenant: newTenant(store.DefaultTenant, s.strings)}
	s.enc.syms = s.syms
	start := time.Now()
	n, err := s.load()
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("embedded: load %s: %w", opts.Dir, err)
	}
	s.symsSaved = s.syms.len()
	log.Info("embedded store opened", "dir", opts.Dir, "entities", n, "tenants", len(s.tenants),
		"symbols", s.syms.len(), "took", time.Since(start).Round(time.Millisecond))
	if opts.Registerer != nil {
		m, err := newMetrics(opts.Registerer, s)
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("embedded: metrics: %w", err)
		}
		s.metrics = m
	}
	return s, nil
}

// load rebuilds the in-memory state from pebble and returns the number of
// entities.
func (s *Store) load() (int, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return 0, err
	}
	defer it.Close()
	for ok := it.SeekGE([]byte{prefixSymbol}); ok && it.Key()[0] == prefixSymbol; ok = it.Next() {
		k := it.Key()
		if len(k) != 5 {
			return 0, fmt.Errorf("bad symbol key %q", k)
		}
		s.syms.load(binary.BigEndian.Uint32(k[1:]), string(it.Value()))
	}
	if v, closer, err := s.db.Get([]byte(keySeq)); err == nil {
		if len(v) == 8 {
			s.seq = binary.BigEndian.Uint64(v)
		}
		_ = closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return 0, err
	}
	if err := s.loadLog(it); err != nil {
		return 0, err
	}
	for ok := it.SeekGE([]byte{prefixTenant}); ok && it.Key()[0] == prefixTenant; ok = it.Next() {
		s.tenantForLoad(string(it.Key()[1:]))
	}
	n := 0
	var cur *tenant
	for ok := it.SeekGE([]byte{prefixEntity}); ok && it.Key()[0] == prefixEntity; ok = it.Next() {
		ten, id, err := parseEntityKey(it.Key())
		if err != nil {
			return n, err
		}
		if cur == nil || cur.name != ten {
			cur = s.tenantForLoad(ten)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return n, err
		}
		ix, err := scanIndex(s.syms, v)
		if err != nil {
			return n, fmt.Errorf("entity %q of tenant %q: %w", id, ten, err)
		}
		cur.load(newBody(id, v, &ix), &ix)
		n++
	}
	return n, it.Error()
}

func (s *Store) tenantForLoad(name string) *tenant {
	t := s.tenants[name]
	if t == nil {
		t = newTenant(name, s.strings)
		s.tenants[name] = t
		s.headTenants[name] = true
	}
	return t
}

func entityKey(tenant, id string) []byte {
	k := make([]byte, 0, 1+binary.MaxVarintLen64+len(tenant)+len(id))
	k = append(k, prefixEntity)
	k = binary.AppendUvarint(k, uint64(len(tenant)))
	k = append(k, tenant...)
	return append(k, id...)
}

func parseEntityKey(k []byte) (tenant, id string, err error) {
	n, w := binary.Uvarint(k[1:])
	if w <= 0 || uint64(len(k)-1-w) < n {
		return "", "", fmt.Errorf("bad entity key %q", k)
	}
	k = k[1+w:]
	return string(k[:n]), string(k[n:]), nil
}

func symbolKey(id uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixSymbol}, id)
}

// Write implements store.Store.
func (s *Store) Write(ctx context.Context, tenantName string, changes []store.Change) ([]error, error) {
	start := time.Now()
	errs, n, err := s.write(ctx, tenantName, changes)
	s.metrics.observe(opWrite, start, err)
	s.metrics.observeGroup(n)
	return errs, err
}

func (s *Store) write(ctx context.Context, tenantName string, changes []store.Change) ([]error, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.writeMu.Lock()
	if s.closed.Load() {
		s.writeMu.Unlock()
		return nil, 0, store.ErrClosed
	}
	if s.failed != nil {
		s.writeMu.Unlock()
		return nil, 0, fmt.Errorf("embedded: store failed earlier: %w", s.failed)
	}
	g, errs, err := s.stage(tenantName, changes)
	if err != nil || g == nil {
		s.writeMu.Unlock()
		return errs, 0, err
	}
	b, err := s.commit(g)
	if err != nil {
		s.failed = err
		s.writeMu.Unlock()
		return nil, 0, fmt.Errorf("embedded: commit: %w", err)
	}
	s.pendingMu.Lock()
	for _, p := range g.puts {
		s.pending[pkey{g.tenant, p.id}] = &pendingEntry{ent: p.ent, data: p.body.data(), g: g}
	}
	s.pendingMu.Unlock()
	g.prev = s.last
	s.last = g
	s.writeMu.Unlock()

	if !s.noSync && !s.serialSync {
		err = b.SyncWait()
	}
	_ = b.Close()
	if g.prev != nil {
		<-g.prev.done
		g.prev = nil
	}
	if err != nil {
		s.writeMu.Lock()
		s.failed = err
		s.writeMu.Unlock()
		close(g.done)
		return nil, 0, fmt.Errorf("embedded: sync: %w", err)
	}
	s.publish(g)
	return errs, len(g.events), nil
}

// stage applies the changes against the head state and returns the group to
// commit, or nil when nothing changed. The caller holds writeMu.
func (s *Store) stage(tenantName string, changes []store.Change) (*group, []error, error) {
	errs := make([]error, len(changes))
	g := &group{tenant: tenantName, done: make(chan struct{})}
	byID := make(map[string]*staged)
	now := time.Now()
	for i, ch := range changes {
		st := byID[ch.ID]
		var before *ngsild.Entity
		var beforeData []byte
		if st != nil {
			before, beforeData = st.ent, st.body.data()
		} else {
			var err error
			if before, beforeData, err = s.head(tenantName, ch.ID); err != nil {
				return nil, nil, err
			}
		}
		after, touched, err := apply(ch, before)
		if err != nil {
			errs[i] = err
			continue
		}
		if after == before || (after == nil && before == nil) {
			continue
		}
		var b body
		var ix indexed
		if after != nil {
			if after.ID != ch.ID {
				errs[i] = fmt.Errorf("embedded: change %d: Apply returned entity %q for id %q", i, after.ID, ch.ID)
				continue
			}
			data, err := s.enc.encodeBuf(after)
			if err != nil {
				errs[i] = err
				continue
			}
			ix = indexKeys(s.syms, after)
			if ix.vals, err = valuesOf(data, nil, false); err != nil {
				errs[i] = err
				continue
			}
			b = newBody(ch.ID, data, &ix)
		}
		switch {
		case st != nil && st.ent != nil:
			g.stats = append(g.stats, statDelta{contribOfIndex(st.ix), -1})
		case before != nil:
			g.stats = append(g.stats, statDelta{contribOf(s.syms, before), -1})
		}
		if after != nil {
			g.stats = append(g.stats, statDelta{contribOfIndex(ix), 1})
		}
		if st == nil {
			st = &staged{id: ch.ID}
			byID[ch.ID] = st
			g.puts = append(g.puts, st)
		}
		st.ent, st.body, st.ix = after, b, ix
		g.events = append(g.events, store.Event{
			Tenant: tenantName, Op: ch.Op, Before: before, After: after, Attrs: touched, Time: now,
		})
		g.logs = append(g.logs, logRecord{before: beforeData, after: b.data()})
	}
	if len(g.events) == 0 {
		return nil, errs, nil
	}
	return g, errs, nil
}

// apply calls the change's Apply, turning a panic into an error for that
// change so that a buggy caller cannot wedge the write path.
func apply(ch store.Change, before *ngsild.Entity) (after *ngsild.Entity, touched []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("embedded: change to %q panicked: %v", ch.ID, r)
		}
	}()
	if ch.Apply == nil {
		return nil, nil, fmt.Errorf("embedded: change to %q has no Apply", ch.ID)
	}
	return ch.Apply(before)
}

// head returns the latest committed state of an entity, durable or not, and
// its encoding. The caller holds writeMu.
func (s *Store) head(tenantName, id string) (*ngsild.Entity, []byte, error) {
	s.pendingMu.Lock()
	p := s.pending[pkey{tenantName, id}]
	s.pendingMu.Unlock()
	if p != nil {
		return p.ent, p.data, nil
	}
	return s.published(tenantName, id)
}

// published returns the durable state of an entity and its encoding, nil if
// it does not exist.
func (s *Store) published(tenantName, id string) (*ngsild.Entity, []byte, error) {
	t := s.tenant(tenantName)
	if t == nil {
		return nil, nil, nil
	}
	t.mu.RLock()
	r := t.byID.Get(id)
	var data []byte
	if r != nil {
		data = r.data()
	}
	t.mu.RUnlock()
	if r == nil {
		return nil, nil, nil
	}
	ent, err := decodeEntity(s.syms, id, data)
	return ent, data, err
}

// commit writes the group's batch into the commit pipeline (not waiting for
// the fsync) and assigns the events' Seq. The caller holds writeMu.
func (s *Store) commit(g *group) (*pebble.Batch, error) {
	b := s.db.NewBatch()
	nsyms := s.syms.len()
	for id := s.symsSaved; id < nsyms; id++ {
		name, _ := s.syms.name(uint32(id))
		_ = b.Set(symbolKey(uint32(id)), []byte(name), nil)
	}
	if !s.headTenants[g.tenant] {
		g.newTenant = true
		_ = b.Set(append([]byte{prefixTenant}, g.tenant...), nil, nil)
	}
	for _, p := range g.puts {
		if p.ent == nil {
			_ = b.Delete(entityKey(g.tenant, p.id), nil)
			continue
		}
		_ = b.Set(entityKey(g.tenant, p.id), p.body.data(), nil)
	}
	seq := s.seq
	for i := range g.events {
		seq++
		ev := &g.events[i]
		ev.Seq = seq
		id := ""
		if ev.After != nil {
			id = ev.After.ID
		} else if ev.Before != nil {
			id = ev.Before.ID
		}
		_ = b.Set(logKey(seq), encodeLogRecord(ev, id, g.logs[i]), nil)
	}
	g.logs = nil
	_ = b.Set([]byte(keySeq), binary.BigEndian.AppendUint64(nil, seq), nil)
	var err error
	switch {
	case s.noSync:
		err = s.db.Apply(b, pebble.NoSync)
	case s.serialSync:
		err = s.db.Apply(b, pebble.Sync)
	default:
		err = s.db.ApplyNoSyncWait(b, pebble.Sync)
	}
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	s.seq = seq
	s.symsSaved = nsyms
	s.headTenants[g.tenant] = true
	return b, nil
}

// publish makes a durable group visible and hands its events to the
// subscribers. Groups are published one at a time, in commit order.
func (s *Store) publish(g *group) {
	t := s.tenant(g.tenant)
	if t == nil {
		s.tenantsMu.Lock()
		if t = s.tenants[g.tenant]; t == nil {
			t = newTenant(g.tenant, s.strings)
			s.tenants[g.tenant] = t
		}
		s.tenantsMu.Unlock()
	}
	t.mu.Lock()
	for _, p := range g.puts {
		if p.ent == nil {
			t.remove(p.id)
			continue
		}
		t.put(p.id, p.body)
	}
	t.applyStats(g.stats)
	t.mu.Unlock()
	s.pendingMu.Lock()
	for _, p := range g.puts {
		k := pkey{g.tenant, p.id}
		if e := s.pending[k]; e != nil && e.g == g {
			delete(s.pending, k)
		}
	}
	s.pendingMu.Unlock()
	s.pubSeq.Store(g.events[len(g.events)-1].Seq)
	if subs := s.subs.Load(); subs != nil {
		for _, sub := range *subs {
			sub.fn(g.events)
		}
	}
	close(g.done)
}

// tenant returns the published tenant, or nil.
func (s *Store) tenant(name string) *tenant {
	s.tenantsMu.RLock()
	t := s.tenants[name]
	s.tenantsMu.RUnlock()
	return t
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, tenantName, id string) (*ngsild.Entity, error) {
	start := time.Now()
	ent, err := s.get(ctx, tenantName, id)
	s.metrics.observe(opGet, start, err)
	return ent, err
}

func (s *Store) get(ctx context.Context, tenantName, id string) (*ngsild.Entity, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := s.tenant(tenantName)
	if t == nil {
		return nil, store.ErrNoTenant
	}
	t.mu.RLock()
	r := t.byID.Get(id)
	var data []byte
	if r != nil {
		data = r.data()
	}
	t.mu.RUnlock()
	if r == nil {
		return nil, store.ErrNotFound
	}
	return s.cache.decode(s.syms, id, data)
}

// Tenants implements store.Store.
func (s *Store) Tenants(ctx context.Context) ([]string, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	s.tenantsMu.RLock()
	names := make([]string, 0, len(s.tenants))
	for name := range s.tenants {
		names = append(names, name)
	}
	s.tenantsMu.RUnlock()
	sort.Strings(names)
	return names, nil
}

// HasTenant implements store.Store.
func (s *Store) HasTenant(ctx context.Context, name string) bool {
	return name == store.DefaultTenant || s.tenant(name) != nil
}

// Count implements store.Store.
func (s *Store) Count(ctx context.Context) map[string]int {
	s.tenantsMu.RLock()
	ts := make([]*tenant, 0, len(s.tenants))
	for _, t := range s.tenants {
		ts = append(ts, t)
	}
	s.tenantsMu.RUnlock()
	counts := make(map[string]int, len(ts))
	for _, t := range ts {
		t.mu.RLock()
		counts[t.name] = t.byID.Len()
		t.mu.RUnlock()
	}
	return counts
}

// Subscribe implements store.Store.
func (s *Store) Subscribe(fn func([]store.Event)) (cancel func()) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	s.nextSub++
	id := s.nextSub
	var cur []subscriber
	if p := s.subs.Load(); p != nil {
		cur = *p
	}
	next := append(append([]subscriber(nil), cur...), subscriber{id: id, fn: fn})
	s.subs.Store(&next)
	return func() {
		s.subsMu.Lock()
		defer s.subsMu.Unlock()
		var cur []subscriber
		if p := s.subs.Load(); p != nil {
			cur = *p
		}
		next := make([]subscriber, 0, len(cur))
		for _, sub := range cur {
			if sub.id != id {
				next = append(next, sub)
			}
		}
		s.subs.Store(&next)
	}
}

// Close implements store.Store: it waits for the writes in flight, then
// flushes and closes pebble.
func (s *Store) Close() error {
	s.writeMu.Lock()
	if s.closed.Swap(true) {
		s.writeMu.Unlock()
		return store.ErrClosed
	}
	last := s.last
	s.writeMu.Unlock()
	if last != nil {
		<-last.done
	}
	s.metrics.unregister()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("embedded: close: %w", err)
	}
	return nil
}

// pebbleLogger routes pebble's logs to slog.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug("pebble: " + fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error("pebble: " + fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	l.log.Error("pebble: fatal: " + fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}
