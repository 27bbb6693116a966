package jsonld

import (
	"context"
	"testing"
)

const benchSDM = "https://raw.githubusercontent.com/smart-data-models/dataModel.Weather/master/context.jsonld"

func BenchmarkResolveCachedURL(b *testing.B) {
	r := offline(b, newTestResolver(b, Config{}))
	ctx := context.Background()
	mustResolve(b, r, benchSDM)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(ctx, benchSDM); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolveCachedInline(b *testing.B) {
	r := offline(b, newTestResolver(b, Config{}))
	ctx := context.Background()
	raw := []any{benchSDM, map[string]any{"ex": "http://example.org/", "kind": map[string]any{"@id": "ex:kind", "@type": "@vocab"}}}
	mustResolve(b, r, raw)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolveUncachedSDM(b *testing.B) {
	r := offline(b, newTestResolver(b, Config{}))
	ctx := context.Background()
	mustResolve(b, r, benchSDM) // document parsed and cached; only processing is measured
	b.ReportAllocs()
	for b.Loop() {
		r.mu.Lock()
		r.resolved.clear()
		r.mu.Unlock()
		if _, err := r.Resolve(ctx, benchSDM); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExpandTerm(b *testing.B) {
	r := offline(b, newTestResolver(b, Config{}))
	c := mustResolve(b, r, benchSDM)
	terms := []string{"temperature", "WeatherObserved", "unknownAttr", "location", "schema:name"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.ExpandTerm(terms[i%len(terms)])
	}
}

func BenchmarkCompactIRI(b *testing.B) {
	r := offline(b, newTestResolver(b, Config{}))
	c := mustResolve(b, r, benchSDM)
	iris := []string{
		"https://smartdatamodels.org/dataModel.Weather/temperature",
		"https://uri.etsi.org/ngsi-ld/default-context/unknownAttr",
		"https://uri.etsi.org/ngsi-ld/location",
		"https://schema.org/name",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.CompactIRI(iris[i%len(iris)])
	}
}
