package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Follower feeds a durable consumer of change events (history, subscription
// matching, replication) every event of a store exactly in commit order,
// starting after the consumer's own persisted cursor, and keeps feeding it
// across restarts without losing or reordering anything.
//
// Live events come from Subscribe (no decoding: they are the write path's own
// values), buffered in memory up to a bound; whatever the buffer misses — the
// events before the follower started, or those dropped while the consumer
// was slow — is read back from the change log (ReadLog). Handle therefore
// sees each Seq once per run, in order, with no gaps; after a crash it may
// see again the events after its last persisted cursor, which is why the
// consumer persists its cursor with its own effects, atomically.
type Follower struct {
	Store Store
	// Name labels logs.
	Name string
	// From is the consumer's persisted cursor: the Seq of the last event it
	// has durably processed. Events with Seq > From are handed to Handle.
	From uint64
	// Handle processes events in commit order and returns once their effects
	// (and the cursor evs[len(evs)-1].Seq) are durable. On error the same
	// events are offered again after a backoff.
	Handle func(ctx context.Context, evs []Event) error
	// Batch bounds the events of one Handle call (default 1,024).
	Batch int
	// Buffer bounds the live events held in memory (default 16,384).
	Buffer int
	// Logger receives errors; nil means slog.Default().
	Logger *slog.Logger

	cursor atomic.Uint64

	mu       sync.Mutex
	buf      []Event
	overflow bool
	wake     chan struct{}
	waiters  []waiter
}

type waiter struct {
	seq uint64
	ch  chan struct{}
}

// Cursor returns the Seq of the last event Handle processed successfully.
func (f *Follower) Cursor() uint64 { return f.cursor.Load() }

// Run feeds Handle until ctx is done. It returns ctx's error, or the error of
// the change log when the consumer's cursor is behind what the log still
// holds (ErrLogTrimmed): then the consumer has lost events and must
// resynchronise.
func (f *Follower) Run(ctx context.Context) error {
	batch := f.Batch
	if batch <= 0 {
		batch = 1024
	}
	bufMax := f.Buffer
	if bufMax <= 0 {
		bufMax = 16384
	}
	log := f.Logger
	if log == nil {
		log = slog.Default()
	}
	f.cursor.Store(f.From)
	f.mu.Lock()
	f.wake = make(chan struct{}, 1)
	f.mu.Unlock()
	cancel := f.Store.Subscribe(func(evs []Event) {
		f.mu.Lock()
		if !f.overflow {
			if len(f.buf)+len(evs) > bufMax {
				f.overflow, f.buf = true, nil
			} else {
				f.buf = append(f.buf, evs...)
			}
		}
		f.mu.Unlock()
		select {
		case f.wake <- struct{}{}:
		default:
		}
	})
	defer cancel()
	defer f.releaseWaiters()

	backoff := 50 * time.Millisecond
	for {
		evs, err := f.next(ctx, batch)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			f.notifyWaiters()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-f.wake:
			case <-time.After(time.Second):
				// A safety net: catch up from the log even without a wake-up.
			}
			continue
		}
		if err := f.Handle(ctx, evs); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.Error("change consumer failed; retrying", "consumer", f.Name, "from", evs[0].Seq, "err", err, "retry_in", backoff)
			f.requeue(evs)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		f.cursor.Store(evs[len(evs)-1].Seq)
		f.notifyWaiters()
	}
}

// next returns the events after the cursor: from the live buffer when it
// continues the cursor, else (gap or overflow) from the change log.
func (f *Follower) next(ctx context.Context, batch int) ([]Event, error) {
	cur := f.cursor.Load()
	f.mu.Lock()
	i := 0
	for i < len(f.buf) && f.buf[i].Seq <= cur {
		i++
	}
	f.buf = f.buf[i:]
	if !f.overflow && len(f.buf) > 0 && f.buf[0].Seq == cur+1 {
		n := min(len(f.buf), batch)
		evs := f.buf[:n:n]
		f.buf = f.buf[n:]
		if len(f.buf) == 0 {
			f.buf = nil
		}
		f.mu.Unlock()
		return evs, nil
	}
	var until uint64 // read the log up to this Seq (0: as far as it goes)
	if !f.overflow && len(f.buf) > 0 {
		until = f.buf[0].Seq - 1
	}
	// Live events from now on land in the buffer again; the log read below
	// covers everything published before.
	f.overflow = false
	f.mu.Unlock()
	if until != 0 {
		batch = min(batch, int(until-cur))
	}
	evs, err := f.Store.ReadLog(ctx, cur, batch)
	if err != nil {
		if errors.Is(err, ErrLogTrimmed) || errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return nil, err
		}
		return nil, nil // a passing read error: the safety net retries
	}
	return evs, nil
}

// requeue puts back events Handle failed on, ahead of the buffer.
func (f *Follower) requeue(evs []Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.overflow {
		return
	}
	f.buf = append(append([]Event(nil), evs...), f.buf...)
}

// WaitFor blocks until the consumer has processed every event with
// Seq <= seq, ctx is done (its error is returned), or the follower stops.
// Readers of a consumer's output call it with Store.LastSeq() to read their
// own writes.
func (f *Follower) WaitFor(ctx context.Context, seq uint64) error {
	if f.cursor.Load() >= seq {
		return nil
	}
	ch := make(chan struct{})
	f.mu.Lock()
	f.waiters = append(f.waiters, waiter{seq, ch})
	f.mu.Unlock()
	f.notifyWaiters() // the cursor may have moved meanwhile
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *Follower) notifyWaiters() {
	cur := f.cursor.Load()
	f.mu.Lock()
	defer f.mu.Unlock()
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if w.seq <= cur {
			close(w.ch)
			continue
		}
		kept = append(kept, w)
	}
	f.waiters = kept
}

func (f *Follower) releaseWaiters() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.waiters {
		close(w.ch)
	}
	f.waiters = nil
}
