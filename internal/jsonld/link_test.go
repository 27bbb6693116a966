package jsonld

import (
	"strings"
	"testing"

	"github.com/qala-city/qala/internal/problem"
)

func TestParseLink(t *testing.T) {
	const u = "https://example.org/ctx.jsonld"
	for _, tc := range []struct {
		header string
		want   string
		err    problem.Type
	}{
		{``, "", ""},
		{`<` + u + `>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`, u, ""},
		{`<` + u + `>;rel="http://www.w3.org/ns/json-ld#context"`, u, ""},
		{`<` + u + `> ; rel=http://www.w3.org/ns/json-ld#context ; type=application/ld+json`, u, ""},
		{`<` + u + `>; REL="HTTP://www.w3.org/ns/json-ld#context"`, u, ""},
		{`<https://a/x>; rel="next", <` + u + `>; rel="alternate http://www.w3.org/ns/json-ld#context"`, u, ""},
		{`<https://a/x>; rel="next"`, "", ""},
		{`<https://a/x>; title="a, b; c", <` + u + `>; rel="http://www.w3.org/ns/json-ld#context"`, u, ""},
		{`<` + u + `>; rel="http://www.w3.org/ns/json-ld#context"; rel="next"`, u, ""},
		// More than one context link: JSON-LD "multiple context link headers" (clause 6.3.5).
		{`<` + u + `>; rel="http://www.w3.org/ns/json-ld#context", <https://b/c>; rel="http://www.w3.org/ns/json-ld#context"`, "", problem.BadRequestData},
		{`<` + u + `>; rel="http://www.w3.org/ns/json-ld#context"; type="text/html"`, "", problem.BadRequestData},
		{`<relative.jsonld>; rel="http://www.w3.org/ns/json-ld#context"`, "", problem.BadRequestData},
		{`<>; rel="http://www.w3.org/ns/json-ld#context"`, "", problem.BadRequestData},
		{u + `; rel="http://www.w3.org/ns/json-ld#context"`, "", problem.InvalidRequest},
		{`<` + u + `; rel="http://www.w3.org/ns/json-ld#context"`, "", problem.InvalidRequest},
		{`<` + u + `>; rel="http://www.w3.org/ns/json-ld#context`, "", problem.InvalidRequest},
		{`<` + u + `> rel="x"`, "", problem.InvalidRequest},
		{`<` + u + `>; ="x"`, "", problem.InvalidRequest},
		{`<` + u + `>; rel=`, "", problem.InvalidRequest},
	} {
		got, err := ParseLink(tc.header)
		if tc.err != "" {
			if !problem.Is(err, tc.err) {
				t.Errorf("ParseLink(%q) = %q, %v; want %s", tc.header, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseLink(%q) = %q, %v; want %q", tc.header, got, err, tc.want)
		}
	}
}

func FuzzParseLink(f *testing.F) {
	for _, s := range []string{
		`<https://example.org/c.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`,
		`<a>; rel=next, <b>; title="x\"y"`, `<`, `<>;`, `;;,,`, `<x>; a="\`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseLink(s)
		if err != nil {
			if problem.As(err) == nil {
				t.Fatalf("error %v is not a *problem.Error", err)
			}
			return
		}
		if u != "" && !strings.Contains(s, u) {
			t.Fatalf("URL %q is not in the header %q", u, s)
		}
	})
}
