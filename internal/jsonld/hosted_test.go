package jsonld

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/qala-city/qala/internal/problem"
)

// Clause 5.13: storing, managing and serving @contexts.
func TestHostedContexts(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	r := offline(t, newTestResolver(t, Config{Dir: dir, BaseURL: "http://127.0.0.1:1026"}))
	body := `{"@context": {"ex": "http://example.org/", "Road": "ex:Road", "lanes": {"@id": "ex:lanes"}}}`
	info, err := r.Add(ctx, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != KindHosted || info.URL != "http://127.0.0.1:1026"+HostedPath+info.LocalID || info.CreatedAt.IsZero() {
		t.Errorf("Add = %+v", info)
	}
	c := mustResolve(t, r, info.URL)
	if got := c.ExpandTerm("Road"); got != "http://example.org/Road" {
		t.Errorf("hosted term Road = %q", got)
	}
	for _, id := range []string{info.LocalID, info.URL} {
		gi, doc, err := r.Get(id)
		if err != nil || gi.URL != info.URL {
			t.Fatalf("Get(%q) = %+v, %v", id, gi, err)
		}
		want := map[string]any{"@context": map[string]any{"ex": "http://example.org/", "Road": "ex:Road", "lanes": map[string]any{"@id": "ex:lanes"}}}
		if diff := cmp.Diff(want, doc); diff != "" {
			t.Errorf("Get(%q) document (-want +got):\n%s", id, diff)
		}
		if gi.NumberOfHits < 1 {
			t.Errorf("numberOfHits = %d after use", gi.NumberOfHits)
		}
	}
	if got := r.List(KindHosted); len(got) != 1 || got[0].LocalID != info.LocalID {
		t.Errorf("List(Hosted) = %+v", got)
	}
	if got := r.List(KindCached); len(got) != 1 || got[0].URL != CoreV18 {
		t.Errorf("List(Cached) = %+v, want the core only", got)
	}

	// Persisted: a new Resolver on the same directory serves it.
	r2 := offline(t, newTestResolver(t, Config{Dir: dir, BaseURL: "http://127.0.0.1:1026"}))
	if got := mustResolve(t, r2, info.URL).ExpandTerm("lanes"); got != "http://example.org/lanes" {
		t.Errorf("after restart lanes = %q", got)
	}
	if err := r2.Delete(ctx, info.LocalID, true); !problem.Is(err, problem.BadRequestData) {
		t.Errorf("reload of a Hosted context: %v", err)
	}
	if err := r2.Delete(ctx, info.URL, false); err != nil {
		t.Fatal(err)
	}
	r3 := offline(nil, newTestResolver(t, Config{Dir: dir}))
	if got := r3.List(KindHosted); len(got) != 0 {
		t.Errorf("deleted hosted context came back: %+v", got)
	}
	if _, err := r2.Resolve(ctx, info.URL); !problem.Is(err, problem.LdContextNotAvailable) {
		t.Errorf("resolving a deleted hosted context: %v", err)
	}
	if err := r3.Delete(ctx, "nope", false); !problem.Is(err, problem.ResourceNotFound) {
		t.Errorf("Delete unknown: %v", err)
	}
	if _, _, err := r3.Get("nope"); !problem.Is(err, problem.ResourceNotFound) {
		t.Errorf("Get unknown: %v", err)
	}
}

func TestAddInvalid(t *testing.T) {
	r := offline(t, newTestResolver(t, Config{}))
	for _, tc := range []struct {
		body string
		typ  problem.Type
		say  string
	}{
		{`{`, problem.InvalidRequest, "JSON"},
		// A body that is not {"@context": ...} is InvalidRequest (ETSI TP 050_02_01).
		{`[]`, problem.InvalidRequest, "object"},
		{`{"x": 1}`, problem.InvalidRequest, "@context"},
		{`{"@context": 5}`, problem.BadRequestData, "number"},
		{`{"@context": {"a": {"@id": "http://x/a", "@container": "@bag"}}}`, problem.BadRequestData, "container"},
		{`{"@context": ["` + CoreV18 + `", {"type": "http://example.org/type"}]}`, problem.BadRequestData, "protected"},
	} {
		_, err := r.Add(context.Background(), []byte(tc.body))
		if !problem.Is(err, tc.typ) || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("Add(%s) = %v, want %s naming %q", tc.body, err, tc.typ, tc.say)
		}
	}
	if got := r.List(KindHosted); len(got) != 0 {
		t.Errorf("invalid contexts were stored: %+v", got)
	}
}

func TestCachedEmbeddedContexts(t *testing.T) {
	r := offline(t, newTestResolver(t, Config{}))
	ctx := context.Background()
	u := "https://smartdatamodels.org/context.jsonld"
	mustResolve(t, r, u)
	list := r.List(KindCached)
	if len(list) != 2 || list[0].URL != CoreV18 || list[1].URL != u {
		t.Fatalf("List(Cached) = %+v", list)
	}
	if err := r.Delete(ctx, list[1].LocalID, true); err != nil {
		t.Errorf("reload: %v", err)
	}
	if err := r.Delete(ctx, u, false); err != nil {
		t.Errorf("delete cached: %v", err)
	}
	if got := r.List(KindCached); len(got) != 1 {
		t.Errorf("after delete List(Cached) = %+v", got)
	}
	if err := r.Delete(ctx, CoreV18, false); !problem.Is(err, problem.BadRequestData) {
		t.Errorf("delete core: %v", err)
	}
	if _, _, err := r.Get(CoreV19); err != nil {
		t.Errorf("Get of an embedded core: %v", err)
	}
}
