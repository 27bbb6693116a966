package api_test

import (
	"strings"
	"testing"
)

// TestLinkedEntityQ: a q linked-entity path "rel{path}" is a sub-query on
// the entities the Relationship rel points at, in the request's tenant
// (clause 4.9 of v1.9, EXAMPLE 13; "rel{Type:path}" restricts them to a
// type, EXAMPLE 14), within the join depth asked for (clause 5.7.2.4).
func TestLinkedEntityQ(t *testing.T) {
	srv := newTestServer(t)
	v1 := srv.URL + "/ngsi-ld/v1"
	create := func(tenant, body string) {
		t.Helper()
		resp, b := do(t, "POST", v1+"/entities", "application/json", body, "NGSILD-Tenant", tenant)
		if resp.StatusCode != 201 {
			t.Fatalf("create in %q: %d %s", tenant, resp.StatusCode, b)
		}
	}
	for _, tenant := range []string{"", "other"} {
		name := "Pisa Tower"
		if tenant != "" {
			name = "Not Pisa" // the same ids elsewhere must not leak in
		}
		create(tenant, `{"id": "urn:ngsi-ld:Building:pisa", "type": "Building", "name": {"type": "Property", "value": "`+name+`"}, "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:anna"}}`)
		create(tenant, `{"id": "urn:ngsi-ld:Building:baiterek", "type": "Building", "name": {"type": "Property", "value": "Baiterek"}}`)
		create(tenant, `{"id": "urn:ngsi-ld:Person:anna", "type": "Person", "name": {"type": "Property", "value": "Anna"}}`)
		create(tenant, `{"id": "urn:ngsi-ld:Sensor:1", "type": "Sensor", "managedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Building:pisa"}}`)
		create(tenant, `{"id": "urn:ngsi-ld:Sensor:2", "type": "Sensor", "managedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Building:baiterek"}}`)
	}
	ids := func(b []byte) string {
		var out []string
		for _, id := range []string{"urn:ngsi-ld:Sensor:1", "urn:ngsi-ld:Sensor:2"} {
			if strings.Contains(string(b), `"`+id+`"`) {
				out = append(out, id)
			}
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct{ name, tenant, method, path, body, want string }{
		{"one level", "", "GET", `/entities?type=Sensor&q=managedBy{name}==%22Pisa%20Tower%22&join=inline&pick=id`, "", "urn:ngsi-ld:Sensor:1"},
		{"type hint", "", "GET", `/entities?type=Sensor&q=managedBy{Building:name}==%22Pisa%20Tower%22&join=flat&pick=id`, "", "urn:ngsi-ld:Sensor:1"},
		{"other type hint", "", "GET", `/entities?type=Sensor&q=managedBy{Vehicle:name}==%22Pisa%20Tower%22&join=inline&pick=id`, "", ""},
		{"two levels", "", "GET", `/entities?type=Sensor&q=managedBy{owner{name}}==%22Anna%22&join=inline&joinLevel=2&pick=id`, "", "urn:ngsi-ld:Sensor:1"},
		{"existence, counted", "", "GET", `/entities?type=Sensor&q=managedBy{owner}&join=inline&pick=id&count=true`, "", "urn:ngsi-ld:Sensor:1"},
		{"other tenant", "other", "GET", `/entities?type=Sensor&q=managedBy{name}==%22Pisa%20Tower%22&join=inline&pick=id`, "", ""},
		{"POST query", "", "POST", `/entityOperations/query?join=inline&pick=id`, `{"type": "Query", "entities": [{"type": "Sensor"}], "q": "managedBy{name}==\"Baiterek\""}`, "urn:ngsi-ld:Sensor:2"},
		{"POST query, join in the body", "", "POST", `/entityOperations/query?pick=id`, `{"type": "Query", "entities": [{"type": "Sensor"}], "q": "managedBy{name}==\"Baiterek\"", "join": "flat"}`, "urn:ngsi-ld:Sensor:2"},
	} {
		ct := ""
		if c.body != "" {
			ct = "application/json"
		}
		resp, b := do(t, c.method, v1+c.path, ct, c.body, "NGSILD-Tenant", c.tenant)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, b)
			continue
		}
		if got := ids(b); got != c.want {
			t.Errorf("%s: got %q, want %q (%s)", c.name, got, c.want, b)
		}
		if c.name == "existence, counted" && resp.Header.Get("NGSILD-Results-Count") != "1" {
			t.Errorf("count %q", resp.Header.Get("NGSILD-Results-Count"))
		}
	}
}
