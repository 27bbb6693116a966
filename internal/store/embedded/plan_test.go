package embedded

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/qala-city/qala/internal/geo"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// The planner's results must be exactly those of a brute-force evaluation of
// the same conditions on every decoded entity, whichever source it picks.
// These tests generate entities with every kind of attribute value and
// random queries, and compare.

var (
	genTypes = []string{"urn:t:A", "urn:t:B", "urn:t:C", "urn:t:D"}
	genAttrs = []string{"urn:a:n", "urn:a:m", "urn:a:s", "urn:a:r", "urn:a:l"}
	genWords = []string{"free", "busy", "closed", "urn:x:1", "urn:x:2", "", "ü"}
	genLoc   = ngsild.IRILocation
	genLoc2  = "urn:a:geo2"
)

// genValue returns a random attribute value: numbers (integral and not),
// strings, booleans, arrays (nested), objects and null.
func genValue(rng *rand.Rand, depth int) any {
	switch rng.IntN(10) {
	case 0, 1, 2:
		return float64(rng.IntN(20))
	case 3:
		return float64(rng.IntN(200))/10 - 3
	case 4, 5:
		return genWords[rng.IntN(len(genWords))]
	case 6:
		return rng.IntN(2) == 0
	case 7:
		if depth > 1 {
			return nil
		}
		n := rng.IntN(4)
		arr := make([]any, n)
		for i := range arr {
			arr[i] = genValue(rng, depth+1)
		}
		return arr
	case 8:
		return map[string]any{"v": genValue(rng, depth+1), "k": "x"}
	}
	return math.Copysign(0, -1)
}

// genGeometry returns a point mostly, sometimes a line, a polygon or a
// collection, inside the square 0–10.
func genGeometry(rng *rand.Rand) map[string]any {
	pt := func() []any { return []any{float64(rng.IntN(100)) / 10, float64(rng.IntN(100)) / 10} }
	switch rng.IntN(8) {
	case 0:
		return map[string]any{"type": "LineString", "coordinates": []any{pt(), pt()}}
	case 1:
		x, y := float64(rng.IntN(90))/10, float64(rng.IntN(90))/10
		return map[string]any{"type": "Polygon", "coordinates": []any{[]any{
			[]any{x, y}, []any{x + 1, y}, []any{x + 1, y + 1}, []any{x, y + 1}, []any{x, y}}}}
	case 2:
		return map[string]any{"type": "GeometryCollection", "geometries": []any{
			map[string]any{"type": "Point", "coordinates": pt()}}}
	}
	return map[string]any{"type": "Point", "coordinates": pt()}
}

func genEntity(rng *rand.Rand, id string) *ngsild.Entity {
	e := &ngsild.Entity{ID: id, Attrs: map[string][]*ngsild.Attr{}}
	for _, t := range genTypes {
		if rng.IntN(3) == 0 {
			e.Types = append(e.Types, t)
		}
	}
	if e.Types == nil {
		e.Types = []string{genTypes[rng.IntN(len(genTypes))]}
	}
	for _, name := range genAttrs {
		if rng.IntN(3) == 0 {
			continue
		}
		n := 1
		if rng.IntN(5) == 0 {
			n = 2
		}
		for i := range n {
			a := &ngsild.Attr{Type: ngsild.Property}
			if i > 0 {
				a.DatasetID = fmt.Sprintf("urn:ds:%d", i)
			}
			switch rng.IntN(8) {
			case 0:
				a.Type, a.Object = ngsild.Relationship, genWords[3+rng.IntN(2)]
				if rng.IntN(2) == 0 {
					a.Value = 5.0 // ignored by q: a Relationship's target is its object
				}
			case 1:
				a.Type, a.Object = ngsild.ListRelationship, []any{"urn:x:1", "urn:x:3"}
			case 2:
				a.Type, a.LanguageMap = ngsild.LanguageProperty, map[string]any{"en": genWords[rng.IntN(3)], "kk": []any{"busy", 3.0}}
			case 3:
				a.Type, a.Value = ngsild.ListProperty, []any{genValue(rng, 1), genValue(rng, 1)}
			case 4:
				a.Type, a.Value = ngsild.JsonProperty, genValue(rng, 0)
			default:
				a.Value = genValue(rng, 0)
				if a.Value == nil {
					a.Value = 1.0
				}
			}
			if rng.IntN(4) == 0 {
				a.Sub = map[string]*ngsild.Attr{"urn:a:n": {Type: ngsild.Property, Value: 7.0}}
			}
			e.Attrs[name] = append(e.Attrs[name], a)
		}
	}
	if rng.IntN(6) != 0 {
		e.Attrs[genLoc] = []*ngsild.Attr{{Type: ngsild.GeoProperty, Value: genGeometry(rng)}}
		if rng.IntN(8) == 0 {
			e.Attrs[genLoc] = append(e.Attrs[genLoc], &ngsild.Attr{Type: ngsild.GeoProperty, DatasetID: "urn:ds:1", Value: genGeometry(rng)})
		}
	}
	if rng.IntN(4) == 0 {
		e.Attrs[genLoc2] = []*ngsild.Attr{{Type: ngsild.GeoProperty, Value: genGeometry(rng)}}
	}
	if rng.IntN(10) == 0 {
		// Not a GeoProperty: never a geo match.
		e.Attrs[genLoc] = []*ngsild.Attr{{Type: ngsild.Property, Value: genGeometry(rng)}}
	}
	return e
}

