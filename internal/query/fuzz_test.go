package query

import (
	"testing"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
)

// fuzzEntity is a small entity of every attribute kind that fuzzed
// expressions are evaluated against.
func fuzzEntity(t testing.TB, ctx *jsonld.Context) *ngsild.Entity {
	doc := map[string]any{
		"id": "urn:ngsi-ld:F:1", "type": []any{"Building", "Home"}, "scope": []any{"/Madrid/Gardens", "/A"},
		"temperature": []any{
			map[string]any{"type": "Property", "value": 21.5, "observedAt": "2024-05-01T10:00:00Z",
				"reliability": map[string]any{"type": "Property", "value": 0.9}},
			map[string]any{"type": "Property", "value": []any{1.0, "x"}, "datasetId": "urn:ds:1"},
		},
		"address":   map[string]any{"type": "Property", "value": map[string]any{"city": "Astana", "n": []any{map[string]any{"k": 1.0}}}},
		"label":     map[string]any{"type": "LanguageProperty", "languageMap": map[string]any{"en": "a", "ru": []any{"b"}}},
		"rel":       map[string]any{"type": "Relationship", "object": "urn:x:1"},
		"cat":       map[string]any{"type": "VocabProperty", "vocab": "urban"},
		"location":  map[string]any{"type": "GeoProperty", "value": map[string]any{"type": "Point", "coordinates": []any{71.43, 51.12}}},
		"area":      map[string]any{"type": "GeoProperty", "value": map[string]any{"type": "Polygon", "coordinates": []any{[]any{[]any{0.0, 0.0}, []any{1.0, 0.0}, []any{1.0, 1.0}, []any{0.0, 0.0}}}}},
		"when":      map[string]any{"type": "Property", "value": "2024-05-01T10:00:00Z"},
		"isEnabled": map[string]any{"type": "Property", "value": true},
	}
	e, err := ngsild.ParseEntity(doc, ctx, ngsild.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func checkProblem(t *testing.T, err error) {
	t.Helper()
	if err != nil && problem.As(err) == nil {
		t.Fatalf("error is not a *problem.Error: %T %v", err, err)
	}
}

func FuzzQ(f *testing.F) {
	for _, s := range []string{
		`temperature>20;status=="ok"|(a.b[c]==1..2)`, `!x`, `temperature.observedAt>=2024-01-01T00:00:00Z`,
		`label[*]~=(?i)^a`, `rel==urn:x:1,urn:x:2`, `cat==urban`, `a[b][c]!="x"`, `when<12:00:00Z`, `((a))`,
		`x=="\"q\""`, `temperature==;`, `type==Home;id!=urn:a`, `address[n][k]==1`, `r{a}>1`, `a!~=[`,
	} {
		f.Add(s, "")
	}
	for _, s := range []string{`managedBy{Building:name}=="x"`, `a{b{c{d}}}`, `a{`, `a{b:}`, `!r{x}`, `r{Type:a.b[c]}==1..2`, `r{{a}}`, `r{a}}`} {
		f.Add(s, "a")
	}
	f.Add(`cat==urban,rural`, "cat")
	f.Add(`cat!="urban";name==x`, "name,cat")
	f.Add(`cat==urban`, "a,,b")
	ctx := coreContext(f)
	e := fuzzEntity(f, ctx)
	f.Fuzz(func(t *testing.T, s, expandValues string) {
		x, err := Parse(Params{Q: s, ExpandValues: expandValues}, ctx)
		checkProblem(t, err)
		if err != nil || x.Q == nil {
			return
		}
		MatchQ(x.Q, e)
		// Every linked entity is e itself: paths nest only as deep as written.
		MatchQWith(x.Q, e, func(string) *ngsild.Entity { return e })
		_ = x.Q.String()
		if _, err := ParseQ(s, ctx); err != nil {
			t.Fatalf("%q parses with expandValues %q but not without: %v", s, expandValues, err)
		}
	})
}

func FuzzScopeQ(f *testing.F) {
	for _, s := range []string{"/Madrid/#", "/+/Gardens;/A|(/B,/C)", "/#", "/a/", "(", "/a/#/b"} {
		f.Add(s)
	}
	ctx := coreContext(f)
	e := fuzzEntity(f, ctx)
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseScopeQ(s)
		checkProblem(t, err)
		if err != nil {
			return
		}
		MatchScope(n, e)
		again, err := ParseScopeQ(n.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", n.String(), s, err)
		}
		if MatchScope(again, e) != MatchScope(n, e) {
			t.Fatalf("%q and its String() %q disagree", s, n.String())
		}
	})
}

