package storetest

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// valueData holds one entity per way an attribute can offer (or not offer)
// a number or a string to a ValueCond.
func valueData() []*ngsild.Entity {
	inst := func(a ngsild.Attr) []*ngsild.Attr { return []*ngsild.Attr{&a} }
	e := func(id string, attrs ...any) *ngsild.Entity {
		x := newEntity("urn:v:"+id, typeA)
		for i := 0; i+1 < len(attrs); i += 2 {
			x.Attrs[attrs[i].(string)] = attrs[i+1].([]*ngsild.Attr)
		}
		return x
	}
	return []*ngsild.Entity{
		e("int", attrLevel, prop(10.0)),
		e("float", attrLevel, prop(10.5)),
		e("negative", attrLevel, prop(-3.25)),
		e("array", attrLevel, prop([]any{1.0, []any{42.0}, "free"})),
		e("object", attrLevel, prop(map[string]any{"v": 10.0})),
		e("string", attrLevel, prop("free"), attrName, prop("free")),
		e("bool", attrLevel, prop(true)),
		e("two-instances", attrLevel, []*ngsild.Attr{{Type: ngsild.Property, Value: 1.0}, {Type: ngsild.Property, Value: 30.0, DatasetID: "urn:ds:2"}}),
		e("relationship", attrLevel, inst(ngsild.Attr{Type: ngsild.Relationship, Object: "urn:x:1", Value: 10.0})),
		e("list-relationship", attrLevel, inst(ngsild.Attr{Type: ngsild.ListRelationship, Object: []any{"urn:x:1", "urn:x:2"}})),
		e("language", attrLevel, inst(ngsild.Attr{Type: ngsild.LanguageProperty, LanguageMap: map[string]any{"en": "free", "kk": []any{"bos", "tegin"}}})),
		e("sub-attribute", attrOwner, inst(ngsild.Attr{Type: ngsild.Property, Value: "x", Sub: map[string]*ngsild.Attr{attrLevel: {Type: ngsild.Property, Value: 10.0}}})),
		e("long", attrName, prop(string(make([]byte, 300)))),
		e("none"),
	}
}

