package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Writer receives the demo city's documents. The server implements it on its one write path;
// documents are NGSI-LD entities in normalized form with compact terms and an "@context" member,
// exactly as a client would POST them with Content-Type application/ld+json.
type Writer interface {
	// Upsert creates the entities, replacing any existing entity with the same id
	// (batch upsert with options=replace).
	Upsert(ctx context.Context, tenant string, docs []map[string]any) error
	// Update applies partial entities: each document carries id, type, @context and the
	// attributes that changed, which replace the existing attributes of that name
	// (batch update; attributes not mentioned are kept).
	Update(ctx context.Context, tenant string, docs []map[string]any) error
}

// BatchSize is the number of documents per Writer call.
const BatchSize = 500

// DefaultInterval is how often the simulator writes updates unless told otherwise.
const DefaultInterval = 5 * time.Second

// Load writes the whole city, as it is at the instant at, through w in batches of BatchSize. It
// returns the number of entities written before the first error.
func Load(ctx context.Context, w Writer, tenant string, c *City, at time.Time) (int, error) {
	docs := c.Entities(at)
	n := 0
	for len(docs) > 0 {
		b := docs[:min(BatchSize, len(docs))]
		if err := w.Upsert(ctx, tenant, b); err != nil {
			return n, fmt.Errorf("load demo city: %w", err)
		}
		n += len(b)
		docs = docs[len(b):]
	}
	return n, nil
}

// Updates returns the partial entities that changed between prev and now: periodic sensors
// whose reporting slot passed, and on-change assets (parking, streetlights, chargers) whose state
// differs. Each document holds id, type, @context and the changed attributes with their
// observedAt. It returns nil if now is not after prev.
func (c *City) Updates(prev, now time.Time) []map[string]any {
	if !now.After(prev) {
		return nil
	}
	var out []map[string]any
	for _, a := range c.assets {
		if !c.changed(a, prev, now) {
			continue
		}
		doc := map[string]any{"id": a.id, "type": a.typ}
		for k, v := range c.dynamic(a, now) {
			doc[k] = v
		}
		doc["@context"] = contextValue()
		out = append(out, doc)
	}
	return out
}

// changed reports whether a has something new to report at now since prev.
func (c *City) changed(a *asset, prev, now time.Time) bool {
	if p, ok := reportEvery[a.kind]; ok {
		return slot(prev, p, a.phase) != slot(now, p, a.phase)
	}
	switch a.kind {
	case kindParkingSpot:
		return c.spotStatus(a, prev) != c.spotStatus(a, now)
	case kindOffStreetParking:
		return c.freeSpots(a, prev) != c.freeSpots(a, now)
	case kindStreetlight:
		return c.streetlightState(a, prev) != c.streetlightState(a, now)
	case kindEVCharger:
		fp, sp := c.chargerState(a, prev)
		fn, sn := c.chargerState(a, now)
		return fp != fn || sp != sn
	}
	return false
}

// Simulator animates a loaded city: every Interval it writes, through Writer.Update, the
// changes since its previous tick.
type Simulator struct {
	City     *City
	Writer   Writer
	Tenant   string
	Interval time.Duration    // DefaultInterval if zero
	Now      func() time.Time // time.Now if nil; the simulated instant of each tick
	Logger   *slog.Logger     // slog.Default() if nil
}

// Run ticks until ctx is done and then returns nil. A failed write is logged and the simulator
// carries on: the next tick reports the then-current values anyway.
func (s *Simulator) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	now := s.Now
	if now == nil {
		now = time.Now
	}
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	prev := now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		t := now()
		docs := s.City.Updates(prev, t)
		prev = t
		for len(docs) > 0 {
			b := docs[:min(BatchSize, len(docs))]
			docs = docs[len(b):]
			if err := s.Writer.Update(ctx, s.Tenant, b); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				log.Warn("demo simulator update failed", "tenant", s.Tenant, "entities", len(b), "err", err)
			}
		}
	}
}
