package temporal

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/qala-city/qala/internal/ngsild"
)

func TestNumbersRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string][]float64{
		"one":       {21.5},
		"integers":  {1, 2, 3, 3, 3, 3, 4, -7, 0, 0},
		"decimals":  {21.37, 21.38, 21.38, 21.4, 19.99, -0.01},
		"constant":  {5, 5, 5, 5, 5, 5, 5, 5},
		"large":     {1e15, 1e15 + 1, -1e15},
		"irregular": {math.Pi, math.E, 1.0 / 3, -2.5e-300, 1e300, math.MaxFloat64, math.SmallestNonzeroFloat64},
		"negzero":   {0, math.Copysign(0, -1), 1},
	}
	var random []float64
	for range 1000 {
		random = append(random, rng.NormFloat64()*1e3)
	}
	cases["random"] = random
	var walk []float64
	v := 20.0
	for range 1440 {
		v = math.Round((v+rng.NormFloat64()*0.1)*100) / 100
		walk = append(walk, v)
	}
	cases["walk"] = walk
	for name, vals := range cases {
		t.Run(name, func(t *testing.T) {
			b := appendNumbers(nil, vals)
			r := &reader{b: b}
			got := r.numbers(nil, len(vals))
			if r.err != nil {
				t.Fatal(r.err)
			}
			if len(r.b) != 0 {
				t.Fatalf("%d bytes left over", len(r.b))
			}
			for i := range vals {
				// Bit for bit, but for the sign of zero.
				if math.Float64bits(got[i]) != math.Float64bits(vals[i]) && !(got[i] == 0 && vals[i] == 0) {
					t.Fatalf("value %d: got %v, want %v", i, got[i], vals[i])
				}
			}
		})
	}
	// A decimal random walk costs about a byte and a half a value.
	if n := len(appendNumbers(nil, walk)); n > 2*len(walk) {
		t.Errorf("walk of %d decimals takes %d bytes", len(walk), n)
	}
}

func TestChunkRoundTrip(t *testing.T) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	var insts []inst
	for i := range 1440 {
		a := &ngsild.Attr{Type: ngsild.Property, Value: 20 + float64(i%37)/10, ObservedAt: msTime(base + int64(i)*60000), UnitCode: "CEL"}
		x := fromAttr(a, base+1000*int64(i/100), base+1000*int64(i/100), false)
		x.num = uint64(i + 1)
		insts = append(insts, x)
	}
	b := encodeChunk(insts)
	if per := float64(len(b)) / float64(len(insts)); per > 3 {
		t.Errorf("1-minute readings take %.1f bytes an instance", per)
	}
	got, err := decodeChunk(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(insts, got, cmp.AllowUnexported(inst{})); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}

	// A constant regular series compresses to almost nothing.
	flat := make([]inst, 1440)
	for i := range flat {
		flat[i] = fromAttr(&ngsild.Attr{Type: ngsild.Property, Value: 1.0, ObservedAt: msTime(base + int64(i)*60000)}, base, base, false)
		flat[i].num = uint64(i)
	}
	fb := encodeChunk(flat)
	if len(fb) > 64 {
		t.Errorf("a constant series of 1440 takes %d bytes", len(fb))
	}
	if got, err := decodeChunk(fb, nil); err != nil || len(got) != 1440 {
		t.Fatalf("constant series: %d instances, %v", len(got), err)
	}

	// Rich instances: relationships, language maps, sub-attributes,
	// geometries, deletions, instances without observedAt.
	rich := []*ngsild.Attr{
		{Type: ngsild.Relationship, Object: "urn:ngsi-ld:Parking:1", ObjectType: "https://x/Parking", ObservedAt: msTime(base)},
		{Type: ngsild.LanguageProperty, LanguageMap: map[string]any{"en": "car", "fr": "voiture"}},
		{Type: ngsild.GeoProperty, Value: map[string]any{"type": "Point", "coordinates": []any{71.43, 51.13}}, ObservedAt: msTime(base + 5)},
		{Type: ngsild.Property, Value: "on", Sub: map[string]*ngsild.Attr{
			"https://x/accuracy": {Type: ngsild.Property, Value: 0.5, UnitCode: "P1", ObservedAt: msTime(base + 7)},
			"https://x/by":       {Type: ngsild.Relationship, Object: []any{"urn:a", "urn:b"}, DatasetID: "urn:d"},
		}, ObservedAt: msTime(base + 6)},
		{Type: ngsild.Property, Value: 12.5},
		{Type: ngsild.VocabProperty, Value: []any{"https://x/a", "https://x/b"}},
		{Type: ngsild.JsonProperty, Value: map[string]any{"a": []any{true, false, nil, 1.5, "s"}}},
		{Type: ngsild.ListProperty, Value: []any{1.0, 2.0}},
		{Type: ngsild.Property, Value: true, ObservedAt: msTime(base + 9)},
	}
	insts = insts[:0]
	for i, a := range rich {
		x := fromAttr(a, base+int64(i)*11, base+int64(i)*13, false)
		x.num = uint64(100 + i*3)
		insts = append(insts, x)
	}
	d := deletion(&ngsild.Attr{Type: ngsild.Relationship}, base+99)
	d.num = 7
	insts = append(insts, d)
	sortInsts(insts)
	got, err = decodeChunk(encodeChunk(insts), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range insts {
		want := insts[i].toAttr("urn:ds")
		have := got[i].toAttr("urn:ds")
		if diff := cmp.Diff(want, have); diff != "" {
			t.Errorf("instance %d (-want +got):\n%s", i, diff)
		}
	}
}

func FuzzDecodeChunk(f *testing.F) {
	base := int64(1_700_000_000_000)
	var insts []inst
	for i := range 10 {
		x := fromAttr(&ngsild.Attr{Type: ngsild.Property, Value: float64(i) * 1.5, ObservedAt: msTime(base + int64(i)*1000)}, base, base, false)
		x.num = uint64(i)
		insts = append(insts, x)
	}
	f.Add(encodeChunk(insts))
	f.Add(encodeChunk([]inst{fromAttr(&ngsild.Attr{Type: ngsild.Relationship, Object: "urn:x"}, base, base, false)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeChunk(b, nil)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes and decodes to the same instances.
		again, err := decodeChunk(encodeChunk(got), nil)
		if err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if len(again) != len(got) {
			t.Fatalf("%d instances, then %d", len(got), len(again))
		}
	})
}
