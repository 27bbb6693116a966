package api_test

import (
	"strings"
	"testing"
)

// TestExpandValues: with expandValues, the string values q compares the
// listed attributes with are expanded with the request's @context before
// the query runs (clause 4.9 of v1.9, EXAMPLE 12), so the term of a
// VocabProperty finds the expanded IRI it is held as; without it they are
// compared as written. GET and POST queries and the temporal query take it.
func TestExpandValues(t *testing.T) {
	srv := newTestServer(t)
	v1 := srv.URL + "/ngsi-ld/v1"
	for _, body := range []string{
		`{"id": "urn:ngsi-ld:Shop:1", "type": "Shop", "category": {"type": "VocabProperty", "vocab": "commercial"}, "name": {"type": "Property", "value": "commercial"}}`,
		`{"id": "urn:ngsi-ld:Shop:2", "type": "Shop", "category": {"type": "VocabProperty", "vocab": "residential"}, "name": {"type": "Property", "value": "residential"}}`,
	} {
		if resp, b := do(t, "POST", v1+"/entities", "application/json", body); resp.StatusCode != 201 {
			t.Fatalf("create: %d %s", resp.StatusCode, b)
		}
	}
	ids := func(b []byte) string {
		var out []string
		for _, id := range []string{"urn:ngsi-ld:Shop:1", "urn:ngsi-ld:Shop:2"} {
			if strings.Contains(string(b), id) {
				out = append(out, id)
			}
		}
		return strings.Join(out, " ")
	}
	window := "&timerel=after&timeAt=2000-01-01T00:00:00Z&timeproperty=createdAt"
	for _, c := range []struct{ name, method, path, body, want string }{
		{"as written", "GET", "/entities?type=Shop&q=category==commercial", "", ""},
		{"expanded", "GET", "/entities?type=Shop&q=category==commercial&expandValues=category", "", "urn:ngsi-ld:Shop:1"},
		{"quoted, expanded", "GET", "/entities?type=Shop&q=category==%22residential%22&expandValues=name,category", "", "urn:ngsi-ld:Shop:2"},
		{"the expanded IRI as written", "GET", "/entities?type=Shop&q=category==%22https://uri.etsi.org/ngsi-ld/default-context/commercial%22", "", "urn:ngsi-ld:Shop:1"},
		{"a Property held as written", "GET", "/entities?type=Shop&q=name==commercial", "", "urn:ngsi-ld:Shop:1"},
		{"a Property, expanded, no longer matches", "GET", "/entities?type=Shop&q=name==commercial&expandValues=name", "", ""},
		{"POST query", "POST", "/entityOperations/query?expandValues=category", `{"type": "Query", "entities": [{"type": "Shop"}], "q": "category==commercial"}`, "urn:ngsi-ld:Shop:1"},
		{"POST query as written", "POST", "/entityOperations/query", `{"type": "Query", "entities": [{"type": "Shop"}], "q": "category==commercial"}`, ""},
		{"temporal query", "GET", "/temporal/entities?type=Shop&q=category==commercial&expandValues=category" + window, "", "urn:ngsi-ld:Shop:1"},
		{"temporal query as written", "GET", "/temporal/entities?type=Shop&q=category==commercial" + window, "", ""},
	} {
		ct := ""
		if c.body != "" {
			ct = "application/json"
		}
		resp, b := do(t, c.method, v1+c.path, ct, c.body)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, b)
			continue
		}
		if got := ids(b); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	// A user @context expands the term to its own IRI.
	body := `{"@context": {"kind": "https://example.org/kind", "depot": "https://example.org/vocab/depot"},
		"id": "urn:ngsi-ld:Shop:3", "type": "Shop", "kind": {"type": "VocabProperty", "vocab": "depot"}}`
	if resp, b := do(t, "POST", v1+"/entities", "application/ld+json", body); resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	resp, b := do(t, "POST", v1+"/entityOperations/query?expandValues=kind", "application/ld+json",
		`{"@context": {"kind": "https://example.org/kind", "depot": "https://example.org/vocab/depot"}, "type": "Query", "entities": [{"type": "Shop"}], "q": "kind==depot"}`)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "urn:ngsi-ld:Shop:3") {
		t.Errorf("user @context: %d %s", resp.StatusCode, b)
	}
	// Malformed: 400 BadRequestData.
	for _, bad := range []string{"expandValues=a,,b", "expandValues=a%7Bb%7D", "expandValues=a%20b"} {
		resp, b := do(t, "GET", v1+"/entities?type=Shop&q=category==commercial&"+bad, "", "")
		if resp.StatusCode != 400 || !strings.Contains(string(b), "expandValues") {
			t.Errorf("%s: %d %s", bad, resp.StatusCode, b)
		}
	}
}
