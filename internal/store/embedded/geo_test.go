package embedded

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

func pointEntity(id string, lon, lat float64) *ngsild.Entity {
	return &ngsild.Entity{ID: id, Types: []string{"https://t/Lamp"}, Attrs: map[string][]*ngsild.Attr{
		ngsild.IRILocation: {{Type: ngsild.GeoProperty, Value: map[string]any{"type": "Point", "coordinates": []any{lon, lat}}}},
	}}
}

func TestGeoIndex(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), true)
	defer s.Close()
	// A 10×10 grid of points 0.01° apart around Astana (71.40–71.49, 51.10–51.19).
	var changes []store.Change
	for i := 0; i < 10; i++ {
		for j := 0; j < 10; j++ {
			changes = append(changes, putChange(pointEntity(fmt.Sprintf("urn:p:%d%d", i, j), 71.40+float64(i)*0.01, 51.10+float64(j)*0.01)))
		}
	}
	changes = append(changes, putChange(&ngsild.Entity{ID: "urn:poly", Types: []string{"https://t/Zone"}, Attrs: map[string][]*ngsild.Attr{
		ngsild.IRILocation: {{Type: ngsild.GeoProperty, Value: map[string]any{"type": "Polygon", "coordinates": []any{[]any{
			[]any{71.0, 51.0}, []any{72.0, 51.0}, []any{72.0, 52.0}, []any{71.0, 51.0}}}}}},
	}}))
	if _, err := s.Write(ctx, "geo", changes); err != nil {
		t.Fatal(err)
	}
	within := func(lo, hi [2]float64) []string {
		t.Helper()
		ids, err := s.Within(ctx, "geo", ngsild.IRILocation, lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	got := within([2]float64{71.415, 51.135}, [2]float64{71.435, 51.145})
	want := []string{"urn:p:24", "urn:p:34", "urn:poly"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Within (-want +got):\n%s", d)
	}
	// The box of an 800 m circle at 51.15°N spans ±0.0072° of latitude and
	// ±0.0115° of longitude: p:55 and its east and west neighbours (0.01° of
	// longitude, ~700 m, away) are candidates; north and south (1.1 km) are not.
	near, err := s.Near(ctx, "geo", ngsild.IRILocation, 71.45, 51.15, 800)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"urn:p:45", "urn:p:55", "urn:p:65", "urn:poly"}, near); d != "" {
		t.Errorf("Near (-want +got):\n%s", d)
	}
	// Moving and deleting update the index.
	if _, err := s.Write(ctx, "geo", []store.Change{putChange(pointEntity("urn:p:24", 0, 0)), {ID: "urn:p:34", Op: store.OpDelete,
		Apply: func(*ngsild.Entity) (*ngsild.Entity, []string, error) { return nil, nil, nil }}}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"urn:poly"}, within([2]float64{71.415, 51.135}, [2]float64{71.435, 51.145})); d != "" {
		t.Errorf("Within after move (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"urn:p:24"}, within([2]float64{-1, -1}, [2]float64{1, 1})); d != "" {
		t.Errorf("Within at new place (-want +got):\n%s", d)
	}
	if ids, err := s.Within(ctx, "geo", "https://t/none", [2]float64{-180, -90}, [2]float64{180, 90}); err != nil || len(ids) != 0 {
		t.Errorf("Within unknown attribute = %v, %v", ids, err)
	}
	if _, err := s.Within(ctx, "nope", ngsild.IRILocation, [2]float64{}, [2]float64{}); err != store.ErrNoTenant {
		t.Errorf("Within unknown tenant: %v", err)
	}
	// Near across the antimeridian.
	if _, err := s.Write(ctx, "geo", []store.Change{putChange(pointEntity("urn:fiji", -179.999, -17))}); err != nil {
		t.Fatal(err)
	}
	near, err = s.Near(ctx, "geo", ngsild.IRILocation, 179.999, -17, 1000)
	if err != nil || !cmp.Equal([]string{"urn:fiji"}, near, cmpopts.EquateEmpty()) {
		t.Errorf("Near across the antimeridian = %v, %v", near, err)
	}
}

func TestGeoIndexReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, false)
	if _, err := s.Write(ctx, "geo", []store.Change{putChange(pointEntity("urn:a", 10, 10)), putChange(pointEntity("urn:b", 20, 20))}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir, false)
	defer s.Close()
	ids, err := s.Within(ctx, "geo", ngsild.IRILocation, [2]float64{15, 15}, [2]float64{25, 25})
	if err != nil || !cmp.Equal([]string{"urn:b"}, ids) {
		t.Errorf("Within after reopen = %v, %v", ids, err)
	}
}
