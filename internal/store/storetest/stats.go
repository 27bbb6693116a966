package storetest

import (
	"context"
	"errors"
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// statsOracle computes what Types and Attributes must answer for a tenant
// holding exactly these entities, by reading every one of them.
func statsOracle(es []*ngsild.Entity) ([]store.TypeStat, []store.AttrStat) {
	type acc struct {
		entities, instances int
		kinds               map[ngsild.AttrType]bool
		types               map[string]bool
	}
	count := func(m map[string]*acc, name string, insts []*ngsild.Attr, typ []string) {
		a := m[name]
		if a == nil {
			a = &acc{kinds: map[ngsild.AttrType]bool{}, types: map[string]bool{}}
			m[name] = a
		}
		a.entities++
		a.instances += len(insts)
		for _, in := range insts {
			a.kinds[in.Type] = true
		}
		for _, t := range typ {
			a.types[t] = true
		}
	}
	finish := func(m map[string]*acc, withTypes bool) []store.AttrStat {
		out := []store.AttrStat{}
		for name, a := range m {
			s := store.AttrStat{Name: name, Entities: a.entities, Instances: a.instances}
			for k := range a.kinds {
				s.Kinds = append(s.Kinds, k)
			}
			slices.Sort(s.Kinds)
			if withTypes {
				for t := range a.types {
					s.Types = append(s.Types, t)
				}
				slices.Sort(s.Types)
			}
			out = append(out, s)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	typeCount := map[string]int{}
	typeAttrs := map[string]map[string]*acc{}
	all := map[string]*acc{}
	for _, e := range es {
		types := slices.Compact(slices.Sorted(slices.Values(e.Types)))
		for _, t := range types {
			typeCount[t]++
			if typeAttrs[t] == nil {
				typeAttrs[t] = map[string]*acc{}
			}
			for name, insts := range e.Attrs {
				count(typeAttrs[t], name, insts, nil)
			}
		}
		for name, insts := range e.Attrs {
			count(all, name, insts, types)
		}
	}
	ts := []store.TypeStat{}
	for t, n := range typeCount {
		ts = append(ts, store.TypeStat{Type: t, Entities: n, Attrs: finish(typeAttrs[t], false)})
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Type < ts[j].Type })
	return ts, finish(all, true)
}

// checkStats compares Types and Attributes of a tenant with the oracle over
// the tenant's entities (read with Query).
func checkStats(t *testing.T, s store.Store, tenant, when string) {
	t.Helper()
	ctx := context.Background()
	res, err := s.Query(ctx, tenant, store.Query{Limit: math.MaxInt})
	if err != nil {
		t.Fatalf("%s: Query: %v", when, err)
	}
	wantTypes, wantAttrs := statsOracle(res.Entities)
	gotTypes, err := s.Types(ctx, tenant)
	if err != nil {
		t.Fatalf("%s: Types: %v", when, err)
	}
	gotAttrs, err := s.Attributes(ctx, tenant)
	if err != nil {
		t.Fatalf("%s: Attributes: %v", when, err)
	}
	if d := cmp.Diff(wantTypes, gotTypes, entityOpts); d != "" {
		t.Errorf("%s: Types (-want +got):\n%s", when, d)
	}
	if d := cmp.Diff(wantAttrs, gotAttrs, entityOpts); d != "" {
		t.Errorf("%s: Attributes (-want +got):\n%s", when, d)
	}
}

// dropAttr removes an attribute of an existing entity, on a clone.
func dropAttr(id, name string) store.Change {
	return store.Change{ID: id, Op: store.OpDeleteAttrs, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		if before == nil {
			return nil, nil, errMissing
		}
		after := before.Clone()
		delete(after.Attrs, name)
		return after, []string{name}, nil
	}}
}

func testStats(t *testing.T, open opener, reopen reopener) {
	ctx := context.Background()
	s := open()

	// An empty default tenant has no types; an unknown tenant does not exist.
	checkStats(t, s, store.DefaultTenant, "empty")
	if _, err := s.Types(ctx, "nowhere"); !errors.Is(err, store.ErrNoTenant) {
		t.Errorf("Types of an unknown tenant: %v, want ErrNoTenant", err)
	}
	if _, err := s.Attributes(ctx, "nowhere"); !errors.Is(err, store.ErrNoTenant) {
		t.Errorf("Attributes of an unknown tenant: %v, want ErrNoTenant", err)
	}

	multi := newEntity("urn:ngsi-ld:M:1", typeA, attrLevel, 3.0)
	multi.Types = []string{typeA, typeB}
	multi.Attrs[attrOwner] = []*ngsild.Attr{{Type: ngsild.Relationship, Object: "urn:ngsi-ld:P:1"},
		{Type: ngsild.Property, Value: "x", DatasetID: "urn:ngsi-ld:ds:1"}}
	geo := newEntity("urn:ngsi-ld:B:1", typeB, attrName, "b1")
	geo.Attrs[attrGeo] = []*ngsild.Attr{{Type: ngsild.GeoProperty,
		Value: map[string]any{"type": "Point", "coordinates": []any{1.0, 2.0}}}}
	mustWrite(t, s, store.DefaultTenant,
		create(newEntity("urn:ngsi-ld:A:1", typeA, attrLevel, 1.0, attrName, "a1")),
		create(newEntity("urn:ngsi-ld:A:2", typeA, attrLevel, 2.0)),
		create(multi), create(geo))

	// The oracle itself, checked by hand once.
	types, err := s.Types(ctx, store.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.TypeStat{
		{Type: typeB, Entities: 2, Attrs: []store.AttrStat{
			{Name: attrLevel, Entities: 1, Instances: 1, Kinds: []ngsild.AttrType{ngsild.Property}},
			{Name: attrName, Entities: 1, Instances: 1, Kinds: []ngsild.AttrType{ngsild.Property}},
			{Name: attrOwner, Entities: 1, Instances: 2, Kinds: []ngsild.AttrType{ngsild.Property, ngsild.Relationship}},
			{Name: attrGeo, Entities: 1, Instances: 1, Kinds: []ngsild.AttrType{ngsild.GeoProperty}},
		}},
		{Type: typeA, Entities: 3, Attrs: []store.AttrStat{
			{Name: attrLevel, Entities: 3, Instances: 3, Kinds: []ngsild.AttrType{ngsild.Property}},
			{Name: attrName, Entities: 1, Instances: 1, Kinds: []ngsild.AttrType{ngsild.Property}},
			{Name: attrOwner, Entities: 1, Instances: 2, Kinds: []ngsild.AttrType{ngsild.Property, ngsild.Relationship}},
		}},
	}
	if d := cmp.Diff(want, types, entityOpts); d != "" {
		t.Errorf("Types after create (-want +got):\n%s", d)
	}
	attrs, err := s.Attributes(ctx, store.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs := []store.AttrStat{
		{Name: attrLevel, Entities: 3, Instances: 3, Kinds: []ngsild.AttrType{ngsild.Property}, Types: []string{typeB, typeA}},
		{Name: attrName, Entities: 2, Instances: 2, Kinds: []ngsild.AttrType{ngsild.Property}, Types: []string{typeB, typeA}},
		{Name: attrOwner, Entities: 1, Instances: 2, Kinds: []ngsild.AttrType{ngsild.Property, ngsild.Relationship}, Types: []string{typeB, typeA}},
		{Name: attrGeo, Entities: 1, Instances: 1, Kinds: []ngsild.AttrType{ngsild.GeoProperty}, Types: []string{typeB}},
	}
	if d := cmp.Diff(wantAttrs, attrs, entityOpts); d != "" {
		t.Errorf("Attributes after create (-want +got):\n%s", d)
	}
	checkStats(t, s, store.DefaultTenant, "after create")

	// Updates that add and remove attributes, a replace that changes the
	// type, and several changes to one id within one Write.
	mustWrite(t, s, store.DefaultTenant, setAttr("urn:ngsi-ld:A:2", attrCount, 7.0))
	checkStats(t, s, store.DefaultTenant, "after adding an attribute")
	mustWrite(t, s, store.DefaultTenant, dropAttr("urn:ngsi-ld:A:1", attrName), dropAttr("urn:ngsi-ld:M:1", attrOwner))
	checkStats(t, s, store.DefaultTenant, "after removing attributes")
	mustWrite(t, s, store.DefaultTenant, put(store.OpReplace, newEntity("urn:ngsi-ld:A:2", typeC, attrName, "now C")))
	checkStats(t, s, store.DefaultTenant, "after replacing with another type")
	mustWrite(t, s, store.DefaultTenant,
		create(newEntity("urn:ngsi-ld:C:9", typeC, attrLevel, 9.0)),
		setAttr("urn:ngsi-ld:C:9", attrCount, 1.0),
		dropAttr("urn:ngsi-ld:C:9", attrLevel),
		del("urn:ngsi-ld:B:1"),
		create(newEntity("urn:ngsi-ld:B:1", typeB, attrOwner, "again")))
	checkStats(t, s, store.DefaultTenant, "after several changes to one id in a Write")

	// A failed change and a no-op change nothing.
	write(t, s, store.DefaultTenant, create(newEntity("urn:ngsi-ld:A:1", typeB, attrGeo, 1.0)))
	checkStats(t, s, store.DefaultTenant, "after a rejected change")

	// Tenants are isolated.
	mustWrite(t, s, "other", create(newEntity("urn:ngsi-ld:O:1", typeC, attrCount, 1.0)))
	checkStats(t, s, "other", "other tenant")
	checkStats(t, s, store.DefaultTenant, "default tenant beside another")

	// Deleting every entity of a type removes the type and its attributes.
	mustWrite(t, s, store.DefaultTenant, del("urn:ngsi-ld:A:1"), del("urn:ngsi-ld:M:1"))
	types, err = s.Types(ctx, store.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range types {
		if ts.Type == typeA {
			t.Errorf("type %s is still listed after its last entity was deleted: %+v", typeA, ts)
		}
	}
	checkStats(t, s, store.DefaultTenant, "after deletes")

	// The statistics survive a restart.
	beforeTypes, _ := s.Types(ctx, store.DefaultTenant)
	beforeAttrs, _ := s.Attributes(ctx, store.DefaultTenant)
	s = reopen(s)
	afterTypes, err := s.Types(ctx, store.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	afterAttrs, err := s.Attributes(ctx, store.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(beforeTypes, afterTypes, entityOpts); d != "" {
		t.Errorf("Types after reopen (-before +after):\n%s", d)
	}
	if d := cmp.Diff(beforeAttrs, afterAttrs, entityOpts); d != "" {
		t.Errorf("Attributes after reopen (-before +after):\n%s", d)
	}
	checkStats(t, s, store.DefaultTenant, "after reopen")
	checkStats(t, s, "other", "other tenant after reopen")
}
