package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/notify"
	"github.com/qala-city/qala/internal/query"
	"github.com/qala-city/qala/internal/store"
)

// Pipeline turns change events into notifications: it is the Handle of a
// store.Follower (see Follower), and runs the periodic (timeInterval)
// subscriptions.
type Pipeline struct {
	Reg   *Registry
	Sink  notify.Sink
	Store store.Store
	Log   *slog.Logger
	// MaxPeriodic bounds the entities of one periodic notification
	// (default 1,000).
	MaxPeriodic int
}

// Follower returns the change-log consumer that feeds p, starting after
// the registry's persisted cursor (after the newest event when the
// registry has none: a new subscription database notifies nothing from
// the past).
func (p *Pipeline) Follower() *store.Follower {
	from, ok := p.Reg.Cursor()
	if !ok {
		from = p.Store.LastSeq()
		if err := p.Reg.SetCursor(from); err != nil && p.Log != nil {
			p.Log.Warn("persisting the subscription cursor failed", "err", err)
		}
	}
	return &store.Follower{Store: p.Store, Name: "subscriptions", From: from, Handle: p.Handle, Logger: p.Log, Batch: followBatch}
}

// followBatch bounds the events of one Handle call: their notifications
// should fit the sink's memory and be delivered within its hold (see
// notify.Options.Hold), so that a backlog waits in the change log rather
// than in the outbox.
const followBatch = 128

type sentMark struct {
	c    *compiled
	prev time.Time
}

// Handle matches evs against the subscriptions, hands the notifications to
// the sink, and only once the sink took them persists the cursor past evs.
func (p *Pipeline) Handle(ctx context.Context, evs []store.Event) error {
	if len(evs) == 0 {
		return nil
	}
	r := p.Reg
	msgs, marks, err := r.match(evs, r.now(), p.getter(ctx))
	if err != nil {
		return err
	}
	if len(msgs) > 0 {
		if err := p.Sink.Enqueue(ctx, msgs); err != nil {
			// The events come again: undo the throttling marks.
			r.mu.Lock()
			for i := len(marks) - 1; i >= 0; i-- {
				marks[i].c.lastSent = marks[i].prev
			}
			r.mu.Unlock()
			return err
		}
	}
	return r.SetCursor(evs[len(evs)-1].Seq)
}

// getter reads linked entities from the store (nil without one).
func (p *Pipeline) getter(ctx context.Context) Getter {
	if p.Store == nil {
		return nil
	}
	return func(tenant, id string) *ngsild.Entity {
		e, err := p.Store.Get(ctx, tenant, id)
		if err != nil {
			return nil
		}
		return e
	}
}

// match renders the notifications evs cause, and marks the throttled
// subscriptions as notified (marks lets the caller undo that).
func (r *Registry) match(evs []store.Event, now time.Time, get Getter) ([]*notify.Message, []sentMark, error) {
	type hit struct {
		c  *compiled
		ev *store.Event
	}
	var hits []hit
	var marks []sentMark
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, nil, ErrClosed
	}
	for i := range evs {
		ev := &evs[i]
		ti := r.tenants[ev.Tenant]
		if ti == nil {
			continue
		}
		var resolve query.Resolver
		if get != nil {
			tenant := ev.Tenant
			resolve = func(id string) *ngsild.Entity { return get(tenant, id) }
		}
		r.stamp++
		ti.candidates(ev, r.stamp, func(c *compiled) {
			if !c.matches(ev, resolve) || c.throttled(ev.Time) {
				return
			}
			hits = append(hits, hit{c, ev})
			marks = append(marks, sentMark{c, c.lastSent})
			if c.Throttling > 0 {
				c.lastSent = ev.Time
			}
		})
	}
	r.mu.Unlock()
	// Rendering reads only what a compiled subscription never changes, so
	// it runs outside the lock: status updates (Record, from the delivery
	// workers) and the API do not wait for it.
	msgs := make([]*notify.Message, len(hits))
	cache := map[renderKey]json.RawMessage{}
	for i, h := range hits {
		msgs[i] = h.c.eventMessage(h.ev, now, get, cache)
	}
	return msgs, marks, nil
}

// RunPeriodic sends the notifications of timeInterval subscriptions until
// ctx is done: every timeInterval seconds, the entities that match the
// subscription then (clause 5.8.1, timeInterval).
func (p *Pipeline) RunPeriodic(ctx context.Context, tick time.Duration) {
	if tick <= 0 {
		tick = 200 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.periodic(ctx)
	}
}

type due struct {
	c    *compiled
	tick time.Time
}

func (p *Pipeline) periodic(ctx context.Context) {
	r := p.Reg
	now := r.now()
	var list []due
	r.mu.Lock()
	for _, ti := range r.tenants {
		for _, c := range ti.periodic {
			if !c.live(now) {
				continue
			}
			iv := time.Duration(c.TimeInterval * float64(time.Second))
			if c.nextDue.IsZero() {
				// First look since the subscription was created, changed
				// or loaded at start: due now, unless its last
				// notification (kept in its status across restarts) was
				// less than an interval ago.
				c.nextDue = now
				if last := c.status.LastNotification; !last.IsZero() && last.Add(iv).After(now) {
					c.nextDue = last.Add(iv)
				}
			}
			if now.Before(c.nextDue) {
				continue
			}
			list = append(list, due{c, c.nextDue})
			c.nextDue = c.nextDue.Add(iv)
			if c.nextDue.Before(now) { // missed ticks are not made up
				c.nextDue = now.Add(iv)
			}
		}
	}
	r.mu.Unlock()
	for _, d := range list {
		es, err := p.current(ctx, d.c)
		if err != nil {
			if !errors.Is(err, store.ErrNoTenant) && ctx.Err() == nil && p.Log != nil {
				p.Log.Warn("periodic subscription query failed", "subscription", d.c.ID, "err", err)
			}
			continue
		}
		if len(es) == 0 {
			continue
		}
		m := d.c.periodicMessage(d.tick, now, es, p.getter(ctx))
		if err := p.Sink.Enqueue(ctx, []*notify.Message{m}); err != nil && ctx.Err() == nil && p.Log != nil {
			p.Log.Warn("periodic notification not taken", "subscription", d.c.ID, "err", err)
		}
	}
}

// current returns the entities c selects now.
func (p *Pipeline) current(ctx context.Context, c *compiled) ([]*ngsild.Entity, error) {
	limit := p.MaxPeriodic
	if limit <= 0 {
		limit = 1000
	}
	var resolve query.Resolver
	if get := p.getter(ctx); get != nil {
		resolve = func(id string) *ngsild.Entity { return get(c.Tenant, id) }
	}
	q := store.Query{Filter: func(e *ngsild.Entity) bool { return c.selects(e, resolve) }, Limit: limit}
	if c.index.kind == idxPeriodic {
		var types []string
		ok := len(c.sels) > 0
		for _, s := range c.sels {
			names, plain := s.types.Names()
			if !plain {
				ok = false
				break
			}
			types = append(types, names...)
		}
		if ok {
			q.Types = types
		}
	}
	res, err := p.Store.Query(ctx, c.Tenant, q)
	if err != nil {
		return nil, err
	}
	return res.Entities, nil
}
