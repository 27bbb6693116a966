package jsonld

import (
	"context"
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/qala-city/qala/internal/problem"
)

func TestEmbeddedContextsResolveOffline(t *testing.T) {
	r := offline(t, newTestResolver(t, Config{}))
	f, err := os.Open("contexts/context-url-map.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 30 {
		t.Fatalf("only %d rows", len(rows))
	}
	for _, row := range rows[1:] {
		for _, u := range urlVariants(row[0]) {
			c, err := r.Resolve(context.Background(), u)
			if err != nil {
				t.Errorf("%s: %v", u, err)
				continue
			}
			if c.LinkURL() != u {
				t.Errorf("%s: LinkURL %q", u, c.LinkURL())
			}
			if got := c.ExpandTerm("Property"); got != "https://uri.etsi.org/ngsi-ld/Property" {
				t.Errorf("%s: core term Property = %q", u, got)
			}
		}
	}
}

func TestEmbeddedBytesUnchanged(t *testing.T) {
	b, err := contextFS.ReadFile("contexts/ngsi-ld-core-context-v1.6.jsonld")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\r\n") {
		t.Error("v1.6 core context lost its CRLF line endings")
	}
	if _, err := contextFS.ReadFile("contexts/SOURCES.md"); err != nil {
		t.Error("SOURCES.md (licences) is not embedded")
	}
}

func TestDefaultCore(t *testing.T) {
	for _, tc := range []struct {
		core     string
		term     string // a term of that core version only
		wantIRI  string
		notInV13 bool
	}{
		{CoreV18, "vocab", "https://uri.etsi.org/ngsi-ld/hasVocab", true},
		{CoreV19, "vocab", "https://uri.etsi.org/ngsi-ld/hasVocab", true},
		{CoreV13, "vocab", "https://uri.etsi.org/ngsi-ld/default-context/vocab", false},
	} {
		r := offline(t, newTestResolver(t, Config{DefaultCore: tc.core}))
		if r.CoreURL() != tc.core {
			t.Errorf("CoreURL %q, want %q", r.CoreURL(), tc.core)
		}
		for _, c := range []*Context{r.Core(), mustResolve(t, r, CoreVersionless), mustResolve(t, r, CoreV13)} {
			if got := c.ExpandTerm(tc.term); got != tc.wantIRI {
				t.Errorf("core %s: ExpandTerm(%q) = %q, want %q", tc.core, tc.term, got, tc.wantIRI)
			}
		}
	}
	if _, err := New(Config{DefaultCore: "https://example.org/core.jsonld"}); err == nil {
		t.Error("New accepts a core that is not embedded")
	}
}

func TestExpandCompact(t *testing.T) {
	r := offline(t, newTestResolver(t, Config{}))
	c := mustResolve(t, r, []any{
		"https://raw.githubusercontent.com/smart-data-models/dataModel.Weather/master/context.jsonld",
		map[string]any{"ex": "http://example.org/ns#", "kind": map[string]any{"@id": "ex:kind", "@type": "@vocab"}},
	})
	for _, tc := range []struct{ in, exp, back string }{
		{"temperature", "https://smartdatamodels.org/dataModel.Weather/temperature", "temperature"},
		{"WeatherObserved", "https://smartdatamodels.org/dataModel.Weather/WeatherObserved", "WeatherObserved"},
		{"ex:thing", "http://example.org/ns#thing", "ex:thing"},
		{"nope:thing", "nope:thing", "nope:thing"},
		{"http://example.com/a", "http://example.com/a", "http://example.com/a"},
		{"unknownTerm", "https://uri.etsi.org/ngsi-ld/default-context/unknownTerm", "unknownTerm"},
		{"type", "@type", "@type"},
		{"location", "https://uri.etsi.org/ngsi-ld/location", "location"},
	} {
		if got := c.ExpandTerm(tc.in); got != tc.exp {
			t.Errorf("ExpandTerm(%q) = %q, want %q", tc.in, got, tc.exp)
		}
		if tc.exp[0] == '@' {
			continue
		}
		if got := c.CompactIRI(tc.exp); got != tc.back {
			t.Errorf("CompactIRI(%q) = %q, want %q", tc.exp, got, tc.back)
		}
	}
	// VocabProperty values (clause 4.5.20): the core "vocab" term is @vocab-coerced.
	if got := c.ExpandValue("vocab", "ex:Rain"); got != "http://example.org/ns#Rain" {
		t.Errorf("ExpandValue(vocab) = %q", got)
	}
	if got := c.CompactValue("https://uri.etsi.org/ngsi-ld/hasVocab", "http://example.org/ns#Rain"); got != "ex:Rain" {
		t.Errorf("CompactValue(vocab) = %q", got)
	}
	if got := c.Coercion("https://uri.etsi.org/ngsi-ld/hasObject"); got != "@id" {
		t.Errorf("Coercion(hasObject) = %q", got)
	}
	if got := c.Coercion("http://example.org/ns#kind"); got != "@vocab" {
		t.Errorf("Coercion(kind) = %q", got)
	}
	if got := c.ExpandValue("name", "ex:x"); got != "ex:x" {
		t.Errorf("ExpandValue of an uncoerced term = %q", got)
	}
}

