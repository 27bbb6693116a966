package embedded

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/qala-city/qala/internal/ngsild"
)

func TestCodecRoundTrip(t *testing.T) {
	syms := newSymbols()
	enc := encoder{syms: syms}
	times := []time.Time{
		{},
		time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 7, time.FixedZone("X", -3600)),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	values := []any{nil, true, false, 0.0, 1.0, -1.0, 0.5, math.MaxFloat64, -math.SmallestNonzeroFloat64,
		float64(1 << 53), float64(-(1 << 53)), float64(1<<53 + 2), math.Copysign(0, -1), "", "ä€𝄞",
		[]any{}, map[string]any{}, []any{1.0, []any{"x", map[string]any{"k": nil}}},
		map[string]any{"type": "Point", "coordinates": []any{71.4, 51.1}}}
	for i, ts := range times {
		e := &ngsild.Entity{ID: "urn:x", Types: []string{"https://t/A"}, CreatedAt: ts, ModifiedAt: ts, DeletedAt: ts,
			Attrs: map[string][]*ngsild.Attr{}}
		for j, v := range values {
			e.Attrs["https://a/"+string(rune('a'+j))] = []*ngsild.Attr{{Type: ngsild.JsonProperty, Value: v, ObservedAt: ts}}
		}
		data, err := enc.encode(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeEntity(syms, e.ID, data)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(e, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("times[%d] (-want +got):\n%s", i, d)
		}
		neg := got.Attrs["https://a/"+string(rune('a'+12))][0].Value.(float64)
		if !math.Signbit(neg) {
			t.Errorf("-0 lost its sign")
		}
	}
}

func TestCodecOtherGoTypes(t *testing.T) {
	syms := newSymbols()
	enc := encoder{syms: syms}
	e := &ngsild.Entity{ID: "urn:x", Types: []string{"https://t/A"}, Attrs: map[string][]*ngsild.Attr{
		"https://a/n": {{Type: ngsild.Property, Value: json.Number("12.50")}},
		"https://a/m": {{Type: ngsild.Property, Value: map[string]int{"a": 1}}},
	}}
	data, err := enc.encode(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeEntity(syms, e.ID, data)
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Attrs["https://a/n"][0].Value; v != 12.5 {
		t.Errorf("json.Number decoded as %#v, want 12.5", v)
	}
	if d := cmp.Diff(map[string]any{"a": 1.0}, got.Attrs["https://a/m"][0].Value); d != "" {
		t.Errorf("map[string]int (-want +got):\n%s", d)
	}
	e.Attrs["https://a/bad"] = []*ngsild.Attr{{Type: ngsild.Property, Value: make(chan int)}}
	if _, err := enc.encode(e); err == nil {
		t.Error("encoding a channel value did not fail")
	}
}

// FuzzDecode checks that no byte string makes the decoder panic or allocate
// without bound (the bytes come from disk, which may be damaged).
func FuzzDecode(f *testing.F) {
	syms := newSymbols()
	enc := encoder{syms: syms}
	for _, i := range []int{0, 1, 7} {
		data, err := enc.encode(sampleEntity(i))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{codecVersion, 1, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 7, 0x80, 0x80, 0x80, 0x80, 0x10})
	f.Fuzz(func(t *testing.T, data []byte) {
		if ix, err := scanIndex(syms, data); err == nil {
			if b := newBody("urn:f", data, &ix); !bytes.Equal(b.data(), data) || b.id() != "urn:f" {
				t.Fatal("body does not hold the encoding")
			}
		}
		_, _ = valuesOf(data, nil, true)
		_, _ = decodePartial(syms, "urn:f", data, []uint32{0, 2})
		e, err := decodeEntity(syms, "urn:f", data)
		if err != nil {
			return
		}
		// What decodes must encode and decode to the same entity.
		enc := encoder{syms: syms}
		again, err := enc.encode(e)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		e2, err := decodeEntity(syms, "urn:f", again)
		if err != nil {
			t.Fatalf("decode of re-encoded: %v", err)
		}
		if d := cmp.Diff(e, e2, cmpopts.EquateEmpty(), cmpopts.EquateNaNs()); d != "" {
			t.Fatalf("re-encoded entity differs:\n%s", d)
		}
	})
}

func TestLiteralPrefix(t *testing.T) {
	for re, want := range map[string]string{
		`^urn:ngsi-ld:Streetlight:`:   "urn:ngsi-ld:Streetlight:",
		`^urn:ngsi-ld:Sensor:[0-2]1$`: "urn:ngsi-ld:Sensor:",
		`^urn:a$`:                     "urn:a",
		`urn:ngsi-ld:`:                "",
		`(?i)^urn`:                    "",
		`^a|b`:                        "",
		`^(urn:a|urn:b)`:              "",
		`.*`:                          "",
		`^urn:ngsi-ld:Sensor:.*:x`:    "urn:ngsi-ld:Sensor:",
		`(?m)^urn:`:                   "",
	} {
		if got := literalPrefix(mustRegexp(t, re)); got != want {
			t.Errorf("literalPrefix(%q) = %q, want %q", re, got, want)
		}
	}
}

func TestGeoBoxOf(t *testing.T) {
	poly := map[string]any{"type": "Polygon", "coordinates": []any{[]any{
		[]any{1.0, 2.0}, []any{3.0, -1.0}, []any{0.5, 5.0}, []any{1.0, 2.0}}}}
	g, ok := geoBoxOf(7, poly)
	if !ok || g != (geoBox{attr: 7, min: [2]float64{0.5, -1}, max: [2]float64{3, 5}}) {
		t.Errorf("geoBoxOf(polygon) = %+v %v", g, ok)
	}
	coll := map[string]any{"type": "GeometryCollection", "geometries": []any{
		map[string]any{"type": "Point", "coordinates": []any{10.0, 10.0}}, poly}}
	g, ok = geoBoxOf(7, coll)
	if !ok || g.point || g.min != [2]float64{0.5, -1} || g.max != [2]float64{10, 10} {
		t.Errorf("geoBoxOf(collection) = %+v %v", g, ok)
	}
	g, ok = geoBoxOf(7, map[string]any{"type": "Point", "coordinates": []any{10.0, 20.0}})
	if !ok || !g.point || g.min != [2]float64{10, 20} || g.max != g.min {
		t.Errorf("geoBoxOf(point) = %+v %v", g, ok)
	}
	// A degenerate line is not a point: its exact tests need the line.
	if g, ok = geoBoxOf(7, map[string]any{"type": "LineString", "coordinates": []any{[]any{1.0, 1.0}, []any{1.0, 1.0}}}); !ok || g.point {
		t.Errorf("geoBoxOf(degenerate line) = %+v %v", g, ok)
	}
	for _, bad := range []any{nil, "x", map[string]any{"coordinates": "x"}, map[string]any{"type": "Point", "coordinates": []any{"a", 1.0}},
		map[string]any{"type": "Point", "coordinates": []any{200.0, 1.0}}} {
		if _, ok := geoBoxOf(7, bad); ok {
			t.Errorf("geoBoxOf(%v) found a box", bad)
		}
	}
}

func mustRegexp(t *testing.T, s string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

func TestScanIndexAgreesWithIndexKeys(t *testing.T) {
	syms := newSymbols()
	enc := encoder{syms: syms}
	ents := []*ngsild.Entity{sampleEntity(1), sampleEntity(2)}
	multi := sampleEntity(3)
	multi.Types = append(multi.Types, benchTypes[5], benchTypes[0])
	multi.Attrs["https://a/geo2"] = []*ngsild.Attr{
		{Type: ngsild.GeoProperty, Value: map[string]any{"type": "Point", "coordinates": []any{1.0, 2.0}}, DatasetID: "urn:d1",
			Sub: map[string]*ngsild.Attr{"https://a/g": {Type: ngsild.GeoProperty, Value: map[string]any{"type": "Point", "coordinates": []any{9.0, 9.0}}}}},
		{Type: ngsild.GeoProperty, Value: map[string]any{"type": "Point", "coordinates": []any{3.0, 4.0}}, LanguageMap: map[string]any{"en": "x"}},
	}
	ents = append(ents, multi)
	for _, e := range ents {
		data, err := enc.encode(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := scanIndex(syms, data)
		if err != nil {
			t.Fatal(err)
		}
		want := indexKeys(syms, e)
		want.vals = got.vals // checked against the reference semantics in values_test.go
		sortGeo := cmpopts.SortSlices(func(a, b geoBox) bool { return a.attr < b.attr || (a.attr == b.attr && a.min[0] < b.min[0]) })
		if d := cmp.Diff(want, got, cmp.AllowUnexported(indexed{}, geoBox{}, attrKinds{}, valKey{}), sortGeo, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s (-indexKeys +scanIndex):\n%s", e.ID, d)
		}
	}
}
