// Package storetest is the behaviour suite every store.Store implementation
// runs: the embedded store now, PostgreSQL later. It checks the contract
// written on store.Store and store.Change.
package storetest

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// Opener opens the store whose durable state is kept under dir, a directory
// the suite creates empty for each subtest. Opening again with the same dir
// after Close must give back everything acknowledged before (a store with no
// local files, such as PostgreSQL, derives its database or schema from dir).
// The suite closes every store it opens.
type Opener func(t *testing.T, dir string) store.Store

// Run runs the suite against the stores that open makes.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() store.Store, reopen func(store.Store) store.Store)
	}{
		{"CreateGetDelete", testCreateGetDelete},
		{"RoundTrip", testRoundTrip},
		{"ApplyErrorRejectsOnlyItsChange", testApplyError},
		{"NoOp", testNoOp},
		{"OrderWithinWrite", testOrderWithinWrite},
		{"Tenants", testTenants},
		{"Query", testQuery},
		{"GeoBox", testGeoBox},
		{"GeoMatch", testGeoMatch},
		{"Values", testValues},
		{"MaxBytes", testMaxBytes},
		{"Events", testEvents},
		{"Log", testLog},
		{"Follower", testFollower},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Reopen", testReopen},
		{"Stats", testStats},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var mu sync.Mutex
			var opened []store.Store
			openFn := func() store.Store {
				s := open(t, dir)
				mu.Lock()
				opened = append(opened, s)
				mu.Unlock()
				return s
			}
			reopen := func(s store.Store) store.Store {
				if err := s.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return openFn()
			}
			t.Cleanup(func() {
				for _, s := range opened {
					_ = s.Close() // ErrClosed for those already closed
				}
			})
			tc.fn(t, openFn, reopen)
		})
	}
}

type (
	opener   = func() store.Store
	reopener = func(store.Store) store.Store
)

func testCreateGetDelete(t *testing.T, open opener, _ reopener) {
	ctx := context.Background()
	s := open()
	e := newEntity("urn:ngsi-ld:Streetlight:1", typeA, attrLevel, 3.0)
	if _, err := s.Get(ctx, store.DefaultTenant, e.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get before create: err = %v, want ErrNotFound", err)
	}
	mustWrite(t, s, store.DefaultTenant, create(e))
	wantEntity(t, mustGet(t, s, store.DefaultTenant, e.ID), e)

	errs := write(t, s, store.DefaultTenant, create(e))
	if !errors.Is(errs[0], errExists) {
		t.Fatalf("second create: err = %v, want the Apply error passed through", errs[0])
	}
	mustWrite(t, s, store.DefaultTenant, del(e.ID))
	if _, err := s.Get(ctx, store.DefaultTenant, e.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after delete: err = %v, want ErrNotFound", err)
	}
	if c := s.Count(ctx)[store.DefaultTenant]; c != 0 {
		t.Errorf("Count after delete = %d, want 0", c)
	}
	// Re-creating a deleted entity starts afresh.
	e2 := newEntity(e.ID, typeB, attrName, "again")
	mustWrite(t, s, store.DefaultTenant, create(e2))
	wantEntity(t, mustGet(t, s, store.DefaultTenant, e.ID), e2)
	res, err := s.Query(ctx, store.DefaultTenant, store.Query{Types: []string{typeA}, Limit: 10, Count: true})
	if err != nil || res.Count != 0 || len(res.Entities) != 0 {
		t.Errorf("query old type after re-create = %v, %d, %v; want none", ids(res.Entities), res.Count, err)
	}
}

