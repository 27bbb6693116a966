package temporal

import (
	"bytes"
	"context"
	"slices"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// ScopeAttr is the name under which the history of an entity's scope is
// kept: scope is a temporal member of an entity's Temporal Evolution
// (clause 4.18), rendered as "scope".
const ScopeAttr = "@scope"

// Handle records the attribute instances that change events carry, with
// the cursor evs[len(evs)-1].Seq, in one atomic durable batch. It is the
// Handle of the store.Follower that feeds history from the change log:
// after a crash the follower offers again the events after Cursor, which
// Handle therefore never records twice.
//
// For each event, an instance is recorded for every attribute instance
// created or changed (its modifiedAt differs from the one before), a
// deletion record (the NGSI-LD Null with deletedAt) for every instance
// removed, an instance of scope when the scope changed, and the entity's
// deletion when it was deleted. Entities whose tenant and types have
// history turned off are skipped.
func (s *Store) Handle(ctx context.Context, evs []store.Event) error {
	if len(evs) == 0 {
		return nil
	}
	cfg := s.cfg.Load()
	var writes []*entWrite
	for i := range evs {
		ev := &evs[i]
		e := ev.After
		if e == nil {
			e = ev.Before
		}
		if e == nil || !cfg.enabled(ev.Tenant, e.Types) {
			continue
		}
		if w := captureEvent(ev); w != nil {
			writes = append(writes, w)
		}
	}
	return s.apply(ctx, writes, evs[len(evs)-1].Seq)
}

// captureEvent turns one change event into a write, or nil when it changed
// nothing history keeps.
func captureEvent(ev *store.Event) *entWrite {
	at := ev.Time.UnixMilli()
	before, after := ev.Before, ev.After
	id := ""
	var types []string
	switch {
	case after != nil:
		id, types = after.ID, after.Types
	case before != nil:
		id, types = before.ID, before.Types
	default:
		return nil
	}
	w := &entWrite{tenant: ev.Tenant, id: id, types: types, at: at}
	if after == nil {
		w.deleted = at
		for name, insts := range before.Attrs {
			for _, a := range insts {
				w.add(sKey{name, a.DatasetID}, deletion(a, at))
			}
		}
		if len(before.Scope) > 0 {
			w.add(sKey{ScopeAttr, ""}, scopeDeletion(at))
		}
		return w
	}
	if before == nil || !before.DeletedAt.IsZero() {
		w.revived = true
	}
	touched := ev.Attrs
	for name, insts := range after.Attrs {
		for _, a := range insts {
			var b *ngsild.Attr
			if before != nil {
				b = before.Instance(name, a.DatasetID)
			}
			if b != nil && !changed(a, b, slices.Contains(touched, name)) {
				continue
			}
			t := a.ModifiedAt
			if t.IsZero() {
				t = ev.Time
			}
			ms := t.UnixMilli()
			w.add(sKey{name, a.DatasetID}, fromAttr(a, ms, ms, false))
		}
	}
	if before != nil {
		for name, insts := range before.Attrs {
			for _, b := range insts {
				if after.Instance(name, b.DatasetID) == nil {
					w.add(sKey{name, b.DatasetID}, deletion(b, at))
				}
			}
		}
	}
	var oldScope []string
	if before != nil {
		oldScope = before.Scope
	}
	if !slices.Equal(oldScope, after.Scope) {
		if len(after.Scope) == 0 {
			w.add(sKey{ScopeAttr, ""}, scopeDeletion(at))
		} else {
			w.add(sKey{ScopeAttr, ""}, scopeInstance(after.Scope, at))
		}
	}
	if len(w.insts) == 0 && !w.revived && before != nil && slices.Equal(before.Types, after.Types) {
		return nil
	}
	return w
}

// changed reports whether instance a differs from b, the same instance
// before the change: every change stamps modifiedAt; for an attribute the
// change names, the content is compared too.
func changed(a, b *ngsild.Attr, touched bool) bool {
	if !a.ModifiedAt.Equal(b.ModifiedAt) || !a.CreatedAt.Equal(b.CreatedAt) || !a.ObservedAt.Equal(b.ObservedAt) {
		return true
	}
	if !touched {
		return false
	}
	return !bytes.Equal(appendAttr(nil, a, true, 0), appendAttr(nil, b, true, 0)) || a.UnitCode != b.UnitCode
}

// deletion is the record of an instance's deletion (clause 4.5.7 of v1.8):
// the NGSI-LD Null in the member of its kind, with deletedAt.
func deletion(a *ngsild.Attr, at int64) inst {
	d := &ngsild.Attr{Type: a.Type, DatasetID: a.DatasetID}
	SetNull(d)
	return fromAttr(d, at, at, true)
}

// SetNull puts the NGSI-LD Null in the value member of a's kind (clause
// 4.5.7: the representation of a deleted attribute instance).
func SetNull(a *ngsild.Attr) {
	a.Value, a.Object, a.LanguageMap = nil, nil, nil
	switch a.Type {
	case ngsild.Relationship:
		a.Object = ngsild.Null
	case ngsild.ListRelationship:
		a.Object = []any{ngsild.Null}
	case ngsild.LanguageProperty:
		a.LanguageMap = map[string]any{ngsild.NoneDataset: ngsild.Null}
	case ngsild.ListProperty:
		a.Value = []any{ngsild.Null}
	default:
		a.Value = ngsild.Null
	}
}

// IsNullValue reports whether a holds the NGSI-LD Null as SetNull puts it.
func IsNullValue(a *ngsild.Attr) bool {
	switch a.Type {
	case ngsild.Relationship:
		return a.Object == ngsild.Null
	case ngsild.ListRelationship:
		l, ok := a.Object.([]any)
		return ok && len(l) == 1 && l[0] == ngsild.Null
	case ngsild.LanguageProperty:
		return len(a.LanguageMap) == 1 && a.LanguageMap[ngsild.NoneDataset] == ngsild.Null
	case ngsild.ListProperty:
		l, ok := a.Value.([]any)
		return ok && len(l) == 1 && l[0] == ngsild.Null
	}
	return a.Value == ngsild.Null
}

func scopeInstance(scope []string, at int64) inst {
	v := make([]any, len(scope))
	for i, s := range scope {
		v[i] = s
	}
	// Clause 4.5.6: a scope changed through the Core API gets observedAt, a
	// copy of its modifiedAt.
	return fromAttr(&ngsild.Attr{Type: ngsild.Property, Value: v, ObservedAt: msTime(at)}, at, at, false)
}

// scopeDeletion records that the scope was removed: an empty scope with
// deletedAt (as the ETSI expectations of clause 4.18 show it).
func scopeDeletion(at int64) inst {
	return fromAttr(&ngsild.Attr{Type: ngsild.Property, Value: []any{}}, at, at, true)
}
