package demo

import (
	"encoding/json"
	"testing"

	"github.com/qala-city/qala/internal/geo"
)

func TestDistrictGeometries(t *testing.T) {
	ds, err := DistrictGeometries()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 5 {
		t.Fatalf("%d districts, want 5", len(ds))
	}
	for _, d := range ds {
		var coords any
		if err := json.Unmarshal([]byte(d.Coordinates), &coords); err != nil {
			t.Fatalf("%s: %v", d.Key, err)
		}
		g, err := geo.ParseGeometry(map[string]any{"type": d.Type, "coordinates": coords})
		if err != nil || (g.Type != geo.Polygon && g.Type != geo.MultiPolygon) {
			t.Errorf("%s: %v, %v", d.Key, g.Type, err)
		}
	}
}
