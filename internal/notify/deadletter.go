package notify

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tidwall/btree"
)

// deadMeta describes a dead letter without its body (kept in memory; the
// body is read from the database when asked for).
type deadMeta struct {
	Seq          uint64
	ID           string
	Subscription string
	Tenant       string
	URI          string
	Endpoint     string // label
	Attempts     int
	Status       int
	Err          string
	At           time.Time
	Created      time.Time
}

// deadLetters is the in-memory index of the dead letters, oldest first.
type deadLetters struct {
	mu    sync.Mutex
	bound int
	m     btree.Map[uint64, *deadMeta]
}

func (dl *deadLetters) len() int {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	return dl.m.Len()
}

func deadKey(seq uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixDead
	binary.BigEndian.PutUint64(k[1:], seq)
	return k
}

func metaOf(seq uint64, r *deadRecord) *deadMeta {
	m := r.Msg
	return &deadMeta{Seq: seq, ID: m.ID, Subscription: m.Subscription, Tenant: m.Tenant, URI: m.Endpoint.URI,
		Endpoint: endpointLabel(m.Endpoint.URI), Attempts: r.Attempts, Status: r.Status, Err: r.Err, At: r.At, Created: m.Created}
}

// loadDeadLetters reads the dead letters' index; it returns the largest
// sequence number seen.
func loadDeadLetters(db *pebble.DB, bound int) (*deadLetters, uint64, error) {
	dl := &deadLetters{bound: bound}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixDead}, UpperBound: []byte{prefixDead + 1}})
	if err != nil {
		return nil, 0, err
	}
	defer it.Close()
	var maxSeq uint64
	var bad [][]byte
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != 9 {
			bad = append(bad, append([]byte(nil), k...))
			continue
		}
		seq := binary.BigEndian.Uint64(k[1:])
		maxSeq = max(maxSeq, seq)
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, 0, err
		}
		r, err := decodeDead(v)
		if err != nil {
			bad = append(bad, append([]byte(nil), k...))
			continue
		}
		dl.m.Set(seq, metaOf(seq, r))
	}
	if err := it.Error(); err != nil {
		return nil, 0, err
	}
	if len(bad) > 0 {
		b := db.NewBatch()
		for _, k := range bad {
			b.Delete(k, nil)
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return nil, 0, err
		}
	}
	return dl, maxSeq, nil
}

// deadLetter moves it from the outbox to the dead letters, dropping the
// oldest dead letters beyond the bound.
func (d *Dispatcher) deadLetter(q *queue, it *item, status int, err error, now time.Time) {
	r := &deadRecord{Attempts: it.attempts, Status: status, Err: err.Error(), At: now, Msg: it.msg}
	b := d.db.NewBatch()
	defer b.Close()
	b.Delete(outboxKey(q.hash, it.seq), nil)
	b.Set(deadKey(it.seq), appendDead(nil, r), nil)
	dl := d.dead
	dl.mu.Lock()
	dl.m.Set(it.seq, metaOf(it.seq, r))
	var dropped []*deadMeta
	for dl.m.Len() > dl.bound {
		k, m, _ := dl.m.PopMin()
		b.Delete(deadKey(k), nil)
		dropped = append(dropped, m)
	}
	// No fsync for a message in the outbox: if the move is lost in a crash,
	// it is still there and is tried again. One held only in memory has no
	// such copy.
	q.mu.Lock()
	held := it.w != nil || it.writing
	q.mu.Unlock()
	wo := pebble.NoSync
	if held {
		wo = d.wopts
	}
	cerr := b.Commit(wo)
	if cerr != nil {
		dl.m.Delete(it.seq)
		for _, m := range dropped {
			dl.m.Set(m.Seq, m)
		}
	}
	dl.mu.Unlock()
	if cerr != nil && held {
		// Enqueue, still waiting for it, writes it to the outbox.
		d.log.Error("notification dead letter: write failed", "err", cerr)
		return
	}
	if cerr != nil {
		d.log.Error("notification dead letter: write failed; the message stays in the outbox", "err", cerr)
		q.mu.Lock()
		delete(q.present, it.seq) // loaded again from the outbox
		if !q.spilled || it.seq < q.loadFrom {
			q.loadFrom = it.seq
		}
		q.spilled = true
		q.mu.Unlock()
		return
	}
	d.log.Warn("notification dead-lettered", "id", it.msg.ID, "subscription", it.msg.Subscription,
		"endpoint", q.label, "attempts", it.attempts, "err", err)
	if d.metrics != nil {
		d.metrics.deadLettered(it.msg, q.label, len(dropped))
	}
	q.mu.Lock()
	del := q.settle(it)
	q.mu.Unlock()
	switch {
	case del && held:
		// persist wrote it to the outbox meanwhile, perhaps after the
		// deletion above.
		d.del <- delReq{q: q, seq: it.seq, sub: it.msg.Subscription}
	case del:
		d.forget([]delReq{{q: q, seq: it.seq, sub: it.msg.Subscription}})
	}
}

