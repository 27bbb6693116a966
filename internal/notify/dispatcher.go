package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = errors.New("notify: dispatcher closed")

// Options configure a Dispatcher. Zero values take the defaults given.
type Options struct {
	Dir string // the pebble database of the outbox and dead letters (<data>/notify)
	// NoSync skips the fsync of outbox writes: acknowledged messages may be
	// lost on a crash (the server's --no-sync, for benchmarks and tests).
	NoSync bool
	// OnAttempt is called after every attempt, from the delivering
	// goroutine: it must be quick and must not call back into the
	// Dispatcher's Enqueue.
	OnAttempt func(Attempt)
	// Live, when set, is asked before an attempt of a message that waited
	// (a retry, one queued for more than liveAfter, one read back from the
	// outbox) whether it is still wanted: a message of a subscription
	// deleted meanwhile (clause 5.8.5: no notifications after the
	// deletion) is dropped unsent. Messages sent at once are not asked
	// about, to keep the subscription registry off the hot path. It is
	// called without the Dispatcher's locks held; it must be quick.
	Live       func(*Message) bool
	Registerer prometheus.Registerer // nil: no metrics
	Logger     *slog.Logger

	QueueBound int // messages of one endpoint held in memory (1000); the rest wait in the outbox
	QueueBytes int // body bytes of one endpoint held in memory (8 MiB)
	// MaxInFlight is the number of concurrent attempts per endpoint (16);
	// an endpoint that failed gets one at a time until it succeeds again.
	MaxInFlight int
	// MaxPerHost bounds the concurrent attempts to one receiver
	// (scheme://host:port) over all its endpoints (64), and so the
	// connections kept alive to it.
	MaxPerHost  int
	Timeout     time.Duration // per attempt, when the Endpoint gives none (10 s)
	MaxRetries  int           // retries after the first attempt before a message is dead-lettered (5); <0: none
	BackoffBase time.Duration // first retry delay (500 ms), doubled per consecutive failure, with jitter
	BackoffMax  time.Duration // longest retry delay (1 min)
	// DeadLetterBound is how many dead letters are kept (10,000); beyond
	// it the oldest are dropped (counted in qala_notify_dead_letters_dropped_total).
	DeadLetterBound int
	// TLS configures https (and the MQTT transport's mqtts when it uses
	// it): RootCAs, InsecureSkipVerify, client certificates. nil: the
	// system roots.
	TLS *tls.Config
	// Transports adds (or replaces) transports by URI scheme. http and
	// https use the built-in HTTP transport unless replaced. The MQTT
	// binding is wired as
	//
	//	n := &mqtt.Notifier{TLS: tlsConf}
	//	Transports: map[string]notify.Transport{"mqtt": n, "mqtts": n}
	//
	// (package mqtt imports this one, so the server does the wiring). The
	// Dispatcher closes them on Close. A URI whose scheme has no transport
	// is dead-lettered at once.
	Transports map[string]Transport
	// Hold is how long Enqueue keeps messages for a healthy endpoint only
	// in memory, waiting for their delivery, before it writes those not
	// delivered yet to the outbox (500 ms). Most messages are delivered
	// within it and never touch the disk. <0: every message is written
	// first.
	Hold time.Duration
	// CloseGrace is how long Close lets in-flight attempts finish before
	// cancelling them (1 s); the messages stay in the outbox either way.
	CloseGrace time.Duration
}