// testValues checks Query.Values against ValueCond.Match, alone and with
// the other conditions, after changes and after a reopen.
func testValues(t *testing.T, open opener, reopen reopener) {
	ctx := context.Background()
	s := open()
	data := valueData()
	var changes []store.Change
	for _, e := range data {
		changes = append(changes, create(e))
	}
	mustWrite(t, s, "v", changes...)
	inf := math.Inf(1)
	cases := []struct {
		name string
		q    store.Query
		want []string // ids without the urn:v: prefix, guarding the oracle
	}{
		{"equal", store.Query{Values: []store.ValueCond{{Attr: attrLevel, Min: 10, Max: 10}}},
			[]string{"int"}},
		{"above", store.Query{Values: []store.ValueCond{{Attr: attrLevel, Min: 10, MinOpen: true, Max: inf}}},
			[]string{"array", "float", "two-instances"}},
		{"at least", store.Query{Values: []store.ValueCond{{Attr: attrLevel, Min: 10, Max: inf}}},
			[]string{"array", "float", "int", "two-instances"}},
		{"below", store.Query{Values: []store.ValueCond{{Attr: attrLevel, Min: -inf, Max: 1, MaxOpen: true}}},
			[]string{"negative"}},
		{"range", store.Query{Values: []store.ValueCond{{Attr: attrLevel, Min: 1, Max: 10.5}}},
			[]string{"array", "float", "int", "two-instances"}},
		{"empty range", store.Query{Values: []store.ValueCond{{Attr: attrLevel, Min: 5, Max: 4}}}, nil},
		{"strings", store.Query{Values: []store.ValueCond{{Attr: attrLevel, Strings: []string{"free", "urn:x:2", "tegin"}}}},
			[]string{"array", "language", "list-relationship", "string"}},
		{"relationship object", store.Query{Values: []store.ValueCond{{Attr: attrLevel, Strings: []string{"urn:x:1"}}}},
			[]string{"list-relationship", "relationship"}},
		{"long string", store.Query{Values: []store.ValueCond{{Attr: attrName, Strings: []string{string(make([]byte, 300))}}}},
			[]string{"long"}},
		{"two conditions, two instances", store.Query{Values: []store.ValueCond{
			{Attr: attrLevel, Min: -inf, Max: 2}, {Attr: attrLevel, Min: 20, Max: inf}}},
			[]string{"array", "two-instances"}},
		{"conditions on two attributes", store.Query{Values: []store.ValueCond{
			{Attr: attrLevel, Strings: []string{"free"}}, {Attr: attrName, Strings: []string{"free"}}}},
			[]string{"string"}},
		{"unknown attribute", store.Query{Values: []store.ValueCond{{Attr: "https://example.org/ns/Never", Min: -inf, Max: inf}}}, nil},
		{"with ids", store.Query{IDs: []string{"urn:v:int", "urn:v:float"}, Values: []store.ValueCond{{Attr: attrLevel, Min: 10.2, Max: inf}}},
			[]string{"float"}},
		{"with pattern", store.Query{IDPattern: regexpOf(`^urn:v:[a-l]`), Values: []store.ValueCond{{Attr: attrLevel, Min: 0, Max: inf}}},
			[]string{"array", "float", "int"}},
		{"with filter", store.Query{Values: []store.ValueCond{{Attr: attrLevel, Min: 0, Max: inf}},
			Filter: func(e *ngsild.Entity) bool { return len(e.Attrs[attrLevel]) == 2 }, FilterAttrs: []string{attrLevel}},
			[]string{"two-instances"}},
	}
	check := func(when string) {
		for _, tc := range cases {
			want := oracle(data, tc.q)
			var short []string
			for _, e := range want {
				short = append(short, e.ID[len("urn:v:"):])
			}
			if d := cmp.Diff(tc.want, short, cmpopts.EquateEmpty()); d != "" {
				t.Fatalf("%s: oracle disagrees with the case (-case +oracle):\n%s", tc.name, d)
			}
			for _, page := range []struct{ offset, limit int }{{0, 100}, {1, 1}, {0, 0}} {
				q := tc.q
				q.Offset, q.Limit, q.Count = page.offset, page.limit, true
				res, err := s.Query(ctx, "v", q)
				if err != nil {
					t.Fatalf("%s %s: %v", when, tc.name, err)
				}
				end := min(page.offset+page.limit, len(want))
				if d := cmp.Diff(ids(want[min(page.offset, end):end]), ids(res.Entities), cmpopts.EquateEmpty()); d != "" || res.Count != len(want) {
					t.Errorf("%s %s offset %d limit %d: count %d, want %d (-want +got):\n%s", when, tc.name, page.offset, page.limit, res.Count, len(want), d)
				}
			}
		}
	}
	check("fresh")
	// Values change, move to another attribute, disappear with the entity.
	data[0] = newEntity("urn:v:int", typeA, attrLevel, 11.0)
	data[1] = newEntity("urn:v:float", typeA, attrName, 10.5)
	data = slices.DeleteFunc(data, func(e *ngsild.Entity) bool { return e.ID == "urn:v:negative" })
	mustWrite(t, s, "v", put(store.OpReplace, data[0]), put(store.OpReplace, data[1]), del("urn:v:negative"))
	cases = []struct {
		name string
		q    store.Query
		want []string
	}{
		{"after changes", store.Query{Values: []store.ValueCond{{Attr: attrLevel, Min: -inf, Max: 11}}},
			[]string{"array", "int", "two-instances"}},
		{"moved attribute", store.Query{Values: []store.ValueCond{{Attr: attrName, Min: 10.5, Max: 10.5}}},
			[]string{"float"}},
	}
	check("changed")
	s = reopen(s)
	check("reopened")
}

// testMaxBytes checks that a query holding more than MaxBytes of entities
// fails with ErrTooLarge, and that the bound counts only what is held.
func testMaxBytes(t *testing.T, open opener, _ reopener) {
	ctx := context.Background()
	s := open()
	var changes []store.Change
	for i := range 50 {
		changes = append(changes, create(newEntity(idf("urn:b:%02d", i), typeA, attrName, string(make([]byte, 1000)))))
	}
	mustWrite(t, s, "", changes...)
	q := store.Query{Types: []string{typeA}, Limit: 50, MaxBytes: 10_000}
	if _, err := s.Query(ctx, "", q); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("50 entities of 1 KB under a bound of 10 KB: %v, want ErrTooLarge", err)
	}
	q.Limit = 5
	if res, err := s.Query(ctx, "", q); err != nil || len(res.Entities) != 5 {
		t.Errorf("5 entities of 1 KB under a bound of 10 KB: %d, %v", len(res.Entities), err)
	}
	q.Limit, q.Count = 0, true
	if res, err := s.Query(ctx, "", q); err != nil || res.Count != 50 {
		t.Errorf("count under a bound of 10 KB: %d, %v", res.Count, err)
	}
	q = store.Query{Types: []string{typeA}, Limit: 50}
	if res, err := s.Query(ctx, "", q); err != nil || len(res.Entities) != 50 {
		t.Errorf("no bound: %d, %v", len(res.Entities), err)
	}
}
