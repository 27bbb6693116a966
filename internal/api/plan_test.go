package api

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/query"
	"github.com/qala-city/qala/internal/store"
	"github.com/qala-city/qala/internal/store/embedded"
)

// TestStoreQueryAgreesWithMatch: the store query that Query Entities builds
// (value conditions and the geo-query given to the store's indexes, the
// rest left in Filter) selects exactly the entities the in-memory evaluator
// (query.Query.Match) selects, on random entities and random q, type,
// idPattern, scopeQ and geo-queries, with paging and count.
func TestStoreQueryAgreesWithMatch(t *testing.T) {
	ctx := context.Background()
	res, err := jsonld.New(jsonld.Config{})
	if err != nil {
		t.Fatal(err)
	}
	core := res.Core()
	st, err := embedded.Open(embedded.Options{Dir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(11, 12))
	vocab := ngsild.DefaultVocab
	types := []string{"Sensor", "Lamp", "Zone"}
	words := []string{"free", "busy", "urn:x:1", "12"}
	lon := func() float64 { return 71.40 + float64(rng.IntN(100))/1000 }
	lat := func() float64 { return 51.10 + float64(rng.IntN(100))/1000 }
	pos := func() []any { return []any{lon(), lat()} }
	geometry := func() map[string]any {
		switch rng.IntN(6) {
		case 0:
			return map[string]any{"type": "LineString", "coordinates": []any{pos(), pos()}}
		case 1:
			x, y := lon(), lat()
			return map[string]any{"type": "Polygon", "coordinates": []any{[]any{
				[]any{x, y}, []any{x + 0.01, y}, []any{x + 0.01, y + 0.01}, []any{x, y + 0.01}, []any{x, y}}}}
		}
		return map[string]any{"type": "Point", "coordinates": pos()}
	}
	value := func() any {
		switch rng.IntN(6) {
		case 0, 1, 2:
			return float64(rng.IntN(10))
		case 3:
			return words[rng.IntN(len(words))]
		case 4:
			return []any{float64(rng.IntN(10)), words[rng.IntN(len(words))]}
		}
		return vocab + words[rng.IntN(2)]
	}
	var entities []*ngsild.Entity
	var changes []store.Change
	for i := range 600 {
		e := &ngsild.Entity{ID: fmt.Sprintf("urn:ngsi-ld:E:%03d", i), Types: []string{vocab + types[rng.IntN(len(types))]},
			Attrs: map[string][]*ngsild.Attr{}}
		if rng.IntN(5) == 0 {
			e.Scope = []string{"/Astana/Yesil"}
		}
		for _, n := range []string{"n", "m", "s"} {
			if rng.IntN(4) == 0 {
				continue
			}
			a := &ngsild.Attr{Type: ngsild.Property, Value: value()}
			if rng.IntN(6) == 0 {
				a.Type, a.Value, a.Object = ngsild.Relationship, nil, "urn:x:1"
			}
			e.Attrs[vocab+n] = []*ngsild.Attr{a}
		}
		if rng.IntN(8) != 0 {
			e.Attrs[ngsild.IRILocation] = []*ngsild.Attr{{Type: ngsild.GeoProperty, Value: geometry()}}
		}
		entities = append(entities, e)
		changes = append(changes, store.Change{ID: e.ID, Op: store.OpCreate, Apply: func(*ngsild.Entity) (*ngsild.Entity, []string, error) {
			return e, nil, nil
		}})
	}
	if _, err := st.Write(ctx, "", changes); err != nil {
		t.Fatal(err)
	}
	term := func() string {
		n := []string{"n", "m", "s"}[rng.IntN(3)]
		lit := fmt.Sprint(rng.IntN(10))
		if rng.IntN(3) == 0 {
			lit = []string{`"free"`, "busy", "urn:x:1", `"12"`}[rng.IntN(4)]
		}
		switch rng.IntN(6) {
		case 0:
			return n + "==" + lit + "," + fmt.Sprint(rng.IntN(10))
		case 1:
			return n + "!=" + lit
		case 2:
			return n
		}
		return n + []string{"==", ">", ">=", "<", "<="}[rng.IntN(5)] + lit
	}
	geoParams := func(p *query.Params) {
		p.GeoProperty = "location"
		switch rng.IntN(5) {
		case 0:
			p.GeoRel = fmt.Sprintf("near;maxDistance==%d", 200+rng.IntN(2000))
			if rng.IntN(4) == 0 {
				p.GeoRel += fmt.Sprintf(";minDistance==%d", rng.IntN(500))
			}
			p.Geometry, p.Coordinates = "Point", fmt.Sprintf("[%g,%g]", lon(), lat())
		case 1:
			p.GeoRel = []string{"within", "intersects", "contains", "overlaps", "equals"}[rng.IntN(5)]
			x, y, d := lon(), lat(), 0.005+float64(rng.IntN(40))/1000
			p.Geometry = "Polygon"
			p.Coordinates = fmt.Sprintf("[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]", x, y, x+d, y, x+d, y+d, x, y+d, x, y)
		case 2:
			p.GeoRel = "disjoint"
			x, y := lon(), lat()
			p.Geometry = "Polygon"
			p.Coordinates = fmt.Sprintf("[[[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]", x, y, x+0.05, y, x, y+0.05, x, y)
		case 3:
			p.GeoRel = "intersects"
			p.Geometry, p.Coordinates = "LineString", fmt.Sprintf("[[%g,%g],[%g,%g]]", lon(), lat(), lon(), lat())
		default:
			p.GeoRel = "near;minDistance==3000"
			p.Geometry, p.Coordinates = "Point", fmt.Sprintf("[%g,%g]", lon(), lat())
		}
	}
	for i := range 2000 {
		var p query.Params
		if rng.IntN(2) == 0 {
			p.Type = types[rng.IntN(len(types))]
			if rng.IntN(4) == 0 {
				p.Type += "," + types[rng.IntN(len(types))]
			} else if rng.IntN(8) == 0 {
				p.Type += ";" + types[rng.IntN(len(types))]
			}
		}
		if rng.IntN(2) == 0 {
			parts := make([]string, 1+rng.IntN(3))
			for j := range parts {
				parts[j] = term()
			}
			p.Q = strings.Join(parts, ";")
			if rng.IntN(5) == 0 {
				p.Q = "(" + p.Q + ")|" + term()
			}
		}
		if rng.IntN(2) == 0 {
			geoParams(&p)
		}
		if rng.IntN(10) == 0 {
			p.IDPattern = fmt.Sprintf("^urn:ngsi-ld:E:%d", rng.IntN(6))
		}
		if rng.IntN(10) == 0 {
			p.ScopeQ = "/Astana/#"
		}
		sel, err := query.Parse(p, core)
		if err != nil {
			continue
		}
		q := storeQuery(sel, nil)
		geoBox(&q, sel.Geo)
		q.Offset = []int{0, 0, 3, 40}[rng.IntN(4)]
		q.Limit = []int{1, 5, 20, 1000}[rng.IntN(4)]
		q.Count = rng.IntN(2) == 0
		var want []string
		for _, e := range entities {
			if sel.Match(e) {
				want = append(want, e.ID)
			}
		}
		slices.Sort(want)
		got, err := st.Query(ctx, "", q)
		if err != nil {
			t.Fatal(err)
		}
		page := want[min(q.Offset, len(want)):min(q.Offset+q.Limit, len(want))]
		var ids []string
		for _, e := range got.Entities {
			ids = append(ids, e.ID)
		}
		if !slices.Equal(ids, page) || (q.Count && got.Count != len(want)) {
			t.Fatalf("query %d %+v offset %d limit %d: store gives %v (count %d), Match gives %v (count %d)",
				i, p, q.Offset, q.Limit, ids, got.Count, page, len(want))
		}
	}
}