// genCond returns a random value condition.
func genCond(rng *rand.Rand) store.ValueCond {
	c := store.ValueCond{Attr: genAttrs[rng.IntN(len(genAttrs))], Min: math.Inf(-1), Max: math.Inf(1)}
	switch rng.IntN(6) {
	case 0:
		c.Strings = []string{genWords[rng.IntN(len(genWords))]}
		if rng.IntN(2) == 0 {
			c.Strings = append(c.Strings, genWords[rng.IntN(len(genWords))])
		}
		if rng.IntN(4) == 0 { // q's value list may repeat a value
			c.Strings = append(c.Strings, c.Strings[0])
		}
	case 1:
		v := float64(rng.IntN(20))
		c.Min, c.Max = v, v
	case 2:
		c.Min, c.MinOpen = float64(rng.IntN(20)), rng.IntN(2) == 0
	case 3:
		c.Max, c.MaxOpen = float64(rng.IntN(20)), rng.IntN(2) == 0
	case 4:
		c.Min, c.Max = float64(rng.IntN(20))-3, float64(rng.IntN(20))
		c.MinOpen, c.MaxOpen = rng.IntN(2) == 0, rng.IntN(2) == 0
	default:
		c.Min, c.Max = float64(rng.IntN(200))/10-3, float64(rng.IntN(200))/10
	}
	return c
}

// genGeo returns a box and an exact geo test: within a circle (distance on
// the plane, so that it is easy to check here) or inside the box.
func genGeo(rng *rand.Rand) (attr string, box *[4]float64, match func(geo.Geometry) bool) {
	attr = genLoc
	if rng.IntN(5) == 0 {
		attr = genLoc2
	}
	x, y, r := float64(rng.IntN(100))/10, float64(rng.IntN(100))/10, float64(rng.IntN(40))/10
	box = &[4]float64{x - r, y - r, x + r, y + r}
	switch rng.IntN(3) {
	case 0:
		return attr, box, nil
	case 1:
		return attr, box, func(g geo.Geometry) bool {
			b := g.BBox()
			return b.MinLon >= box[0] && b.MaxLon <= box[2] && b.MinLat >= box[1] && b.MaxLat <= box[3]
		}
	}
	return attr, box, func(g geo.Geometry) bool {
		c := g.Centroid()
		return math.Hypot(c.Lon-x, c.Lat-y) <= r
	}
}

// bruteForce answers q over the entities as store.Query documents it.
func bruteForce(es []*ngsild.Entity, q store.Query) (ids []string) {
	for _, e := range es {
		if q.IDs != nil && !slices.Contains(q.IDs, e.ID) ||
			q.IDPattern != nil && !q.IDPattern.MatchString(e.ID) ||
			q.Types != nil && !slices.ContainsFunc(q.Types, e.HasType) ||
			q.Attrs != nil && !slices.ContainsFunc(q.Attrs, func(a string) bool { return e.Attrs[a] != nil }) {
			continue
		}
		ok := true
		for _, c := range q.Values {
			ok = ok && c.Match(e)
		}
		if !ok || (q.Filter != nil && !q.Filter(e)) {
			continue
		}
		if q.GeoBox != nil || q.GeoMatch != nil {
			found := false
			for _, a := range e.Attrs[q.GeoAttr] {
				if a.Type != ngsild.GeoProperty {
					continue
				}
				g, err := geo.ParseGeometry(a.Value)
				if err != nil {
					continue
				}
				b := g.BBox()
				if q.GeoBox != nil && !(b.MinLon <= q.GeoBox[2] && q.GeoBox[0] <= b.MaxLon && b.MinLat <= q.GeoBox[3] && q.GeoBox[1] <= b.MaxLat) {
					continue
				}
				if q.GeoMatch == nil || q.GeoMatch(g) {
					found = true
					break
				}
			}
			if !found {
				continue
			}
		}
		ids = append(ids, e.ID)
	}
	slices.Sort(ids)
	return ids
}