// richEntity uses every attribute kind and member of the model.
func richEntity(id string) *ngsild.Entity {
	local := time.FixedZone("X", 3600)
	return &ngsild.Entity{
		ID:         id,
		Types:      []string{typeA, typeB},
		Scope:      []string{"/Madrid/Gardens", "/Company/Office"},
		CreatedAt:  t0,
		ModifiedAt: time.Date(2026, 2, 3, 4, 5, 6, 123456789, local),
		Attrs: map[string][]*ngsild.Attr{
			attrLevel: {
				{Type: ngsild.Property, Value: 12.5, UnitCode: "CEL", ObservedAt: t0, CreatedAt: t0, ModifiedAt: t0,
					Sub: map[string]*ngsild.Attr{
						"https://example.org/ns/accuracy": {Type: ngsild.Property, Value: 0.1,
							Sub: map[string]*ngsild.Attr{"https://example.org/ns/deep": {Type: ngsild.Property, Value: math.Copysign(0, -1)}}},
						"https://example.org/ns/source": {Type: ngsild.Relationship, Object: "urn:ngsi-ld:Device:1"},
					}},
				{Type: ngsild.Property, Value: -7.0, DatasetID: "urn:ngsi-ld:Dataset:raw"},
			},
			attrName: {{Type: ngsild.LanguageProperty, LanguageMap: map[string]any{"en": "Lamp", "es": []any{"Farola", "Luz"}}}},
			attrOwner: {{Type: ngsild.Relationship, Object: []any{"urn:ngsi-ld:Person:1", "urn:ngsi-ld:Person:2"},
				ObjectType: "https://example.org/ns/Person"}},
			attrGeo:                           {{Type: ngsild.GeoProperty, Value: map[string]any{"type": "Point", "coordinates": []any{-3.7, 40.4}}}},
			"https://example.org/ns/category": {{Type: ngsild.VocabProperty, Value: []any{"https://example.org/ns/a", "https://example.org/ns/b"}}},
			"https://example.org/ns/config": {{Type: ngsild.JsonProperty, Value: map[string]any{
				"nested": map[string]any{"n": nil, "t": true, "f": false, "big": 1e300, "neg": -12345678901.0, "frac": 0.25},
				"list":   []any{1.0, "two", []any{}, map[string]any{}},
			}}},
			"https://example.org/ns/list": {{Type: ngsild.ListProperty, Value: []any{3.0, 1.0, 2.0}}},
			"https://example.org/ns/rels": {{Type: ngsild.ListRelationship, Object: []any{"urn:a", "urn:b"}}},
			"https://example.org/ns/old":  {{Type: ngsild.Property, Value: "x", DeletedAt: t0}},
			"https://example.org/ns/long": {{Type: ngsild.Property, Value: string(make([]byte, 5000))}},
		},
	}
}

func testRoundTrip(t *testing.T, open opener, reopen reopener) {
	s := open()
	e := richEntity("urn:ngsi-ld:Rich:1")
	mustWrite(t, s, "rich", put(store.OpCreate, e))
	wantEntity(t, mustGet(t, s, "rich", e.ID), e)
	s = reopen(s)
	wantEntity(t, mustGet(t, s, "rich", e.ID), e)
}

func testApplyError(t *testing.T, open opener, _ reopener) {
	ctx := context.Background()
	s := open()
	boom := errors.New("boom")
	a := newEntity("urn:a", typeA)
	c := newEntity("urn:c", typeA)
	rec, cancel := record(s)
	defer cancel()
	errs := write(t, s, store.DefaultTenant,
		put(store.OpCreate, a),
		store.Change{ID: "urn:b", Op: store.OpCreate, Apply: func(*ngsild.Entity) (*ngsild.Entity, []string, error) {
			return nil, nil, boom
		}},
		put(store.OpCreate, c),
	)
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], boom) {
		t.Fatalf("errs = %v, want [nil boom nil]", errs)
	}
	mustGet(t, s, store.DefaultTenant, "urn:a")
	mustGet(t, s, store.DefaultTenant, "urn:c")
	if _, err := s.Get(ctx, store.DefaultTenant, "urn:b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rejected change was stored: Get err = %v", err)
	}
	if got := len(rec.events()); got != 2 {
		t.Errorf("got %d events, want 2 (none for the rejected change)", got)
	}
	// A Write whose every change fails creates no tenant.
	errs = write(t, s, "ghost", del("urn:nothing"))
	if !errors.Is(errs[0], errMissing) {
		t.Errorf("errs = %v, want errMissing", errs)
	}
	if s.HasTenant(ctx, "ghost") {
		t.Errorf("a Write with no successful change created its tenant")
	}
}

