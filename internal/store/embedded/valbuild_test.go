package embedded

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// A value index is built outside the write lock; what is published between
// its snapshot and its install (updates, deletions, and creations that reuse
// the recs of deleted entities) must end up in it exactly as if the index
// had been built at the install. The test writes in that window (the
// afterSnapshot hook), then compares every index with one computed from
// scratch and the planner's answers with a brute-force evaluation.
func TestValueIndexBuiltAcrossWrites(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), true)
	defer s.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 2000
	live := map[string]*ngsild.Entity{}
	var changes []store.Change
	for i := range n {
		e := genEntity(rng, genID(i))
		live[e.ID] = e
		changes = append(changes, putChange(e))
	}
	if _, err := s.Write(ctx, "", changes); err != nil {
		t.Fatal(err)
	}
	next := n
	write := func() {
		// Deletions first, then creations in another group: the new
		// entities take the recs the deleted ones left.
		var del, put []store.Change
		for range 60 {
			id := genID(rng.IntN(next))
			if live[id] == nil {
				continue
			}
			delete(live, id)
			del = append(del, store.Change{ID: id, Op: store.OpDelete, Apply: func(*ngsild.Entity) (*ngsild.Entity, []string, error) { return nil, nil, nil }})
		}
		for i := range 200 {
			id := genID(rng.IntN(next))
			if i < 60 {
				id = genID(next)
				next++
			}
			e := genEntity(rng, id)
			live[id] = e
			put = append(put, putChange(e))
		}
		for _, ch := range [][]store.Change{del, put} {
			if _, err := s.Write(ctx, "", ch); err != nil {
				t.Error(err)
			}
		}
	}
	windows := 0
	afterSnapshot = func() { windows++; write() }
	defer func() { afterSnapshot = nil }()
	for _, attr := range genAttrs {
		q := store.Query{Values: []store.ValueCond{{Attr: attr, Min: math.Inf(-1), Max: math.Inf(1)}}, Limit: 5}
		if _, err := s.Query(ctx, "", q); err != nil {
			t.Fatal(err)
		}
		q.Values[0] = store.ValueCond{Attr: attr, Strings: []string{"free", "busy"}, Min: math.Inf(-1), Max: math.Inf(1)}
		if _, err := s.Query(ctx, "", q); err != nil {
			t.Fatal(err)
		}
	}
	afterSnapshot = nil
	if windows != len(genAttrs) {
		t.Fatalf("%d builds wrote in the window, want %d (one per attribute)", windows, len(genAttrs))
	}
	write() // the indexes are maintained from now on

	tn := s.tenant("")
	tn.mu.RLock()
	for _, attr := range genAttrs {
		sym, ok := s.syms.lookup(attr)
		if !ok {
			t.Fatalf("%s: no symbol", attr)
		}
		x := tn.vals[sym]
		if x == nil {
			t.Fatalf("%s: no value index", attr)
		}
		var want valEntries
		only := func(a uint32) bool { return a == sym }
		tn.attrs[sym].Scan(func(r *rec) bool {
			keys, err := valuesOf(r.data(), only, true)
			if err != nil {
				t.Fatal(err)
			}
			want.add(r, keys)
			return true
		})
		slices.SortFunc(want.nums, cmpNumBuild)
		slices.SortFunc(want.strs, cmpStrBuild)
		var got valEntries
		x.nums.Scan(func(e numEnt) bool {
			if tn.byID.Get(e.r.id) != e.r {
				t.Errorf("%s: the index holds a rec not in the tenant (%q)", attr, e.r.id)
			}
			got.nums = append(got.nums, numBuild{e.v, e.r.id, e.r})
			return true
		})
		x.strs.Scan(func(e strEnt) bool {
			got.strs = append(got.strs, strBuild{e.s, e.r.id, e.r})
			return true
		})
		if d := cmp.Diff(want.nums, got.nums, cmp.AllowUnexported(numBuild{}), cmp.Comparer(func(a, b *rec) bool { return a == b })); d != "" {
			t.Errorf("%s: numbers (-from scratch +built):\n%s", attr, d)
		}
		if d := cmp.Diff(want.strs, got.strs, cmp.AllowUnexported(strBuild{}), cmp.Comparer(func(a, b *rec) bool { return a == b })); d != "" {
			t.Errorf("%s: strings (-from scratch +built):\n%s", attr, d)
		}
		if x.multi != want.multi {
			t.Errorf("%s: multi %d, want %d", attr, x.multi, want.multi)
		}
	}
	tn.mu.RUnlock()

	checkQueries(t, s, live, rng, next, "after the builds", 500)
}