func (o *Options) setDefaults() {
	if o.QueueBound <= 0 {
		o.QueueBound = 1000
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = 8 << 20
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 16
	}
	if o.MaxPerHost <= 0 {
		o.MaxPerHost = 64
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 5
	} else if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 500 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = time.Minute
	}
	if o.BackoffMax < o.BackoffBase {
		o.BackoffMax = o.BackoffBase
	}
	if o.DeadLetterBound <= 0 {
		o.DeadLetterBound = 10000
	}
	if o.CloseGrace <= 0 {
		o.CloseGrace = time.Second
	}
	if o.Hold == 0 {
		o.Hold = 500 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Dispatcher is the Sink that delivers notifications. Enqueue hands the
// messages of healthy endpoints to their queues in memory and waits up to
// Options.Hold for their delivery; those not delivered by then, and those
// of endpoints that are failing or behind, are written to the outbox (a
// synced pebble batch per Enqueue call) before Enqueue returns, and
// deleted from it once delivered or dead-lettered. Each endpoint has its own
// bounded in-memory queue and its own workers, so a slow or dead endpoint
// holds up nothing but its own messages; what does not fit in memory stays
// in the outbox and is loaded a few hundred at a time as the queue drains.
// After a restart the outbox is delivered again (at-least-once).
type Dispatcher struct {
	opts       Options
	log        *slog.Logger
	db         *pebble.DB
	wopts      *pebble.WriteOptions
	transports map[string]Transport
	metrics    *metrics
	dead       *deadLetters

	qmu    sync.RWMutex
	queues map[uint64]*queue        // by endpoint hash (the outbox key prefix)
	hosts  map[string]chan struct{} // by label: tokens for MaxPerHost

	seq    atomic.Uint64 // the last outbox sequence number given out
	stored atomic.Int64  // messages in the outbox
	loaded int64         // messages the outbox held at Open (before any delivery)
	bySub  sync.Map      // subscription -> *atomic.Int64: its messages in the outbox

	del       chan delReq
	delDone   chan struct{}
	sweepStop chan struct{}

	// closeMu orders Enqueue (read) against Close (write).
	closeMu  sync.RWMutex
	closed   bool
	stopping atomic.Bool
	ctx      context.Context // cancelled when Close gives up on in-flight attempts
	cancel   context.CancelFunc
	workers  sync.WaitGroup
}

// Open opens (creating) the outbox in opts.Dir and starts delivering what
// it holds from before.
func Open(opts Options) (*Dispatcher, error) {
	if opts.Dir == "" {
		return nil, errors.New("notify: no directory given")
	}
	opts.setDefaults()
	db, err := pebble.Open(opts.Dir, &pebble.Options{
		Logger:             pebbleLogger{opts.Logger},
		MemTableSize:       16 << 20,
		FormatMajorVersion: pebble.FormatNewest,
	})
	if err != nil {
		return nil, fmt.Errorf("notify: open %s: %w", opts.Dir, err)
	}
	d := &Dispatcher{
		opts:       opts,
		log:        opts.Logger,
		db:         db,
		wopts:      pebble.Sync,
		transports: map[string]Transport{},
		queues:     map[uint64]*queue{},
		hosts:      map[string]chan struct{}{},
		del:        make(chan delReq, 4096),
		delDone:    make(chan struct{}),
		sweepStop:  make(chan struct{}),
	}
	if opts.NoSync {
		d.wopts = pebble.NoSync
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	ht := newHTTPTransport(opts.TLS, opts.MaxPerHost)
	d.transports["http"] = ht
	d.transports["https"] = ht
	for s, t := range opts.Transports {
		d.transports[s] = t
	}
	start := time.Now()
	maxSeq, err := d.loadOutbox()
	if err == nil {
		var deadMax uint64
		d.dead, deadMax, err = loadDeadLetters(db, opts.DeadLetterBound)
		maxSeq = max(maxSeq, deadMax)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("notify: load %s: %w", opts.Dir, err)
	}
	d.seq.Store(max(maxSeq, uint64(time.Now().UnixNano())))
	d.loaded = d.stored.Load()
	if opts.Registerer != nil {
		if d.metrics, err = newMetrics(opts.Registerer, d); err != nil {
			db.Close()
			return nil, fmt.Errorf("notify: metrics: %w", err)
		}
	}
	go d.deleter()
	go d.sweeper()
	d.qmu.RLock()
	for _, q := range d.queues {
		q.mu.Lock()
		q.kick()
		q.mu.Unlock()
	}
	nq := len(d.queues)
	d.qmu.RUnlock()
	d.log.Info("notification outbox opened", "dir", opts.Dir, "outbox", d.stored.Load(), "endpoints", nq,
		"deadLetters", d.dead.len(), "took", time.Since(start).Round(time.Millisecond))
	return d, nil
}

// Enqueue implements Sink. The Dispatcher keeps msgs: the caller must not
// modify them afterwards. It waits for the outbox write and at most
// Options.Hold for endpoints.
func (d *Dispatcher) Enqueue(ctx context.Context, msgs []*Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.closeMu.RLock()
	defer d.closeMu.RUnlock()
	if d.closed {
		return ErrClosed
	}
	n := uint64(len(msgs))
	first := d.seq.Add(n) - n + 1
	items := make([]item, len(msgs))
	groups := make(map[*queue][]*item, 4)
	now := time.Now()
	for i, m := range msgs {
		if m == nil {
			return errors.New("notify: nil message")
		}
		q := d.queueFor(&m.Endpoint)
		it := &items[i]
		*it = item{seq: first + uint64(i), msg: m, enqueued: now, size: len(m.Body)}
		groups[q] = append(groups[q], it)
	}
	w := newWaiter() // w.left starts at 1 so that it reaches 0 only after this loop
	if d.opts.Hold > 0 {
		for q, its := range groups {
			w.left.Add(int64(len(its)))
			if q.hold(its, w) {
				w.groups[q] = its
				delete(groups, q)
				continue
			}
			w.left.Add(-int64(len(its)))
		}
	}
	if err := d.write(groups); err != nil {
		return err
	}
	if len(w.groups) == 0 {
		return nil
	}
	w.release()
	t := time.NewTimer(d.opts.Hold)
	defer t.Stop()
	select {
	case <-w.done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	if err := d.persist(w); err != nil {
		return fmt.Errorf("notify: outbox write: %w", err)
	}
	return nil
}

// write writes the items of groups to the outbox and hands them to their
// queues.
func (d *Dispatcher) write(groups map[*queue][]*item) error {
	if len(groups) == 0 {
		return nil
	}
	b := d.db.NewBatch()
	defer b.Close()
	var buf []byte
	n := 0
	for q, its := range groups {
		for _, it := range its {
			buf = appendMessage(buf[:0], it.msg)
			if err := b.Set(outboxKey(q.hash, it.seq), buf, nil); err != nil {
				return err
			}
		}
		n += len(its)
	}
	// Reserve the sequence numbers before they become visible in the
	// outbox, so that a queue loading from the outbox skips them.
	groups = d.reserveAll(groups)
	if err := b.Commit(d.wopts); err != nil {
		for q, its := range groups {
			q.unreserve(its)
		}
		return fmt.Errorf("notify: outbox write: %w", err)
	}
	d.stored.Add(int64(n))
	for q, its := range groups {
		var last string
		var c *atomic.Int64
		for i, it := range its {
			if i == 0 || it.msg.Subscription != last {
				last, c = it.msg.Subscription, d.subDepth(it.msg.Subscription)
			}
			c.Add(1)
		}
		q.admit(its)
	}
	return nil
}

// queueFor returns the queue of endpoint e, creating it.
func (d *Dispatcher) queueFor(e *Endpoint) *queue {
	return d.queueByHash(hashKey(endpointKey(e)), e.URI)
}

func (d *Dispatcher) queueByHash(h uint64, uri string) *queue {
	d.qmu.RLock()
	q := d.queues[h]
	d.qmu.RUnlock()
	if q != nil {
		return q
	}
	d.qmu.Lock()
	defer d.qmu.Unlock()
	if q = d.queues[h]; q == nil {
		q = d.newQueue(h, uri)
		d.queues[h] = q
	}
	return q
}

// reserveAll reserves the items of groups in their queues (see Enqueue); a
// queue the idle sweep retired meanwhile is replaced by a fresh one for the
// same endpoint. It returns the groups by the queues that took them.
func (d *Dispatcher) reserveAll(groups map[*queue][]*item) map[*queue][]*item {
	out := make(map[*queue][]*item, len(groups))
	for q, its := range groups {
		for !q.reserve(its) {
			q = d.queueByHash(q.hash, q.uri)
		}
		out[q] = append(out[q], its...)
	}
	return out
}

// sweep retires the queues idle for longer than idleQueue, so that the
// queues of endpoints no longer used do not accumulate.
func (d *Dispatcher) sweep(now time.Time) int {
	d.qmu.Lock()
	defer d.qmu.Unlock()
	n := 0
	for h, q := range d.queues {
		q.mu.Lock()
		if q.idle(idleQueue, now) {
			q.gone = true
			if q.timer != nil {
				q.timer.Stop()
			}
			delete(d.queues, h)
			n++
		}
		q.mu.Unlock()
	}
	return n
}

// idleQueue is how long an endpoint's queue lives on with nothing to do.
const idleQueue = 5 * time.Minute

func (d *Dispatcher) sweeper() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-d.sweepStop:
			return
		case now := <-t.C:
			d.sweep(now)
		}
	}
}

