package storetest

import (
	"context"
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// queryData is the suite's query data set: 60 entities of types A and B
// (some both), with attributes present by rules on their number, so that
// every condition selects a different subset.
func queryData() []*ngsild.Entity {
	var out []*ngsild.Entity
	for i := 0; i < 60; i++ {
		var e *ngsild.Entity
		if i%2 == 0 {
			e = newEntity(idf("urn:ngsi-ld:Streetlight:%02d", i), typeA)
		} else {
			e = newEntity(idf("urn:ngsi-ld:Sensor:%02d", i), typeB)
		}
		if i%7 == 0 {
			e.Types = append(e.Types, typeB)
		}
		if i%3 == 0 {
			e.Attrs[attrLevel] = prop(float64(i))
		}
		if i%4 == 0 {
			e.Attrs[attrName] = prop(idf("name %d", i))
		}
		if i%5 == 0 {
			e.Attrs[attrOwner] = []*ngsild.Attr{{Type: ngsild.Relationship, Object: "urn:ngsi-ld:Person:1"}}
		}
		out = append(out, e)
	}
	return out
}

// oracle answers q over the data set by brute force.
func oracle(data []*ngsild.Entity, q store.Query) []*ngsild.Entity {
	var out []*ngsild.Entity
	for _, e := range data {
		if q.IDs != nil && !slices.Contains(q.IDs, e.ID) {
			continue
		}
		if q.IDPattern != nil && !q.IDPattern.MatchString(e.ID) {
			continue
		}
		if len(q.Types) > 0 && !slices.ContainsFunc(q.Types, e.HasType) {
			continue
		}
		if len(q.Attrs) > 0 && !slices.ContainsFunc(q.Attrs, func(a string) bool { return e.Attrs[a] != nil }) {
			continue
		}
		if q.Filter != nil && !q.Filter(e) {
			continue
		}
		if !slices.ContainsFunc(q.Values, func(c store.ValueCond) bool { return !c.Match(e) }) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func testQuery(t *testing.T, open opener, _ reopener) {
	ctx := context.Background()
	s := open()
	data := queryData()
	var changes []store.Change
	for _, e := range data {
		changes = append(changes, create(e))
	}
	// Another tenant holds the same ids with other types: it must never leak.
	var other []store.Change
	for _, e := range data[:10] {
		other = append(other, create(newEntity(e.ID, typeC, attrLevel, 1.0)))
	}
	mustWrite(t, s, "q", changes...)
	mustWrite(t, s, "other", other...)

	levelOver := func(n float64) func(*ngsild.Entity) bool {
		return func(e *ngsild.Entity) bool { return num(e, attrLevel) > n }
	}
	cases := []struct {
		name string
		q    store.Query
		want int // expected matches, guarding the oracle itself
	}{
		{"all", store.Query{}, 60},
		{"ids", store.Query{IDs: []string{"urn:ngsi-ld:Sensor:05", "urn:ngsi-ld:Streetlight:00", "urn:nope", "urn:ngsi-ld:Sensor:05"}}, 2},
		{"empty ids", store.Query{IDs: []string{}}, 0},
		{"prefix pattern", store.Query{IDPattern: regexp.MustCompile(`^urn:ngsi-ld:Streetlight:`)}, 30},
		{"prefix pattern with tail", store.Query{IDPattern: regexp.MustCompile(`^urn:ngsi-ld:Sensor:[0-2]1$`)}, 3},
		{"unanchored pattern", store.Query{IDPattern: regexp.MustCompile(`light:1`)}, 5},
		{"case-insensitive pattern", store.Query{IDPattern: regexp.MustCompile(`(?i)^URN:NGSI-LD:SENSOR`)}, 30},
		{"alternation pattern", store.Query{IDPattern: regexp.MustCompile(`^urn:ngsi-ld:Sensor:0|Streetlight:1`)}, 10},
		{"type", store.Query{Types: []string{typeA}}, 30},
		{"type B includes multi-typed", store.Query{Types: []string{typeB}}, 35},
		{"types union", store.Query{Types: []string{typeA, typeB}}, 60},
		{"type unused here", store.Query{Types: []string{typeC}}, 0},
		{"type unknown", store.Query{Types: []string{"https://example.org/ns/Never"}}, 0},
		{"attr", store.Query{Attrs: []string{attrLevel}}, 20},
		{"attrs union", store.Query{Attrs: []string{attrName, attrOwner}}, 24},
		{"type and attr", store.Query{Types: []string{typeB}, Attrs: []string{attrName}}, 3},
		{"ids and type", store.Query{IDs: []string{"urn:ngsi-ld:Streetlight:00", "urn:ngsi-ld:Streetlight:02"}, Types: []string{typeB}}, 1},
		{"pattern and attr", store.Query{IDPattern: regexp.MustCompile(`^urn:ngsi-ld:Streetlight:`), Attrs: []string{attrOwner}}, 6},
		{"filter", store.Query{Filter: levelOver(30)}, 9},
		{"filter and type", store.Query{Types: []string{typeA}, Filter: levelOver(30)}, 4},
		{"filter and attr", store.Query{Attrs: []string{attrName}, Filter: levelOver(0)}, 4},
		{"filter on named attrs", store.Query{Filter: levelOver(30), FilterAttrs: []string{attrLevel}}, 9},
		{"filter on unknown attr", store.Query{Filter: func(e *ngsild.Entity) bool { return e.Attrs["https://example.org/ns/Never"] == nil },
			FilterAttrs: []string{"https://example.org/ns/Never"}}, 60},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := oracle(data, tc.q)
			if len(want) != tc.want {
				t.Fatalf("oracle finds %d, case says %d", len(want), tc.want)
			}
			// One page with everything.
			q := tc.q
			q.Limit, q.Count = 1000, true
			res, err := s.Query(ctx, "q", q)
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			if d := cmp.Diff(want, res.Entities, entityOpts); d != "" {
				t.Fatalf("entities (-want +got):\n%s", d)
			}
			if res.Count != len(want) {
				t.Errorf("Count = %d, want %d", res.Count, len(want))
			}
			// Pages of 7 add up to the same, in order; Count on every page.
			var paged []string
			for off := 0; off < len(want)+7; off += 7 {
				q := tc.q
				q.Offset, q.Limit, q.Count = off, 7, true
				res, err := s.Query(ctx, "q", q)
				if err != nil {
					t.Fatalf("Query offset %d: %v", off, err)
				}
				if res.Count != len(want) {
					t.Errorf("offset %d: Count = %d, want %d", off, res.Count, len(want))
				}
				if len(res.Entities) > 7 {
					t.Errorf("offset %d: %d entities over limit 7", off, len(res.Entities))
				}
				paged = append(paged, ids(res.Entities)...)
			}
			if d := cmp.Diff(ids(want), paged, entityOpts); d != "" {
				t.Errorf("paged ids (-want +got):\n%s", d)
			}
			// Limit 0 returns nothing but still counts; without Count, Count is 0.
			q = tc.q
			q.Limit, q.Count = 0, true
			if res, err := s.Query(ctx, "q", q); err != nil || len(res.Entities) != 0 || res.Count != len(want) {
				t.Errorf("limit 0: %d entities, Count %d, %v; want 0, %d", len(res.Entities), res.Count, err, len(want))
			}
			q = tc.q
			q.Limit = 3
			if res, err := s.Query(ctx, "q", q); err != nil || res.Count != 0 || !cmp.Equal(ids(res.Entities), ids(want[:min(3, len(want))]), entityOpts) {
				t.Errorf("limit 3 without Count: %v, Count %d, %v", ids(res.Entities), res.Count, err)
			}
		})
	}

	t.Run("after changes", func(t *testing.T) {
		// Indexes follow updates that change types and attributes, and deletes.
		id := "urn:ngsi-ld:Streetlight:00"
		retype := store.Change{ID: id, Op: store.OpReplace, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
			return newEntity(id, typeC, attrOwner, "x"), nil, nil
		}}
		mustWrite(t, s, "q", retype, del("urn:ngsi-ld:Sensor:01"))
		res, err := s.Query(ctx, "q", store.Query{Types: []string{typeA}, Limit: 1000, Count: true})
		if err != nil || res.Count != 29 || slices.Contains(ids(res.Entities), id) {
			t.Errorf("type A after retype: count %d, %v", res.Count, err)
		}
		res, err = s.Query(ctx, "q", store.Query{Attrs: []string{attrLevel}, Limit: 1000, Count: true})
		if err != nil || res.Count != 19 {
			t.Errorf("attr level after retype: count %d, %v; want 19", res.Count, err)
		}
		res, err = s.Query(ctx, "q", store.Query{Types: []string{typeC}, Limit: 1000, Count: true})
		if err != nil || !cmp.Equal(ids(res.Entities), []string{id}) {
			t.Errorf("type C after retype: %v, %v", ids(res.Entities), err)
		}
		res, err = s.Query(ctx, "q", store.Query{IDPattern: regexp.MustCompile(`^urn:ngsi-ld:Sensor:`), Limit: 1000, Count: true})
		if err != nil || res.Count != 29 {
			t.Errorf("sensors after delete: count %d, %v; want 29", res.Count, err)
		}
	})
}
