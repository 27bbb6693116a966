package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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