// DeadLetter is a dead letter as the admin API shows it.
type DeadLetter struct {
	ID             string     `json:"id"` // the dead letter's id (not the notification's)
	NotificationID string     `json:"notificationId"`
	Subscription   string     `json:"subscriptionId"`
	Tenant         string     `json:"tenant,omitempty"`
	EndpointURI    string     `json:"endpoint"`
	Attempts       int        `json:"attempts"`
	LastStatus     int        `json:"lastStatus,omitempty"`
	LastError      string     `json:"lastError"`
	DeadAt         time.Time  `json:"deadAt"`
	Created        *time.Time `json:"created,omitempty"`
	// Set when one dead letter is asked for.
	ContentType  string     `json:"contentType,omitempty"`
	Link         string     `json:"link,omitempty"`
	ReceiverInfo []KeyValue `json:"receiverInfo,omitempty"`
	Body         any        `json:"body,omitempty"`
}

func (m *deadMeta) view() DeadLetter {
	v := DeadLetter{ID: strconv.FormatUint(m.Seq, 10), NotificationID: m.ID, Subscription: m.Subscription, Tenant: m.Tenant,
		EndpointURI: m.URI, Attempts: m.Attempts, LastStatus: m.Status, LastError: m.Err, DeadAt: m.At.UTC()}
	if !m.Created.IsZero() {
		c := m.Created.UTC()
		v.Created = &c
	}
	return v
}

// matching returns the dead letters f selects (newest first) and how many
// match in all; limit < 0 means all.
func (dl *deadLetters) matching(f *Filter, offset, limit int) ([]*deadMeta, int) {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	var out []*deadMeta
	total := 0
	dl.m.Reverse(func(_ uint64, m *deadMeta) bool {
		if !f.match(m) {
			return true
		}
		total++
		if total > offset && (limit < 0 || len(out) < limit) {
			out = append(out, m)
		}
		return true
	})
	return out, total
}

func (dl *deadLetters) get(seq uint64) *deadMeta {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	m, _ := dl.m.Get(seq)
	return m
}

// readDead reads a dead letter's full record.
func (d *Dispatcher) readDead(seq uint64) (*deadRecord, error) {
	d.closeMu.RLock()
	defer d.closeMu.RUnlock()
	if d.closed {
		return nil, ErrClosed
	}
	return d.readDeadLocked(seq)
}

// readDeadLocked is readDead with d.closeMu held.
func (d *Dispatcher) readDeadLocked(seq uint64) (*deadRecord, error) {
	v, closer, err := d.db.Get(deadKey(seq))
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return decodeDead(v)
}

// replay sends dead letters again: they move back to the outbox (as new
// messages of their endpoints, with their retries reset) in one synced
// batch. It returns how many were replayed.
func (d *Dispatcher) replay(metas []*deadMeta) (int, error) {
	d.closeMu.RLock()
	defer d.closeMu.RUnlock()
	if d.closed {
		return 0, ErrClosed
	}
	dl := d.dead
	dl.mu.Lock()
	defer dl.mu.Unlock()
	b := d.db.NewBatch()
	defer b.Close()
	groups := map[*queue][]*item{}
	var done []uint64
	now := time.Now()
	var buf []byte
	for _, m := range metas {
		if _, ok := dl.m.Get(m.Seq); !ok {
			continue // replayed or deleted meanwhile
		}
		r, err := d.readDeadLocked(m.Seq)
		if err != nil {
			return 0, fmt.Errorf("reading dead letter %d: %w", m.Seq, err)
		}
		seq := d.seq.Add(1)
		q := d.queueFor(&r.Msg.Endpoint)
		it := &item{seq: seq, msg: r.Msg, enqueued: now, size: len(r.Msg.Body)}
		groups[q] = append(groups[q], it)
		buf = appendMessage(buf[:0], r.Msg)
		b.Set(outboxKey(q.hash, seq), buf, nil)
		b.Delete(deadKey(m.Seq), nil)
		done = append(done, m.Seq)
	}
	if len(done) == 0 {
		return 0, nil
	}
	groups = d.reserveAll(groups)
	if err := b.Commit(d.wopts); err != nil {
		for q, its := range groups {
			q.unreserve(its)
		}
		return 0, err
	}
	for _, s := range done {
		dl.m.Delete(s)
	}
	d.stored.Add(int64(len(done)))
	for _, its := range groups {
		for _, it := range its {
			d.subDepth(it.msg.Subscription).Add(1)
		}
	}
	for q, its := range groups {
		q.mu.Lock()
		// A replay is a fresh start for a failing endpoint.
		q.failures = 0
		q.backoffUntil = time.Time{}
		q.mu.Unlock()
		q.admit(its)
	}
	return len(done), nil
}

// drop deletes dead letters; it returns how many were deleted.
func (d *Dispatcher) drop(metas []*deadMeta) (int, error) {
	d.closeMu.RLock()
	defer d.closeMu.RUnlock()
	if d.closed {
		return 0, ErrClosed
	}
	dl := d.dead
	dl.mu.Lock()
	defer dl.mu.Unlock()
	b := d.db.NewBatch()
	defer b.Close()
	var done []uint64
	for _, m := range metas {
		if _, ok := dl.m.Get(m.Seq); ok {
			b.Delete(deadKey(m.Seq), nil)
			done = append(done, m.Seq)
		}
	}
	if len(done) == 0 {
		return 0, nil
	}
	if err := b.Commit(d.wopts); err != nil {
		return 0, err
	}
	for _, s := range done {
		dl.m.Delete(s)
	}
	return len(done), nil
}
