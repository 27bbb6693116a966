package subscription

import (
	"slices"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/query"
	"github.com/qala-city/qala/internal/store"
)

// live reports whether c may notify at t: active, not expired (clause
// 5.2.12: a paused or expired subscription sends nothing).
func (c *compiled) live(t time.Time) bool {
	return c.IsActive() && (c.ExpiresAt.IsZero() || t.Before(c.ExpiresAt))
}

// selects reports whether e is one of the entities c is about: an entity
// selector matches it (or there is none), and q, scopeQ and geoQ hold.
func (c *compiled) selects(e *ngsild.Entity) bool {
	if len(c.sels) > 0 {
		ok := false
		for i := range c.sels {
			s := &c.sels[i]
			if (s.id == "" || s.id == e.ID) && (s.pattern == nil || s.pattern.MatchString(e.ID)) && s.types.Match(e.Types) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if c.q != nil && !query.MatchQ(c.q, e) {
		return false
	}
	if c.scope != nil && !query.MatchScope(c.scope, e) {
		return false
	}
	return c.geo == nil || c.geo.Match(e)
}

func (c *compiled) has(bit string) bool { return c.trig&trigBit(bit) != 0 }

// relevant reports whether attribute a counts for watchedAttributes.
func (c *compiled) relevant(a string) bool { return c.watched == nil || c.watched[a] }

func (c *compiled) anyRelevant(e *ngsild.Entity) bool {
	if c.watched == nil {
		return true
	}
	for a := range e.Attrs {
		if c.watched[a] {
			return true
		}
	}
	return false
}

// triggered reports whether the change ev fires one of c's notification
// triggers (clause 5.2.12, notificationTrigger), considering only the
// watched attributes when c has watchedAttributes:
//   - entityCreated / entityDeleted: the entity was created / deleted;
//   - attributeCreated: an attribute appeared (every attribute of a created
//     entity counts as created);
//   - attributeUpdated: an attribute present before and after was touched;
//   - attributeDeleted: an attribute present before is gone;
//   - entityUpdated: an existing entity changed.
func (c *compiled) triggered(ev *store.Event) bool {
	switch {
	case ev.Before == nil && ev.After == nil:
		return false
	case ev.Before == nil:
		if c.has(TrigEntityCreated) && c.anyRelevant(ev.After) {
			return true
		}
		if c.has(TrigAttributeCreated) {
			for a := range ev.After.Attrs {
				if c.relevant(a) {
					return true
				}
			}
		}
		return false
	case ev.After == nil:
		return c.has(TrigEntityDeleted) && c.anyRelevant(ev.Before)
	}
	touched := false
	for _, a := range ev.Attrs {
		if !c.relevant(a) {
			continue
		}
		touched = true
		_, inB := ev.Before.Attrs[a]
		_, inA := ev.After.Attrs[a]
		switch {
		case !inB && inA && c.has(TrigAttributeCreated),
			inB && inA && c.has(TrigAttributeUpdated),
			inB && !inA && c.has(TrigAttributeDeleted):
			return true
		}
	}
	return c.has(TrigEntityUpdated) && (touched || (c.watched == nil && len(ev.Attrs) == 0))
}

// matches reports whether ev must be notified to c; it does not look at
// throttling.
func (c *compiled) matches(ev *store.Event) bool {
	if !c.live(ev.Time) || ev.Time.Before(c.CreatedAt) {
		return false
	}
	cur := ev.After
	if cur == nil {
		cur = ev.Before
	}
	return c.triggered(ev) && c.selects(cur)
}

// throttled reports whether a notification at t falls within the
// throttling window of the last one (clause 5.2.12, throttling).
func (c *compiled) throttled(t time.Time) bool {
	if c.Throttling <= 0 || c.lastSent.IsZero() {
		return false
	}
	return t.Sub(c.lastSent) < time.Duration(c.Throttling*float64(time.Second))
}

// deletedAttrs lists the attributes ev removed, in name order.
func deletedAttrs(ev *store.Event) []string {
	if ev.Before == nil {
		return nil
	}
	var out []string
	if ev.After == nil {
		for a := range ev.Before.Attrs {
			out = append(out, a)
		}
	} else {
		for _, a := range ev.Attrs {
			if _, inB := ev.Before.Attrs[a]; inB {
				if _, inA := ev.After.Attrs[a]; !inA {
					out = append(out, a)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
