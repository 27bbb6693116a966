package query

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
)

func TestAttrs(t *testing.T) {
	r, err := jsonld.New(jsonld.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := r.Core()
	q, err := Parse(Params{Type: "X", Q: "(pm25>35|no2.observedAt<2026-01-01T00:00:00Z);name[en]==\"a\";id==urn:x:1",
		GeoRel: "near;maxDistance==10", Geometry: "Point", Coordinates: "[71.4,51.1]"}, ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := ngsild.DefaultVocab
	want := []string{d + "name", d + "no2", d + "pm25", ngsild.IRILocation}
	if diff := cmp.Diff(want, q.Attrs()); diff != "" {
		t.Errorf("Attrs (-want +got):\n%s", diff)
	}
}
