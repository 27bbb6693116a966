package temporal

import (
	"context"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// TestCapture feeds Handle the events of an entity's life — create,
// updates, the deletion of an attribute, a scope change, its deletion —
// and checks the instances and deletion records they leave, and that the
// cursor moves with them.
func TestCapture(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	ctx := context.Background()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	prop := func(v float64, m int) *ngsild.Attr {
		return &ngsild.Attr{Type: ngsild.Property, Value: v, ObservedAt: at(m), CreatedAt: at(0), ModifiedAt: at(m)}
	}
	rel := &ngsild.Attr{Type: ngsild.Relationship, Object: "urn:ngsi-ld:Road:1", CreatedAt: at(0), ModifiedAt: at(0)}
	v0 := &ngsild.Entity{ID: tEntity, Types: []string{tType}, Scope: []string{"/Astana/Yesil"},
		Attrs: map[string][]*ngsild.Attr{tAttr: {prop(10, 0)}, "urn:road": {rel}}}
	v1 := v0.Clone()
	v1.Attrs[tAttr] = []*ngsild.Attr{prop(12, 5)}
	v2 := v1.Clone()
	delete(v2.Attrs, "urn:road")
	v2.Scope = []string{"/Astana/Nura"}
	v3 := v2.Clone()
	v3.Attrs[tAttr] = []*ngsild.Attr{prop(12, 5)} // touched, unchanged
	evs := []store.Event{
		{Tenant: "", Op: store.OpCreate, After: v0, Attrs: []string{tAttr, "urn:road"}, Time: at(0), Seq: 1},
		{Tenant: "", Op: store.OpUpdate, Before: v0, After: v1, Attrs: []string{tAttr}, Time: at(5), Seq: 2},
		{Tenant: "", Op: store.OpDeleteAttrs, Before: v1, After: v2, Attrs: []string{"urn:road"}, Time: at(6), Seq: 3},
		{Tenant: "", Op: store.OpUpdate, Before: v2, After: v3, Attrs: []string{tAttr}, Time: at(7), Seq: 4},
	}
	if err := s.Handle(ctx, evs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := s.Handle(ctx, evs[2:]); err != nil {
		t.Fatal(err)
	}
	if s.Cursor() != 4 {
		t.Errorf("cursor %d", s.Cursor())
	}
	p := readAll(t, s, seriesOf(t, s, tEntity, tAttr, ""), Query{}, 0)
	if len(p.Instances) != 2 || p.Instances[0].Attr.Value != 10.0 || p.Instances[1].Attr.Value != 12.0 {
		t.Errorf("pm25 history: %+v", p.Instances)
	}
	road := readAll(t, s, seriesOf(t, s, tEntity, "urn:road", ""), Query{}, 0)
	if len(road.Instances) != 2 || road.Instances[1].Attr.Object != ngsild.Null || road.Instances[1].Attr.DeletedAt.IsZero() {
		t.Errorf("road history (an instance, then its deletion): %+v", road.Instances)
	}
	del := readAll(t, s, seriesOf(t, s, tEntity, "urn:road", ""), Query{Prop: DeletedAt, PropGiven: true}, 0)
	if len(del.Instances) != 1 || !del.Instances[0].Attr.DeletedAt.Equal(at(6)) {
		t.Errorf("timeproperty=deletedAt: %+v", del.Instances)
	}
	scope := readAll(t, s, seriesOf(t, s, tEntity, ScopeAttr, ""), Query{}, 0)
	if len(scope.Instances) != 2 {
		t.Errorf("scope history: %+v", scope.Instances)
	}
	for _, in := range scope.Instances {
		// Clause 4.5.6: observedAt is a copy of modifiedAt for a scope
		// changed through the Core API.
		if a := in.Attr; a.ObservedAt.IsZero() || !a.ObservedAt.Equal(a.ModifiedAt) {
			t.Errorf("scope instance observedAt %v, modifiedAt %v; want equal", a.ObservedAt, a.ModifiedAt)
		}
	}

	// The entity is deleted: every attribute gets a deletion record.
	if err := s.Handle(ctx, []store.Event{{Op: store.OpDelete, Before: v3, Time: at(9), Seq: 5}}); err != nil {
		t.Fatal(err)
	}
	info, _ := s.Entity("", tEntity)
	if !info.DeletedAt.Equal(at(9)) {
		t.Errorf("entity deletedAt %v", info.DeletedAt)
	}
	p = readAll(t, s, seriesOf(t, s, tEntity, tAttr, ""), Query{}, 0)
	if len(p.Instances) != 3 || p.Instances[2].Attr.Value != ngsild.Null {
		t.Errorf("after the entity's deletion: %+v", p.Instances)
	}

	// History turned off for the type: events are skipped, the cursor moves.
	off := false
	if _, err := s.SetConfig(Config{Enabled: true, Rules: []Rule{{Type: tType, Enabled: &off}}}); err != nil {
		t.Fatal(err)
	}
	v4 := v3.Clone()
	v4.Attrs[tAttr] = []*ngsild.Attr{prop(99, 20)}
	if err := s.Handle(ctx, []store.Event{{Op: store.OpCreate, After: v4, Time: at(20), Seq: 6}}); err != nil {
		t.Fatal(err)
	}
	if p := readAll(t, s, seriesOf(t, s, tEntity, tAttr, ""), Query{}, 0); len(p.Instances) != 3 {
		t.Errorf("recorded with history off: %+v", p.Instances)
	}
	if _, err := s.Append(ctx, Entry{ID: tEntity, Types: []string{tType}, Attrs: map[string][]*ngsild.Attr{tAttr: {prop(1, 30)}}}); err != ErrDisabled {
		t.Errorf("temporal write with history off: %v", err)
	}

	// The cursor survives a restart with the data.
	s.Close()
	s = openTest(t, dir, nil)
	if s.Cursor() != 6 {
		t.Errorf("cursor after reopen %d", s.Cursor())
	}
	if p := readAll(t, s, seriesOf(t, s, tEntity, tAttr, ""), Query{}, 0); len(p.Instances) != 3 {
		t.Errorf("after reopen: %d instances", len(p.Instances))
	}
}