func TestResolveCache(t *testing.T) {
	r := offline(t, newTestResolver(t, Config{}))
	ctx := context.Background()
	u := "https://smartdatamodels.org/context.jsonld"
	a := mustResolve(t, r, u)
	if b := mustResolve(t, r, u); a != b {
		t.Error("resolving the same URL twice processed it twice")
	}
	in1 := map[string]any{"a": "http://example.org/a", "b": map[string]any{"@id": "http://example.org/b"}}
	in2 := map[string]any{"b": map[string]any{"@id": "http://example.org/b"}, "a": "http://example.org/a"}
	if mustResolve(t, r, in1) != mustResolve(t, r, in2) {
		t.Error("equal inline contexts are not one cache entry")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.Resolve(ctx, u); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("cached Resolve of a URL allocates %v times", allocs)
	}
	if nilCtx, _ := r.Resolve(ctx, nil); nilCtx != r.Core() {
		t.Error("nil does not resolve to the core")
	}
	if _, err := r.Resolve(ctx, 42.0); !problem.Is(err, problem.BadRequestData) {
		t.Errorf("a number as @context: %v", err)
	}
}

func TestCoreOverridesUnprotectedTerms(t *testing.T) {
	// The FIWARE tutorial contexts define "description"; the core, applied
	// last, wins (JSON-LD 1.1 processing; NGSI-LD: the core cannot be overridden).
	r := offline(t, newTestResolver(t, Config{}))
	c := mustResolve(t, r, "http://context/json-context.jsonld")
	if got := c.ExpandTerm("description"); got != "http://purl.org/dc/terms/description" {
		t.Errorf("description = %q", got)
	}
	_, err := r.Resolve(context.Background(), []any{CoreV18, map[string]any{"location": "http://example.org/loc"}})
	if !problem.Is(err, problem.BadRequestData) || !strings.Contains(err.Error(), `"location"`) {
		t.Errorf("redefining protected location after the core: %v", err)
	}
}

func TestLinkURLImplicitContext(t *testing.T) {
	r := offline(t, newTestResolver(t, Config{BaseURL: "http://broker:1026/"}))
	if got := r.Core().LinkURL(); got != CoreV18 {
		t.Errorf("core LinkURL %q", got)
	}
	inline := map[string]any{"ex": "http://example.org/", "thing": "ex:thing"}
	c := mustResolve(t, r, inline)
	if len(r.List(KindImplicitlyCreated)) != 0 {
		t.Error("an implicit context was created before LinkURL was asked for")
	}
	u := c.LinkURL()
	if !strings.HasPrefix(u, "http://broker:1026"+HostedPath) {
		t.Fatalf("LinkURL %q", u)
	}
	if again := c.LinkURL(); again != u {
		t.Errorf("LinkURL changed: %q then %q", u, again)
	}
	list := r.List(KindImplicitlyCreated)
	if len(list) != 1 || list[0].URL != u {
		t.Fatalf("List(ImplicitlyCreated) = %+v", list)
	}
	info, doc, err := r.Get(u)
	if err != nil || info.Kind != KindImplicitlyCreated {
		t.Fatalf("Get(%q) = %+v, %v", u, info, err)
	}
	if diff := cmp.Diff(map[string]any{"@context": inline}, doc); diff != "" {
		t.Errorf("document (-want +got):\n%s", diff)
	}
	// The URL the broker announces resolves locally, whatever the host name.
	for _, v := range []string{u, strings.Replace(u, "http://broker:1026", "http://127.0.0.1:1026", 1)} {
		if got := mustResolve(t, r, v).ExpandTerm("thing"); got != "http://example.org/thing" {
			t.Errorf("%s: thing = %q", v, got)
		}
	}
	if err := r.Delete(context.Background(), info.LocalID, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Get(u); !problem.Is(err, problem.ResourceNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if got := c.LinkURL(); got != u {
		t.Errorf("LinkURL after delete = %q, want it recreated as %q", got, u)
	}
}

func TestImplicitContextsBounded(t *testing.T) {
	r := offline(t, newTestResolver(t, Config{CacheSize: 3}))
	for i := range 10 {
		c := mustResolve(t, r, map[string]any{"t": "http://example.org/" + strings.Repeat("x", i)})
		c.LinkURL()
	}
	if n := len(r.List(KindImplicitlyCreated)); n != 3 {
		t.Errorf("%d implicit contexts kept, want 3", n)
	}
}