func testNoOp(t *testing.T, open opener, _ reopener) {
	ctx := context.Background()
	s := open()
	e := newEntity("urn:n", typeA, attrLevel, 1.0)
	mustWrite(t, s, store.DefaultTenant, create(e))
	rec, cancel := record(s)
	defer cancel()
	var saw *ngsild.Entity
	noop := store.Change{ID: e.ID, Op: store.OpAppend, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		saw = before
		return before, nil, nil
	}}
	mustWrite(t, s, store.DefaultTenant, noop)
	if saw == nil {
		t.Fatal("Apply was not given the existing entity")
	}
	wantEntity(t, mustGet(t, s, store.DefaultTenant, e.ID), e)
	if evs := rec.events(); len(evs) != 0 {
		t.Errorf("no-op emitted %d events", len(evs))
	}
	// A no-op on a missing entity in a new tenant neither writes nor creates it.
	mustWrite(t, s, "quiet", store.Change{ID: "urn:x", Op: store.OpMerge,
		Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) { return before, nil, nil }})
	if s.HasTenant(ctx, "quiet") {
		t.Error("a no-op Write created its tenant")
	}
	if evs := rec.events(); len(evs) != 0 {
		t.Errorf("no-op emitted %d events", len(evs))
	}
}

func testOrderWithinWrite(t *testing.T, open opener, _ reopener) {
	s := open()
	rec, cancel := record(s)
	defer cancel()
	id := "urn:ngsi-ld:Counter:1"
	mustWrite(t, s, store.DefaultTenant,
		create(newEntity(id, typeA, attrCount, 1.0)),
		setAttr(id, attrCount, 2.0),
		del(id),
		create(newEntity(id, typeB, attrCount, 10.0)),
		setAttr(id, attrCount, 11.0),
	)
	got := mustGet(t, s, store.DefaultTenant, id)
	if num(got, attrCount) != 11 || !got.HasType(typeB) {
		t.Errorf("final state counter = %v types = %v; want 11 of type B", num(got, attrCount), got.Types)
	}
	evs := rec.events()
	wantOps := []store.Operation{store.OpCreate, store.OpUpdate, store.OpDelete, store.OpCreate, store.OpUpdate}
	var ops []store.Operation
	for _, ev := range evs {
		ops = append(ops, ev.Op)
	}
	if d := cmp.Diff(wantOps, ops); d != "" {
		t.Fatalf("event ops (-want +got):\n%s", d)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Before != evs[i-1].After {
			t.Errorf("event %d: Before is not the previous change's After", i)
		}
		if evs[i].Seq <= evs[i-1].Seq {
			t.Errorf("event %d: Seq %d not after %d", i, evs[i].Seq, evs[i-1].Seq)
		}
	}
}

