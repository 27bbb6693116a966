package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/qala-city/qala/internal/geo"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// point is a GeoProperty instance holding a GeoJSON Point.
func point(lon, lat float64) []*ngsild.Attr {
	return []*ngsild.Attr{{Type: ngsild.GeoProperty, Value: map[string]any{"type": "Point", "coordinates": []any{lon, lat}}}}
}

// testGeoBox checks Query.GeoBox: candidates are the entities whose GeoAttr
// box meets the query box, combined with the other conditions, moved and
// deleted geometries included.
func testGeoBox(t *testing.T, open opener, reopen reopener) {
	s := open()
	loc := ngsild.IRILocation
	mk := func(id, typ string, lon, lat float64) *ngsild.Entity {
		e := newEntity(id, typ)
		e.Attrs[loc] = point(lon, lat)
		return e
	}
	mustWrite(t, s, "",
		create(mk("urn:x:baiterek", "urn:t:Sensor", 71.4304, 51.1283)),
		create(mk("urn:x:khan-shatyr", "urn:t:Sensor", 71.4035, 51.1325)),
		create(mk("urn:x:airport", "urn:t:Sensor", 71.4669, 51.0222)),
		create(mk("urn:x:bench", "urn:t:Bench", 71.4310, 51.1290)),
		create(newEntity("urn:x:nowhere", "urn:t:Sensor")),
	)
	centre := &[4]float64{71.40, 51.12, 71.44, 51.14}
	for _, tc := range []struct {
		name string
		q    store.Query
		want []string
	}{
		{"box", store.Query{GeoAttr: loc, GeoBox: centre, Limit: 10}, []string{"urn:x:baiterek", "urn:x:bench", "urn:x:khan-shatyr"}},
		{"box and type", store.Query{GeoAttr: loc, GeoBox: centre, Types: []string{"urn:t:Sensor"}, Limit: 10}, []string{"urn:x:baiterek", "urn:x:khan-shatyr"}},
		{"box and ids", store.Query{GeoAttr: loc, GeoBox: centre, IDs: []string{"urn:x:bench", "urn:x:airport"}, Limit: 10}, []string{"urn:x:bench"}},
		{"box, paged", store.Query{GeoAttr: loc, GeoBox: centre, Offset: 1, Limit: 1, Count: true}, []string{"urn:x:bench"}},
		{"empty box", store.Query{GeoAttr: loc, GeoBox: &[4]float64{0, 0, 1, 1}, Limit: 10}, nil},
		{"unknown attribute", store.Query{GeoAttr: "urn:nothing", GeoBox: centre, Limit: 10}, nil},
	} {
		res, err := s.Query(t.Context(), "", tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d := cmp.Diff(tc.want, ids(res.Entities), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
		if tc.q.Count && res.Count != 3 {
			t.Errorf("%s: count %d, want 3", tc.name, res.Count)
		}
	}
	// Moving the bench away and deleting Baiterek's sensor update the index,
	// also across a reopen.
	mustWrite(t, s, "", put(store.OpReplace, mk("urn:x:bench", "urn:t:Bench", 71.50, 51.20)), del("urn:x:baiterek"))
	s = reopen(s)
	res, err := s.Query(t.Context(), "", store.Query{GeoAttr: loc, GeoBox: centre, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"urn:x:khan-shatyr"}, ids(res.Entities)); d != "" {
		t.Errorf("after move, delete and reopen (-want +got):\n%s", d)
	}
}

// testGeoMatch checks Query.GeoMatch: the exact test on each valid geometry
// of the attribute, with and without a box, on points and other shapes,
// several instances, and the other conditions; counts and pages too.
func testGeoMatch(t *testing.T, open opener, reopen reopener) {
	s := open()
	loc := ngsild.IRILocation
	mk := func(id, typ string, geoms ...map[string]any) *ngsild.Entity {
		e := newEntity(id, typ)
		for i, g := range geoms {
			a := &ngsild.Attr{Type: ngsild.GeoProperty, Value: g}
			if i > 0 {
				a.DatasetID = idf("urn:ds:%d", i)
			}
			e.Attrs[loc] = append(e.Attrs[loc], a)
		}
		return e
	}
	pt := func(lon, lat float64) map[string]any {
		return map[string]any{"type": "Point", "coordinates": []any{lon, lat}}
	}
	square := func(lon, lat, d float64) map[string]any {
		return map[string]any{"type": "Polygon", "coordinates": []any{[]any{
			[]any{lon, lat}, []any{lon + d, lat}, []any{lon + d, lat + d}, []any{lon, lat + d}, []any{lon, lat}}}}
	}
	notGeo := newEntity("urn:g:not-geo", "urn:t:Sensor")
	notGeo.Attrs[loc] = prop(pt(1, 1))
	mustWrite(t, s, "",
		create(mk("urn:g:a", "urn:t:Sensor", pt(1, 1))),
		create(mk("urn:g:b", "urn:t:Sensor", pt(2, 2))),
		create(mk("urn:g:c", "urn:t:Bench", pt(3, 3))),
		create(mk("urn:g:d", "urn:t:Sensor", pt(9, 9), pt(1.5, 1.5))),
		create(mk("urn:g:e", "urn:t:Zone", square(0.5, 0.5, 1))),
		create(mk("urn:g:f", "urn:t:Zone", square(5, 5, 1))),
		create(mk("urn:g:g", "urn:t:Sensor")),
		create(notGeo),
	)
	// inside is true for geometries wholly inside [0.9, 2.1]².
	inside := func(g geo.Geometry) bool {
		b := g.BBox()
		return b.MinLon >= 0.9 && b.MaxLon <= 2.1 && b.MinLat >= 0.9 && b.MaxLat <= 2.1
	}
	box := &[4]float64{0.9, 0.9, 2.1, 2.1}
	far := func(g geo.Geometry) bool { return g.BBox().MinLon > 4 }
	for _, tc := range []struct {
		name string
		q    store.Query
		want []string
	}{
		{"exact with box", store.Query{GeoAttr: loc, GeoBox: box, GeoMatch: inside}, []string{"urn:g:a", "urn:g:b", "urn:g:d"}},
		{"exact with box and type", store.Query{GeoAttr: loc, GeoBox: box, GeoMatch: inside, Types: []string{"urn:t:Sensor"}}, []string{"urn:g:a", "urn:g:b", "urn:g:d"}},
		{"exact without box", store.Query{GeoAttr: loc, GeoMatch: far}, []string{"urn:g:d", "urn:g:f"}},
		{"box only", store.Query{GeoAttr: loc, GeoBox: box}, []string{"urn:g:a", "urn:g:b", "urn:g:d", "urn:g:e"}},
		{"exact with type", store.Query{GeoAttr: loc, GeoMatch: far, Types: []string{"urn:t:Zone"}}, []string{"urn:g:f"}},
		{"nothing", store.Query{GeoAttr: loc, GeoMatch: func(geo.Geometry) bool { return false }}, nil},
		{"every geometry", store.Query{GeoAttr: loc, GeoMatch: func(geo.Geometry) bool { return true }},
			[]string{"urn:g:a", "urn:g:b", "urn:g:c", "urn:g:d", "urn:g:e", "urn:g:f"}},
	} {
		for _, page := range []struct{ offset, limit int }{{0, 10}, {1, 2}, {0, 0}} {
			q := tc.q
			q.Offset, q.Limit, q.Count = page.offset, page.limit, true
			res, err := s.Query(t.Context(), "", q)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			end := min(page.offset+page.limit, len(tc.want))
			want := tc.want[min(page.offset, end):end]
			if d := cmp.Diff(want, ids(res.Entities), cmpopts.EquateEmpty()); d != "" || res.Count != len(tc.want) {
				t.Errorf("%s offset %d limit %d: count %d, want %d (-want +got):\n%s", tc.name, page.offset, page.limit, res.Count, len(tc.want), d)
			}
		}
	}
	// A moved point leaves the index for its new place, also across a reopen.
	mustWrite(t, s, "", put(store.OpReplace, mk("urn:g:a", "urn:t:Sensor", pt(8, 8))))
	s = reopen(s)
	res, err := s.Query(t.Context(), "", store.Query{GeoAttr: loc, GeoBox: box, GeoMatch: inside, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"urn:g:b", "urn:g:d"}, ids(res.Entities)); d != "" {
		t.Errorf("after move and reopen (-want +got):\n%s", d)
	}
}
