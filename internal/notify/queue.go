package notify

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// item is one message in an endpoint's queue.
type item struct {
	seq      uint64 // outbox sequence number
	msg      *Message
	enqueued time.Time
	size     int
	attempts int
	loaded   bool // read back from the outbox (after a spill or a restart)

	// Held in memory only (see Options.Hold), with q.mu: w is the
	// Enqueue waiting for the message, nil once it is delivered or
	// durable; writing is set while persist writes it to the outbox, and
	// done when its attempts ended meanwhile.
	w       *waiter
	writing bool
	done    bool
}

// queue is one endpoint's delivery state. A message is held only in
// memory (item.w set) while the Enqueue that brought it waits for its
// delivery; after that, every undelivered message of the endpoint is in
// the outbox until delivered or dead-lettered. Up to QueueBound of them
// (and QueueBytes of body) are also in pending. When more arrive, the queue
// is spilled: the extra ones are only in the outbox, all at or after
// loadFrom, and the workers load them as pending drains.
type queue struct {
	d     *Dispatcher
	hash  uint64
	uri   string        // the URI of the first message seen (for the admin API)
	label string        // scheme://host:port (metrics)
	host  chan struct{} // the receiver's tokens, shared by its endpoints

	mu       sync.Mutex
	pending  []*item
	bytes    int
	present  map[uint64]struct{} // seqs reserved, pending, in flight or being deleted
	spilled  bool
	loadFrom uint64
	stored   int // messages of this endpoint in the outbox
	inflight int
	workers  int
	stopped  bool
	gone     bool      // retired by the idle sweep: Enqueue must take a fresh queue
	behind   bool      // held messages outlived Options.Hold: new ones are written first until pending empties
	active   time.Time // last admit or attempt

	failures     int // consecutive failed attempts
	backoffUntil time.Time
	timer        *time.Timer
	lastErr      string
	lastErrAt    time.Time
	lastOKAt     time.Time
}

// newQueue makes a queue; d.qmu is held.
func (d *Dispatcher) newQueue(hash uint64, uri string) *queue {
	label := endpointLabel(uri)
	host := d.hosts[label]
	if host == nil {
		host = make(chan struct{}, d.opts.MaxPerHost)
		d.hosts[label] = host
	}
	return &queue{d: d, hash: hash, uri: uri, label: label, host: host, present: map[uint64]struct{}{}, active: time.Now()}
}

func (q *queue) full() bool {
	return len(q.pending) >= q.d.opts.QueueBound || q.bytes >= q.d.opts.QueueBytes
}

// push appends it to pending.
func (q *queue) push(it *item) {
	q.present[it.seq] = struct{}{}
	q.pending = append(q.pending, it)
	q.bytes += it.size
}

// hold takes its into pending, in memory only, for w; false when q should
// not hold them (it is spilled, failing, behind or full: they are written
// to the outbox first) or was retired.
func (q *queue) hold(its []*item, w *waiter) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	size := 0
	for _, it := range its {
		size += it.size
	}
	if q.gone || q.spilled || q.behind || q.failures > 0 ||
		len(q.pending)+len(its) > q.d.opts.QueueBound || q.bytes+size > q.d.opts.QueueBytes {
		return false
	}
	for _, it := range its {
		it.w = w
		q.pending = append(q.pending, it)
	}
	q.bytes += size
	q.active = time.Now()
	q.kick()
	return true
}

// settle ends the attempts of it (delivered, dropped or dead-lettered),
// and reports whether its outbox record is to be deleted. q.mu is held.
func (q *queue) settle(it *item) bool {
	switch {
	case it.writing:
		it.done = true // persist deletes the record it writes
		return false
	case it.w != nil:
		it.w.release()
		it.w = nil
		return false
	}
	return true
}

// reserve marks its as coming (see Enqueue); false when q was retired.
func (q *queue) reserve(its []*item) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.gone {
		return false
	}
	for _, it := range its {
		q.present[it.seq] = struct{}{}
	}
	q.active = time.Now()
	return true
}