func genQuery(rng *rand.Rand, n int) store.Query {
	var q store.Query
	if rng.IntN(4) == 0 {
		q.Types = []string{genTypeP}
	} else if rng.IntN(3) == 0 {
		q.Types = []string{genTypes[rng.IntN(len(genTypes))]}
		if rng.IntN(3) == 0 {
			q.Types = append(q.Types, genTypes[rng.IntN(len(genTypes))])
		}
	}
	if rng.IntN(6) == 0 {
		q.Attrs = []string{genAttrs[rng.IntN(len(genAttrs))]}
	}
	if rng.IntN(8) == 0 {
		q.IDPattern = regexp.MustCompile(fmt.Sprintf("^urn:e:%d", rng.IntN(10)))
	}
	if rng.IntN(15) == 0 {
		for range 5 {
			q.IDs = append(q.IDs, fmt.Sprintf("urn:e:%04d", rng.IntN(n)))
		}
	}
	for range rng.IntN(3) {
		q.Values = append(q.Values, genCond(rng))
	}
	if rng.IntN(3) == 0 {
		q.GeoAttr, q.GeoBox, q.GeoMatch = genGeo(rng)
		if q.GeoMatch != nil && rng.IntN(5) == 0 {
			q.GeoBox = nil // e.g. disjoint: no box bounds the matches
		}
	}
	if rng.IntN(6) == 0 {
		name := genAttrs[rng.IntN(len(genAttrs))]
		q.Filter = func(e *ngsild.Entity) bool { return len(e.Attrs[name]) != 1 }
		if rng.IntN(2) == 0 {
			q.FilterAttrs = []string{name}
		}
	}
	q.Count = rng.IntN(2) == 0
	q.Limit = []int{0, 1, 3, 20, 1000, math.MaxInt}[rng.IntN(6)]
	if q.Limit == 0 {
		q.Count = true
	}
	if rng.IntN(3) == 0 {
		q.Offset = rng.IntN(n / 4)
	}
	return q
}

func TestPlannerAgreesWithBruteForce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, true)
	defer func() { s.Close() }()
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1500
	live := map[string]*ngsild.Entity{}
	var changes []store.Change
	for i := range n {
		e := genEntity(rng, genID(i))
		pointsOnly(rng, e, i)
		live[e.ID] = e
		changes = append(changes, putChange(e))
	}
	if _, err := s.Write(ctx, "", changes); err != nil {
		t.Fatal(err)
	}
	check := func(round string, queries int) { checkQueries(t, s, live, rng, n, round, queries) }
	check("fresh", 1500)
	// Updates that change values, types and geometries, and deletes.
	changes = changes[:0]
	for i := range n / 3 {
		id := genID(rng.IntN(n))
		if i%5 == 0 {
			delete(live, id)
			changes = append(changes, store.Change{ID: id, Op: store.OpDelete, Apply: func(*ngsild.Entity) (*ngsild.Entity, []string, error) { return nil, nil, nil }})
			continue
		}
		e := genEntity(rng, id)
		pointsOnly(rng, e, i)
		live[id] = e
		changes = append(changes, putChange(e))
	}
	if _, err := s.Write(ctx, "", changes); err != nil {
		t.Fatal(err)
	}
	check("updated", 1000)
	s.Close()
	s = openTest(t, dir, true)
	check("reopened", 1000)
}

// checkQueries compares the store's answers to queries random queries
// (over ids up to n) with a brute-force evaluation over live.
func checkQueries(t *testing.T, s *Store, live map[string]*ngsild.Entity, rng *rand.Rand, n int, round string, queries int) {
	t.Helper()
	ctx := context.Background()
	all := make([]*ngsild.Entity, 0, len(live))
	for _, id := range slices.Sorted(mapKeys(live)) {
		e, err := s.Get(ctx, "", id)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, e)
	}
	for i := range queries {
		q := genQuery(rng, n)
		want := bruteForce(all, q)
		res, err := s.Query(ctx, "", q)
		if err != nil {
			t.Fatalf("%s query %d: %v", round, i, err)
		}
		page := want[min(q.Offset, len(want)):]
		page = page[:min(q.Limit, len(page))]
		if d := cmp.Diff(page, entityIDs(res.Entities), cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("%s query %d %s (-brute force +store):\n%s", round, i, describe(q), d)
		}
		if q.Count && res.Count != len(want) {
			t.Fatalf("%s query %d %s: count %d, brute force %d", round, i, describe(q), res.Count, len(want))
		}
	}
}