// Close stops taking messages, lets in-flight attempts finish for up to
// Options.CloseGrace (then cancels them), writes the pending outbox
// deletions and closes the database. Undelivered messages stay in the
// outbox for the next Open.
func (d *Dispatcher) Close() error {
	d.closeMu.Lock()
	if d.closed {
		d.closeMu.Unlock()
		return nil
	}
	d.closed = true
	d.closeMu.Unlock()
	d.stopping.Store(true)
	close(d.sweepStop)
	d.qmu.RLock()
	for _, q := range d.queues {
		q.stop()
	}
	d.qmu.RUnlock()
	done := make(chan struct{})
	go func() {
		d.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d.opts.CloseGrace):
		d.cancel()
		<-done
	}
	d.cancel()
	close(d.del)
	<-d.delDone
	seen := map[Transport]bool{}
	for _, t := range d.transports {
		if !seen[t] {
			seen[t] = true
			t.Close()
		}
	}
	if d.metrics != nil {
		d.metrics.unregister()
	}
	if err := d.db.Flush(); err != nil {
		d.db.Close()
		return err
	}
	return d.db.Close()
}

// pebbleLogger routes pebble's logs to slog.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug("pebble (notify): " + fmt.Sprintf(format, args...))
}
func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error("pebble (notify): " + fmt.Sprintf(format, args...))
}
func (l pebbleLogger) Fatalf(format string, args ...any) {
	l.log.Error("pebble (notify) fatal: " + fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}
