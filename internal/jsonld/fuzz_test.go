package jsonld

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/qala-city/qala/internal/problem"
)

// FuzzResolveInline resolves random JSON as a @context: it must never panic,
// every error must be a *problem.Error, and a resolved context must answer.
// Remote URLs fail offline.
func FuzzResolveInline(f *testing.F) {
	for _, s := range []string{
		`{"ex": "http://example.org/", "a": "ex:a"}`,
		`[{"@vocab": "http://x/"}, {"@protected": true, "b": {"@id": "http://x/b", "@type": "@vocab"}}]`,
		`{"a": "b:x", "b": "a:y"}`,
		`{"@type": {"@container": "@set"}, "t": {"@reverse": "http://x/r", "@container": "@index"}}`,
		`["https://smartdatamodels.org/context.jsonld", {"location": "x"}]`,
		`[null, {"@base": "http://x/", "r": {"@id": "rel"}}]`,
		`{"p": {"@id": "http://x/p", "@prefix": true}, "p:q": "http://x/pq", "@import": "https://x/i"}`,
		`{"l": {"@id": "http://x/l", "@container": ["@graph", "@id"], "@language": "en"}}`,
	} {
		f.Add(s)
	}
	r, err := New(Config{CacheSize: 64})
	if err != nil {
		f.Fatal(err)
	}
	offline(nil, r)
	f.Fuzz(func(t *testing.T, s string) {
		var raw any
		if json.Unmarshal([]byte(s), &raw) != nil {
			return
		}
		c, err := r.Resolve(context.Background(), raw)
		if err != nil {
			if problem.As(err) == nil {
				t.Fatalf("error %v is not a *problem.Error", err)
			}
			return
		}
		for _, term := range []string{"a", "ex:a", "location", "@type", "p:q", "http://x/y"} {
			c.CompactIRI(c.ExpandTerm(term))
			c.CompactType(c.ExpandTerm(term))
			c.CompactValue(c.ExpandTerm(term), c.ExpandValue(term, "ex:v"))
		}
		_ = c.LinkURL()
	})
}