func testTenants(t *testing.T, open opener, _ reopener) {
	ctx := context.Background()
	s := open()
	if !s.HasTenant(ctx, store.DefaultTenant) {
		t.Error("DefaultTenant does not exist")
	}
	if ts, err := s.Tenants(ctx); err != nil || !slices.Contains(ts, store.DefaultTenant) {
		t.Errorf("Tenants() = %q, %v; want DefaultTenant included", ts, err)
	}
	if _, err := s.Query(ctx, store.DefaultTenant, store.Query{Limit: 10}); err != nil {
		t.Errorf("Query of empty DefaultTenant: %v", err)
	}
	if s.HasTenant(ctx, "city") {
		t.Error("HasTenant(city) before any write")
	}
	if _, err := s.Get(ctx, "city", "urn:x"); !errors.Is(err, store.ErrNoTenant) {
		t.Errorf("Get in unknown tenant: err = %v, want ErrNoTenant", err)
	}
	if _, err := s.Query(ctx, "city", store.Query{Limit: 10}); !errors.Is(err, store.ErrNoTenant) {
		t.Errorf("Query in unknown tenant: err = %v, want ErrNoTenant", err)
	}
	id := "urn:ngsi-ld:Thing:1"
	mustWrite(t, s, store.DefaultTenant, create(newEntity(id, typeA, attrName, "default")))
	mustWrite(t, s, "city", create(newEntity(id, typeB, attrName, "city")))
	if !s.HasTenant(ctx, "city") {
		t.Error("tenant not created by its first write")
	}
	ts, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ts)
	if d := cmp.Diff([]string{store.DefaultTenant, "city"}, ts); d != "" {
		t.Errorf("Tenants (-want +got):\n%s", d)
	}
	if v := mustGet(t, s, "city", id).Instance(attrName, "").Value; v != "city" {
		t.Errorf("tenant city sees %v", v)
	}
	if v := mustGet(t, s, store.DefaultTenant, id).Instance(attrName, "").Value; v != "default" {
		t.Errorf("default tenant sees %v", v)
	}
	res, err := s.Query(ctx, "city", store.Query{Types: []string{typeA}, Limit: 10})
	if err != nil || len(res.Entities) != 0 {
		t.Errorf("type A in tenant city = %v, %v; want none (it is in the default tenant)", ids(res.Entities), err)
	}
	mustWrite(t, s, "city", del(id))
	if !s.HasTenant(ctx, "city") {
		t.Error("tenant vanished when its last entity was deleted")
	}
	want := map[string]int{store.DefaultTenant: 1, "city": 0}
	if d := cmp.Diff(want, s.Count(ctx)); d != "" {
		t.Errorf("Count (-want +got):\n%s", d)
	}
}

func testEvents(t *testing.T, open opener, _ reopener) {
	s := open()
	rec, cancel := record(s)
	id := "urn:ngsi-ld:E:1"
	e := newEntity(id, typeA, attrLevel, 1.0)
	mustWrite(t, s, "ev", create(e))
	mustWrite(t, s, "ev", setAttr(id, attrLevel, 2.0), create(newEntity("urn:ngsi-ld:E:2", typeB)))
	mustWrite(t, s, "ev", del(id))
	evs := rec.events()
	if len(evs) != 4 {
		t.Fatalf("got %d events, want 4", len(evs))
	}
	check := func(i int, op store.Operation, before, after bool, attrs []string) {
		t.Helper()
		ev := evs[i]
		if ev.Op != op || (ev.Before != nil) != before || (ev.After != nil) != after || ev.Tenant != "ev" {
			t.Errorf("event %d = %s tenant %q before %v after %v; want %s before %v after %v",
				i, ev.Op, ev.Tenant, ev.Before != nil, ev.After != nil, op, before, after)
		}
		if attrs != nil && !cmp.Equal(attrs, ev.Attrs) {
			t.Errorf("event %d Attrs = %v, want %v", i, ev.Attrs, attrs)
		}
		if ev.Time.IsZero() {
			t.Errorf("event %d has no Time", i)
		}
		if i > 0 && ev.Seq <= evs[i-1].Seq {
			t.Errorf("event %d Seq %d not after %d", i, ev.Seq, evs[i-1].Seq)
		}
	}
	check(0, store.OpCreate, false, true, []string{attrLevel})
	check(1, store.OpUpdate, true, true, []string{attrLevel})
	check(2, store.OpCreate, false, true, nil)
	check(3, store.OpDelete, true, false, nil)
	if num(evs[1].Before, attrLevel) != 1 || num(evs[1].After, attrLevel) != 2 {
		t.Errorf("update event Before/After levels = %v/%v, want 1/2", num(evs[1].Before, attrLevel), num(evs[1].After, attrLevel))
	}
	wantEntity(t, evs[0].After, e)
	cancel()
	mustWrite(t, s, "ev", del("urn:ngsi-ld:E:2"))
	if evs := rec.events(); len(evs) != 0 {
		t.Errorf("cancelled subscriber got %d events", len(evs))
	}
}

