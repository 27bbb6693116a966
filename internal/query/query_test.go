package query

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qala-city/qala/internal/ngsild"
)

func TestIndexTypes(t *testing.T) {
	ctx := coreContext(t)
	for _, c := range []struct {
		typ  string
		want []string
		ok   bool
	}{
		{"Building", []string{ngsild.DefaultVocab + "Building"}, true},
		{"Building,Vehicle|Home", []string{ngsild.DefaultVocab + "Building", ngsild.DefaultVocab + "Vehicle", ngsild.DefaultVocab + "Home"}, true},
		{"(Building,Vehicle)", []string{ngsild.DefaultVocab + "Building", ngsild.DefaultVocab + "Vehicle"}, true},
		{"Building;Home", nil, false},
		{"*", nil, false},
		{"", nil, false},
	} {
		q, err := Parse(Params{Type: c.typ}, ctx)
		if err != nil {
			t.Fatalf("%q: %v", c.typ, err)
		}
		got, ok := q.IndexTypes()
		if ok != c.ok || !cmp.Equal(got, c.want) {
			t.Errorf("IndexTypes(%q) = %v, %v; want %v, %v", c.typ, got, ok, c.want, c.ok)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	ctx := coreContext(t)
	for _, s := range []string{
		`temperature>20;status=="ok"|a.b[c]==1..2`,
		`(a|b);c`,
		`!x;y`,
		`rel==urn:x:1,urn:x:2`,
		`when<2024-01-01T00:00:00Z`,
		`name~=^A.*`,
	} {
		x, err := ParseQ(s, ctx)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got := x.String(); got != s {
			t.Errorf("String() = %q, want %q", got, s)
		}
	}
	for _, s := range []string{"Building;Home,Vehicle", "A;(B,C)", "*"} {
		x, err := ParseTypes(s, ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := x.String(); got != s {
			t.Errorf("type String() = %q, want %q", got, s)
		}
	}
}

func TestEmptyAndParamsFromValues(t *testing.T) {
	ctx := coreContext(t)
	v := url.Values{"type": {"*"}, "q": {""}}
	q, err := Parse(ParamsFromValues(v), ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !q.Empty() {
		t.Error("type=* alone should select everything")
	}
	q, err = Parse(ParamsFromValues(url.Values{"q": {"a"}}), ctx)
	if err != nil || q.Empty() {
		t.Errorf("q=a: %v, empty=%v", err, q != nil && q.Empty())
	}
}

// benchEntity returns an entity with 20 attributes of the usual kinds.
func benchEntity(b *testing.B) *ngsild.Entity {
	ctx := coreContext(b)
	doc := map[string]any{"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved",
		"location":     map[string]any{"type": "GeoProperty", "value": map[string]any{"type": "Point", "coordinates": []any{71.4304, 51.1283}}},
		"status":       map[string]any{"type": "Property", "value": "ok"},
		"refDevice":    map[string]any{"type": "Relationship", "object": "urn:ngsi-ld:Device:1"},
		"address":      map[string]any{"type": "Property", "value": map[string]any{"addressLocality": "Astana", "streetAddress": "Nurzhol 14"}},
		"dateObserved": map[string]any{"type": "Property", "value": "2024-05-01T10:00:00Z"},
	}
	for i := range 15 {
		doc[fmt.Sprintf("m%02d", i)] = map[string]any{"type": "Property", "value": float64(i * 10),
			"observedAt": "2024-05-01T10:00:00Z", "unitCode": "GQ"}
	}
	e, err := ngsild.ParseEntity(doc, ctx, ngsild.ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if len(e.Attrs) != 20 {
		b.Fatalf("entity has %d attributes", len(e.Attrs))
	}
	return e
}

func BenchmarkMatch(b *testing.B) {
	ctx := coreContext(b)
	e := benchEntity(b)
	for _, c := range []struct{ name, qs string }{
		{"q-number", "q=m07>50;m03<=30"},
		{"q-or-string", `q=status=="fault"|address[addressLocality]=="Astana"`},
		{"q-relationship", "q=refDevice==urn:ngsi-ld:Device:1"},
		{"q-datetime", "q=dateObserved>2024-01-01T00:00:00Z;m01.observedAt<2025-01-01"},
		{"q-regexp", "q=status~=^o"},
		{"type-q", "type=(AirQualityObserved|Other);AirQualityObserved&q=m14"},
		{"near", "georel=near;maxDistance==500&geometry=Point&coordinates=[71.43,51.128]"},
		{"within", "georel=within&geometry=Polygon&coordinates=[[[71.3,51.0],[71.6,51.0],[71.6,51.25],[71.3,51.25],[71.3,51.0]]]"},
	} {
		params, err := parseParams(c.qs)
		if err != nil {
			b.Fatal(err)
		}
		q, err := Parse(ParamsFromValues(params), ctx)
		if err != nil {
			b.Fatal(err)
		}
		if !q.Match(e) {
			b.Fatalf("%s does not match the bench entity", c.qs)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				q.Match(e)
			}
		})
	}
}