func FuzzGeoQ(f *testing.F) {
	f.Add("near;maxDistance==500", "Point", "[71.43,51.12]", "location")
	f.Add("near;minDistance==1", "Point", "[0,0]", "")
	f.Add("within", "Polygon", "[[[0,0],[1,0],[1,1],[0,0]]]", "area")
	f.Add("overlaps", "MultiPolygon", "[[[[0,0],[1,0],[1,1],[0,0]]]]", "area")
	f.Add("intersects", "MultiLineString", "[[[0,0],[1,1]],[[2,2],[3,3]]]", "")
	f.Add("disjoint", "LineString", "[[0,0],[1,1]]", "")
	f.Add("equals", "MultiPoint", "[[0,0]]", "")
	ctx := coreContext(f)
	e := fuzzEntity(f, ctx)
	f.Fuzz(func(t *testing.T, rel, geom, coords, prop string) {
		g, err := ParseGeoQuery(rel, geom, coords, prop, ctx)
		checkProblem(t, err)
		if err != nil || g == nil {
			return
		}
		g.Match(e)
		g.Bounds()
		_ = g.String()
	})
}

func FuzzTypeSelection(f *testing.F) {
	for _, s := range []string{"(Building;Home),Vehicle", "*", "A|B", "A;(B|C)", "((", "https://x.org/T,a:b"} {
		f.Add(s)
	}
	ctx := coreContext(f)
	e := fuzzEntity(f, ctx)
	f.Fuzz(func(t *testing.T, s string) {
		x, err := ParseTypes(s, ctx)
		checkProblem(t, err)
		if err != nil {
			return
		}
		x.Match(e.Types)
		if names, ok := x.Names(); ok {
			hit := false
			for _, n := range names {
				hit = hit || e.HasType(n)
			}
			if hit != x.Match(e.Types) {
				t.Fatalf("Names() of %q disagree with Match", s)
			}
		}
	})
}

func FuzzOrdering(f *testing.F) {
	f.Add("type;asc,name.subProperty;desc,name", "", "", "")
	f.Add("location;dist-asc", "", "Point", "[8,40]")
	f.Add("location;dist-desc,id", "und", "Polygon", "[[[0,0],[1,0],[1,1],[0,0]]]")
	f.Add("address[city];desc", "de-u-co-phonebk", "", "")
	f.Add("label[*],temperature.observedAt", "!!nope", "", "")
	f.Add("a[b", "", "LineString", "[[0,0],[1,1]]")
	ctx := coreContext(f)
	base := fuzzEntity(f, ctx)
	// A few entities that differ in the members orderings read.
	var es []*ngsild.Entity
	for i, id := range []string{"urn:ngsi-ld:F:3", "urn:ngsi-ld:F:1", "urn:ngsi-ld:F:2", "urn:ngsi-ld:F:0"} {
		e := base.Clone()
		e.ID = id
		if i%2 == 1 {
			delete(e.Attrs, ngsild.IRILocation)
		}
		if i == 2 {
			e.Attrs = nil
		}
		es = append(es, e)
	}
	f.Fuzz(func(t *testing.T, orderBy, collation, geometry, coordinates string) {
		o, err := ParseOrdering(OrderParams{OrderBy: []string{orderBy}, Collation: collation, Geometry: geometry, Coordinates: coordinates}, ctx)
		checkProblem(t, err)
		if err != nil || o == nil {
			return
		}
		a := append([]*ngsild.Entity(nil), es...)
		b := []*ngsild.Entity{es[2], es[0], es[3], es[1]}
		o.Sort(a)
		o.Sort(b)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("orderBy %q: the order depends on the input order: %s vs %s", orderBy, a[i].ID, b[i].ID)
			}
		}
	})
}