func testConcurrentWriters(t *testing.T, open opener, _ reopener) {
	s := open()
	id := "urn:ngsi-ld:Counter:shared"
	mustWrite(t, s, store.DefaultTenant, create(newEntity(id, typeA, attrCount, 0.0)))
	var mu sync.Mutex
	var seqs []uint64
	cancel := s.Subscribe(func(evs []store.Event) {
		mu.Lock()
		for _, ev := range evs {
			seqs = append(seqs, ev.Seq)
		}
		mu.Unlock()
	})
	defer cancel()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				inc := store.Change{ID: id, Op: store.OpUpdate, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
					after := before.Clone()
					after.Attrs[attrCount] = prop(num(before, attrCount) + 1)
					return after, []string{attrCount}, nil
				}}
				errs, err := s.Write(context.Background(), store.DefaultTenant, []store.Change{inc})
				if err != nil || errs[0] != nil {
					t.Errorf("Write: %v %v", err, errs)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := num(mustGet(t, s, store.DefaultTenant, id), attrCount); got != writers*each {
		t.Errorf("counter = %v, want %d (lost updates)", got, writers*each)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seqs) != writers*each {
		t.Errorf("got %d events, want %d", len(seqs), writers*each)
	}
	if !slices.IsSorted(seqs) {
		t.Error("events were not delivered in commit (Seq) order")
	}
}

func testReopen(t *testing.T, open opener, reopen reopener) {
	ctx := context.Background()
	s := open()
	var changes []store.Change
	for i := 0; i < 50; i++ {
		changes = append(changes, create(newEntity(idf("urn:ngsi-ld:R:%03d", i), typeA, attrLevel, float64(i))))
	}
	mustWrite(t, s, "persist", changes...)
	mustWrite(t, s, "persist", setAttr("urn:ngsi-ld:R:007", attrLevel, 700.0), del("urn:ngsi-ld:R:049"))
	mustWrite(t, s, store.DefaultTenant, create(richEntity("urn:ngsi-ld:Rich:2")))
	rec, cancel := record(s)
	mustWrite(t, s, "persist", setAttr("urn:ngsi-ld:R:000", attrLevel, -1.0))
	lastSeq := rec.events()[0].Seq
	cancel()
	want, err := s.Query(ctx, "persist", store.Query{Limit: 1000, Count: true})
	if err != nil {
		t.Fatal(err)
	}

	s = reopen(s)
	got, err := s.Query(ctx, "persist", store.Query{Limit: 1000, Count: true})
	if err != nil {
		t.Fatalf("Query after reopen: %v", err)
	}
	if d := cmp.Diff(want, got, entityOpts); d != "" {
		t.Errorf("state after reopen (-before +after):\n%s", d)
	}
	if got.Count != 49 || num(mustGet(t, s, "persist", "urn:ngsi-ld:R:007"), attrLevel) != 700 {
		t.Errorf("after reopen: count %d, R:007 level %v", got.Count, num(mustGet(t, s, "persist", "urn:ngsi-ld:R:007"), attrLevel))
	}
	wantEntity(t, mustGet(t, s, store.DefaultTenant, "urn:ngsi-ld:Rich:2"), richEntity("urn:ngsi-ld:Rich:2"))
	if !s.HasTenant(ctx, "persist") {
		t.Error("tenant lost on reopen")
	}
	res, err := s.Query(ctx, "persist", store.Query{Types: []string{typeA}, Attrs: []string{attrLevel}, Limit: 1, Count: true})
	if err != nil || res.Count != 49 {
		t.Errorf("indexes after reopen: count %d, %v; want 49", res.Count, err)
	}
	rec, cancel = record(s)
	defer cancel()
	mustWrite(t, s, "persist", setAttr("urn:ngsi-ld:R:001", attrLevel, 5.0))
	if evs := rec.events(); len(evs) != 1 || evs[0].Seq <= lastSeq {
		t.Errorf("Seq after reopen does not continue: %+v after %d", evs, lastSeq)
	}
}

func testClosed(t *testing.T, open opener, _ reopener) {
	ctx := context.Background()
	s := open()
	mustWrite(t, s, store.DefaultTenant, create(newEntity("urn:x", typeA)))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Write(ctx, store.DefaultTenant, []store.Change{create(newEntity("urn:y", typeA))}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Get(ctx, store.DefaultTenant, "urn:x"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Query(ctx, store.DefaultTenant, store.Query{Limit: 1}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Query after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
}
