package subscription

import (
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
//   - attributeCreated: an attribute (instance) appeared (every attribute of
//     a created entity counts as created);
//   - attributeUpdated: an attribute instance present before and after was
//     changed;
//   - attributeDeleted: an attribute instance present before is gone (also
//     when the whole entity is deleted);
//   - entityUpdated: an existing entity changed.
func (c *compiled) triggered(ev *store.Event) bool {
	switch {
	case ev.Before == nil && ev.After == nil:
		return false
	case ev.Before == nil:
		if c.has(TrigEntityCreated) && c.anyRelevant(ev.After) {
			return true
		}
		return c.has(TrigAttributeCreated) && c.anyRelevantAttr(ev.After)
	case ev.After == nil:
		return (c.has(TrigEntityDeleted) && c.anyRelevant(ev.Before)) || (c.has(TrigAttributeDeleted) && c.anyRelevantAttr(ev.Before))
	}
	touched := false
	for _, a := range ev.Attrs {
		if !c.relevant(a) {
			continue
		}
		touched = true
		created, updated, deleted := instanceChanges(ev.Before.Attrs[a], ev.After.Attrs[a])
		if (created && c.has(TrigAttributeCreated)) || (updated && c.has(TrigAttributeUpdated)) || (deleted && c.has(TrigAttributeDeleted)) {
			return true
		}
	}
	return c.has(TrigEntityUpdated) && (touched || (c.watched == nil && len(ev.Attrs) == 0))
}

func (c *compiled) anyRelevantAttr(e *ngsild.Entity) bool {
	for a := range e.Attrs {
		if c.relevant(a) {
			return true
		}
	}
	return false
}

// instanceChanges compares the instances of one attribute before and after
// a change, by datasetId: some appeared, some present in both changed
// (another instance or a new modifiedAt), some disappeared.
func instanceChanges(before, after []*ngsild.Attr) (created, updated, deleted bool) {
	for _, a := range after {
		b := instanceOf(before, a.DatasetID)
		switch {
		case b == nil:
			created = true
		case b != a && !b.ModifiedAt.Equal(a.ModifiedAt):
			updated = true
		case b != a && b.ModifiedAt.IsZero():
			updated = true
		}
	}
	for _, b := range before {
		if instanceOf(after, b.DatasetID) == nil {
			deleted = true
		}
	}
	return
}

func instanceOf(insts []*ngsild.Attr, ds string) *ngsild.Attr {
	for _, a := range insts {
		if a.DatasetID == ds {
			return a
		}
	}
	return nil
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

// deletedInstances returns the attribute instances ev removed that the
// notification shows with the NGSI-LD Null: for an update, every instance
// gone; for a deleted entity, every attribute with showChanges, else the
// watched ones (clause 5.8.6; ETSI TP 046_21, 046_22_12, 046_37).
func (c *compiled) deletedInstances(ev *store.Event) map[string][]*ngsild.Attr {
	if ev.Before == nil {
		return nil
	}
	out := map[string][]*ngsild.Attr{}
	if ev.After == nil {
		for a, insts := range ev.Before.Attrs {
			if c.Notification.ShowChanges || (c.watched != nil && c.watched[a]) {
				out[a] = insts
			}
		}
		return out
	}
	for _, a := range ev.Attrs {
		after := ev.After.Attrs[a]
		for _, b := range ev.Before.Attrs[a] {
			if instanceOf(after, b.DatasetID) == nil {
				out[a] = append(out[a], b)
			}
		}
	}
	return out
}