// pointsOnly makes every fourth entity one of type P located by a point:
// queries for P search a single R-tree partition.
func pointsOnly(rng *rand.Rand, e *ngsild.Entity, i int) {
	if i%4 != 0 {
		return
	}
	e.Types = []string{genTypeP}
	e.Attrs[genLoc] = []*ngsild.Attr{{Type: ngsild.GeoProperty, Value: map[string]any{"type": "Point",
		"coordinates": []any{float64(rng.IntN(100)) / 10, float64(rng.IntN(100)) / 10}}}}
}

const genTypeP = "urn:t:P"

// genID returns the id of generated entity i: mostly urn:e:NNNN, some with
// a long shared part (so that order keys of the R-tree tie) and some with
// another prefix (so that partitions shorten their shared prefix late).
func genID(i int) string {
	switch {
	case i%13 == 5:
		return fmt.Sprintf("urn:e:0-a-very-long-shared-part-%04d", i)
	case i%17 == 3 && i > 700:
		return fmt.Sprintf("other:%d", i)
	}
	return fmt.Sprintf("urn:e:%04d", i)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func entityIDs(es []*ngsild.Entity) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func describe(q store.Query) string {
	s := fmt.Sprintf("types=%v attrs=%v offset=%d limit=%d count=%v", q.Types, q.Attrs, q.Offset, q.Limit, q.Count)
	for _, c := range q.Values {
		s += fmt.Sprintf(" cond%+v", c)
	}
	if q.GeoBox != nil || q.GeoMatch != nil {
		s += fmt.Sprintf(" geo=%s box=%v exact=%v", q.GeoAttr, q.GeoBox, q.GeoMatch != nil)
	}
	if q.IDPattern != nil {
		s += " idPattern=" + q.IDPattern.String()
	}
	if q.IDs != nil {
		s += fmt.Sprintf(" ids=%v", q.IDs)
	}
	if q.Filter != nil {
		s += fmt.Sprintf(" filter(attrs %v)", q.FilterAttrs)
	}
	return s
}

// BenchmarkCondCheck measures checking a value condition on a record (the
// walk's per-candidate cost): on its inline numbers, and on its encoding.
func BenchmarkCondCheck(b *testing.B) {
	syms := newSymbols()
	enc := encoder{syms: syms}
	e := sampleEntity(7)
	data, err := enc.encode(e)
	if err != nil {
		b.Fatal(err)
	}
	ix := indexKeys(syms, e)
	if ix.vals, err = valuesOf(data, nil, false); err != nil {
		b.Fatal(err)
	}
	body := newBody(e.ID, data, &ix)
	for _, bc := range []struct {
		name string
		c    store.ValueCond
	}{
		{"number", store.ValueCond{Attr: sdm + "temperature", Min: -50, Max: math.Inf(1)}},
		{"string", store.ValueCond{Attr: sdm + "name", Strings: []string{"Device station 7"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sym, _ := syms.lookup(bc.c.Attr)
			st := newCondState([]pcond{{ValueCond: &bc.c, sym: sym, indexed: true}})
			b.ReportAllocs()
			for b.Loop() {
				if !st.match(&body) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// TestBodyLayout: every section of a body reads back what was laid out.
func TestBodyLayout(t *testing.T) {
	syms := newSymbols()
	enc := encoder{syms: syms}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		e := genEntity(rng, fmt.Sprintf("urn:e:%d", i))
		if i%7 == 0 {
			var many []any
			for j := range maxInlineNums + 1 {
				many = append(many, float64(j))
			}
			e.Attrs["urn:a:many"] = prop(many)
		}
		data, err := enc.encode(e)
		if err != nil {
			t.Fatal(err)
		}
		ix := indexKeys(syms, e)
		if ix.vals, err = valuesOf(data, nil, false); err != nil {
			t.Fatal(err)
		}
		b := newBody(e.ID, data, &ix)
		var nums []numVal
		for _, k := range ix.vals {
			if !k.isStr {
				nums = append(nums, numVal{v: k.num, attr: k.attr})
			}
		}
		if len(nums) > maxInlineNums {
			if b.nnum != numOverflow || b.nums() != nil {
				t.Errorf("%d numbers kept inline", len(nums))
			}
			nums = nil
		}
		if b.id() != e.ID || !slices.Equal(b.data(), data) || !slices.Equal(b.syms(), ix.syms) || !slices.Equal(b.geo(), ix.geo) ||
			!slices.Equal(b.nums(), nums) || !slices.Equal(b.types(), ix.syms[:ix.ntypes]) {
			t.Fatalf("entity %d: body does not read back its parts", i)
		}
	}
}

func prop(v any) []*ngsild.Attr { return []*ngsild.Attr{{Type: ngsild.Property, Value: v}} }