// idle reports whether q holds nothing and did nothing for d; q.mu is held.
func (q *queue) idle(d time.Duration, now time.Time) bool {
	return q.stored == 0 && len(q.present) == 0 && len(q.pending) == 0 && !q.spilled &&
		q.workers == 0 && q.inflight == 0 && now.Sub(q.active) > d
}

func (q *queue) unreserve(its []*item) {
	q.mu.Lock()
	for _, it := range its {
		delete(q.present, it.seq)
	}
	q.mu.Unlock()
}

// admit takes messages just written to the outbox (and reserved).
func (q *queue) admit(its []*item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range its {
		q.stored++
		if q.spilled || q.full() {
			// Only in the outbox until the queue drains.
			delete(q.present, it.seq)
			if !q.spilled || it.seq < q.loadFrom {
				q.loadFrom = it.seq
			}
			q.spilled = true
			continue
		}
		q.pending = append(q.pending, it)
		q.bytes += it.size
	}
	q.kick()
}

// limit is how many attempts may be in flight: one while the endpoint is
// failing, so that a dead endpoint is probed, not flooded.
func (q *queue) limit() int {
	if q.failures > 0 {
		return 1
	}
	return q.d.opts.MaxInFlight
}

// kick starts workers for the work there is. q.mu is held.
func (q *queue) kick() {
	if q.stopped {
		return
	}
	if wait := time.Until(q.backoffUntil); wait > 0 {
		q.armTimer(wait)
		return
	}
	work := len(q.pending)
	if q.spilled {
		work++
	}
	for q.workers < q.limit() && q.workers < work {
		q.workers++
		q.d.workers.Add(1)
		go q.run()
	}
}

func (q *queue) armTimer(wait time.Duration) {
	if q.timer == nil {
		q.timer = time.AfterFunc(wait, q.wake)
		return
	}
	q.timer.Reset(wait)
}

func (q *queue) wake() {
	q.mu.Lock()
	q.kick()
	q.mu.Unlock()
}

func (q *queue) stop() {
	q.mu.Lock()
	q.stopped = true
	if q.timer != nil {
		q.timer.Stop()
	}
	q.mu.Unlock()
}

// next takes the next message to attempt, or nil when the worker should
// exit. q.mu is held.
func (q *queue) next() *item {
	if q.stopped || q.inflight >= q.limit() || time.Now().Before(q.backoffUntil) {
		return nil
	}
	if q.spilled && len(q.pending) <= q.d.opts.QueueBound/2 {
		q.load()
		defer q.kick() // more work for more workers
	}
	if len(q.pending) == 0 {
		return nil
	}
	it := q.pending[0]
	q.pending[0] = nil
	q.pending = q.pending[1:]
	q.bytes -= it.size
	if len(q.pending) == 0 && !q.spilled {
		q.behind = false // caught up
	}
	return it
}

// run is a worker: it attempts messages until there are none it may send.
func (q *queue) run() {
	defer q.d.workers.Done()
	for {
		q.mu.Lock()
		it := q.next()
		if it == nil {
			// A backoff has its timer armed (finish) to start workers again.
			q.workers--
			q.mu.Unlock()
			return
		}
		q.inflight++
		q.active = time.Now()
		q.mu.Unlock()
		if live := q.d.opts.Live; live != nil && (it.attempts > 0 || it.loaded || time.Since(it.enqueued) > liveAfter) && !live(it.msg) {
			q.drop(it)
			continue
		}
		var status int
		var err error
		select {
		case q.host <- struct{}{}:
			status, err = q.d.attempt(it)
			<-q.host
		case <-q.d.ctx.Done():
			err = q.d.ctx.Err()
		}
		q.finish(it, status, err)
	}
}

// liveAfter is how long a message waits before Options.Live is asked.
const liveAfter = 250 * time.Millisecond

// drop forgets a message no longer wanted (Options.Live), unsent.
func (q *queue) drop(it *item) {
	q.mu.Lock()
	q.inflight--
	del := q.settle(it)
	q.mu.Unlock()
	if q.d.metrics != nil {
		q.d.metrics.dropped.Inc()
	}
	if del {
		q.d.del <- delReq{q: q, seq: it.seq, sub: it.msg.Subscription}
	}
}

// finish records the outcome of an attempt.
func (q *queue) finish(it *item, status int, err error) {
	d := q.d
	now := time.Now()
	if err == nil {
		// Reported before it is settled: an Enqueue waiting for the
		// delivery returns once the attempt is on record.
		d.report(it, q.label, true, status, nil, true, now)
		q.mu.Lock()
		q.inflight--
		recovered := q.failures > 0
		q.failures = 0
		q.backoffUntil = time.Time{}
		q.lastOKAt = now
		if recovered {
			q.kick() // back to MaxInFlight workers
		}
		del := q.settle(it)
		q.mu.Unlock()
		if del {
			d.del <- delReq{q: q, seq: it.seq, sub: it.msg.Subscription}
		}
		return
	}
	if d.stopping.Load() && errors.Is(err, context.Canceled) {
		// Cut short by Close: the message stays in the outbox.
		q.mu.Lock()
		q.inflight--
		q.mu.Unlock()
		return
	}
	it.attempts++
	final := IsPermanent(err) || it.attempts > d.opts.MaxRetries
	d.report(it, q.label, false, status, err, final, now)
	q.mu.Lock()
	q.inflight--
	q.lastErr = err.Error()
	q.lastErrAt = now
	if IsPermanent(err) {
		// Wrong for this message, not a sign that the endpoint is down.
		q.mu.Unlock()
		d.deadLetter(q, it, status, err, now)
		q.mu.Lock()
		q.kick()
		q.mu.Unlock()
		return
	}
	q.failures++
	delay := q.backoff(&it.msg.Endpoint)
	if ra := min(retryAfterOf(err), q.d.opts.BackoffMax); ra > delay {
		delay = ra
	}
	q.backoffUntil = now.Add(delay)
	if !final {
		// Back to the front: the endpoint's order is kept as far as the
		// in-flight window allows.
		q.pending = append(q.pending, nil)
		copy(q.pending[1:], q.pending)
		q.pending[0] = it
		q.bytes += it.size
	}
	q.armTimer(delay)
	q.mu.Unlock()
	if final {
		d.deadLetter(q, it, status, err, now)
	}
}

// backoff is the delay before the next attempt: the endpoint's cooldown if
// it has one, else BackoffBase doubled per consecutive failure up to
// BackoffMax, with jitter (half fixed, half random). q.mu is held.
func (q *queue) backoff(e *Endpoint) time.Duration {
	if e.Cooldown > 0 {
		return e.Cooldown
	}
	o := &q.d.opts
	d := o.BackoffBase
	for i := 1; i < q.failures && d < o.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, o.BackoffMax)
	return d/2 + rand.N(d/2+1)
}

// attempt makes one delivery attempt of it.
func (d *Dispatcher) attempt(it *item) (int, error) {
	m := it.msg
	t := d.transports[schemeOf(m.Endpoint.URI)]
	if t == nil {
		return 0, Permanent(errors.New("no transport for the endpoint's URI scheme"))
	}
	timeout := m.Endpoint.Timeout
	if timeout <= 0 {
		timeout = d.opts.Timeout
	}
	ctx, cancel := context.WithTimeout(d.ctx, timeout)
	defer cancel()
	status, err := t.Send(ctx, m)
	if err != nil && ctx.Err() == context.DeadlineExceeded && d.ctx.Err() == nil {
		err = errTimeout{timeout}
	}
	return status, err
}

type errTimeout struct{ d time.Duration }

func (e errTimeout) Error() string { return "no answer within the timeout of " + e.d.String() }

// report tells OnAttempt and the metrics about an attempt.
func (d *Dispatcher) report(it *item, label string, ok bool, status int, err error, final bool, at time.Time) {
	created := it.msg.Created
	if created.IsZero() {
		created = it.enqueued
	}
	a := Attempt{Msg: it.msg, OK: ok, Err: err, Status: status, At: at, Latency: at.Sub(created), Final: final}
	if d.metrics != nil {
		d.metrics.attempt(&a, label)
	}
	if d.opts.OnAttempt != nil {
		d.opts.OnAttempt(a)
	}
}
