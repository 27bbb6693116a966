package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/api"
)

// temporalBody builds an EntityTemporal of n readings a minute apart for
// each attribute, from t0, attributes offset by offset minutes each.
func temporalBody(id string, attrs []string, n int, t0 time.Time, offset time.Duration) string {
	parts := []string{fmt.Sprintf(`"id":%q,"type":"Vehicle"`, id)}
	for k, a := range attrs {
		var insts []string
		for i := range n {
			at := t0.Add(time.Duration(i)*time.Minute + time.Duration(k)*offset)
			insts = append(insts, fmt.Sprintf(`{"type":"Property","value":%d,"observedAt":%q}`, i+1, at.Format(time.RFC3339)))
		}
		parts = append(parts, fmt.Sprintf("%q:[%s]", a, strings.Join(insts, ",")))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

type temporalDoc map[string]json.RawMessage

func instancesOf(t *testing.T, b []byte, attr string) []map[string]any {
	t.Helper()
	var d temporalDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	var out []map[string]any
	if raw, ok := d[attr]; ok {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: %v", attr, err)
		}
	}
	return out
}

// TestTemporalPagination: with more instances than the limit, the response
// is 206 Partial Content with a Content-Range of DateTimes (clause 6.3.10),
// every attribute cut to the same range, forwards without lastN and
// backwards with it; the next page continues from the range's end.
func TestTemporalPagination(t *testing.T) {
	srv := newTestServerWith(t, func(c *api.Config) { c.TemporalLimit = 10 })
	t0 := time.Date(2020, 1, 1, 1, 0, 0, 0, time.UTC)
	// speed on the first day, fuelLevel a day later: unsynchronised.
	body := temporalBody("urn:ngsi-ld:Vehicle:p", []string{"speed", "fuelLevel"}, 25, t0, 24*time.Hour)
	if resp, b := do(t, "POST", srv.URL+"/ngsi-ld/v1/temporal/entities", "application/json", body); resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	base := srv.URL + "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Vehicle:p"

	resp, b := do(t, "GET", base+"?timerel=after&timeAt=2019-01-01T00:00:00Z", "", "")
	if resp.StatusCode != 206 {
		t.Fatalf("more instances than the limit: %d %s", resp.StatusCode, b)
	}
	if got, want := resp.Header.Get("Content-Range"), "date-time 2019-01-01T00:00:00Z-2020-01-01T01:09:00Z/*"; got != want {
		t.Errorf("Content-Range %q, want %q", got, want)
	}
	if n := len(instancesOf(t, b, "speed")); n != 10 {
		t.Errorf("%d speed instances, want the limit 10", n)
	}
	var whole temporalDoc
	if err := json.Unmarshal(b, &whole); err != nil {
		t.Fatal(err)
	}
	if string(whole["fuelLevel"]) != "[]" {
		t.Errorf("fuelLevel, later than the range, is %s; want []", whole["fuelLevel"])
	}
	// The next page starts at the end of the range.
	resp, b = do(t, "GET", base+"?timerel=after&timeAt=2020-01-01T01:10:00Z", "", "")
	if resp.StatusCode != 206 || instancesOf(t, b, "speed")[0]["value"] != 11.0 {
		t.Errorf("next page: %d %s", resp.StatusCode, b)
	}
	// lastN beyond the limit pages backwards: the range runs from the most
	// recent down, and its size is lastN.
	resp, b = do(t, "GET", base+"?lastN=15&timerel=before&timeAt=2021-01-01T00:00:00Z", "", "")
	if resp.StatusCode != 206 {
		t.Fatalf("lastN beyond the limit: %d", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Content-Range"), "date-time 2021-01-01T00:00:00Z-2020-01-02T01:15:00Z/15"; got != want {
		t.Errorf("Content-Range %q, want %q", got, want)
	}
	if fuel := instancesOf(t, b, "fuelLevel"); len(fuel) != 10 || fuel[0]["value"] != 16.0 {
		t.Errorf("the last 10 fuelLevel: %v", fuel)
	}
	// lastN within the limit is what was asked for: 200.
	resp, b = do(t, "GET", base+"?lastN=3", "", "")
	if resp.StatusCode != 200 || len(instancesOf(t, b, "speed")) != 3 || resp.Header.Get("Content-Range") != "" {
		t.Errorf("lastN=3: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Range"), b)
	}
	// Within the limit: 200, no Content-Range.
	resp, _ = do(t, "GET", base+"?timerel=between&timeAt=2020-01-01T01:00:00Z&endTimeAt=2020-01-01T01:05:00Z", "", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Range") != "" {
		t.Errorf("a range within the limit: %d %q", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	// A query of several entities shares one range.
	if resp, b := do(t, "POST", srv.URL+"/ngsi-ld/v1/temporal/entities", "application/json",
		temporalBody("urn:ngsi-ld:Vehicle:q", []string{"speed"}, 25, t0.Add(5*time.Minute), 0)); resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	resp, b = do(t, "GET", srv.URL+"/ngsi-ld/v1/temporal/entities?type=Vehicle&attrs=speed&timerel=after&timeAt=2020-01-01T00:00:00Z", "", "")
	if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != "date-time 2020-01-01T00:00:00Z-2020-01-01T01:09:00Z/*" {
		t.Fatalf("query: %d %q", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	var list []json.RawMessage
	json.Unmarshal(b, &list)
	if len(list) != 2 || len(instancesOf(t, list[1], "speed")) != 5 {
		t.Errorf("the second entity is cut to the same range: %s", b)
	}
}

// TestTemporalCaptureDeletion: deleting an attribute through the entity
// API leaves a record the temporal API shows with timeproperty=deletedAt,
// holding the NGSI-LD Null (clause 4.5.7 of v1.8).
func TestTemporalCaptureDeletion(t *testing.T) {
	srv := newTestServer(t)
	v1 := srv.URL + "/ngsi-ld/v1"
	if resp, b := do(t, "POST", v1+"/entities", "application/json",
		`{"id":"urn:ngsi-ld:Vehicle:1","type":"Vehicle","speed":{"type":"Property","value":80,"observedAt":"2026-01-01T10:00:00Z"},
		  "isParkedIn":{"type":"Relationship","object":"urn:ngsi-ld:Parking:1"},"name":{"type":"LanguageProperty","languageMap":{"en":"car"}}}`); resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	before := time.Now().UTC().Add(-time.Second)
	for _, a := range []string{"speed", "isParkedIn", "name"} {
		if resp, b := do(t, "DELETE", v1+"/entities/urn:ngsi-ld:Vehicle:1/attrs/"+a, "", ""); resp.StatusCode != 204 {
			t.Fatalf("delete %s: %d %s", a, resp.StatusCode, b)
		}
	}
	resp, b := do(t, "GET", v1+"/temporal/entities/urn:ngsi-ld:Vehicle:1?timeproperty=deletedAt", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	for attr, member := range map[string]string{"speed": "value", "isParkedIn": "object", "name": "languageMap"} {
		insts := instancesOf(t, b, attr)
		if len(insts) != 1 {
			t.Fatalf("%s: %v", attr, insts)
		}
		del, err := time.Parse(time.RFC3339, insts[0]["deletedAt"].(string))
		if err != nil || del.Before(before) {
			t.Errorf("%s deletedAt %v", attr, insts[0]["deletedAt"])
		}
		got, _ := json.Marshal(insts[0][member])
		if !strings.Contains(string(got), "urn:ngsi-ld:null") {
			t.Errorf("%s %s = %s, want the NGSI-LD Null", attr, member, got)
		}
	}
	// The simplified form pairs the Null with deletedAt.
	resp, b = do(t, "GET", v1+"/temporal/entities/urn:ngsi-ld:Vehicle:1?timeproperty=deletedAt&options=temporalValues&attrs=isParkedIn", "", "")
	var d map[string]struct {
		Type    string
		Objects [][]any
	}
	json.Unmarshal(b, &d)
	if o := d["isParkedIn"].Objects; resp.StatusCode != 200 || len(o) != 1 || o[0][0] != "urn:ngsi-ld:null" {
		t.Errorf("temporalValues of a deleted relationship: %s", b)
	}
	// Deleting the entity keeps its history, with deletedAt.
	if resp, _ := do(t, "DELETE", v1+"/entities/urn:ngsi-ld:Vehicle:1", "", ""); resp.StatusCode != 204 {
		t.Fatal("delete entity")
	}
	resp, b = do(t, "GET", v1+"/temporal/entities/urn:ngsi-ld:Vehicle:1?attrs=speed&options=temporalValues", "", "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"deletedAt"`) {
		t.Errorf("history of a deleted entity: %d %s", resp.StatusCode, b)
	}
}

// TestTemporalLD: an application/ld+json body carries its @context, which
// expands the attribute names; the response compacts them with the Link
// header's context and carries @context when asked for ld+json.
func TestTemporalLD(t *testing.T) {
	srv := newTestServer(t)
	v1 := srv.URL + "/ngsi-ld/v1"
	body := `{"@context":{"speed":"https://example.org/vocab#speed","Car":"https://example.org/vocab#Car"},
		"id":"urn:ngsi-ld:Car:1","type":"Car","speed":[{"type":"Property","value":1,"observedAt":"2026-01-01T00:00:00Z"}]}`
	if resp, b := do(t, "POST", v1+"/temporal/entities", "application/ld+json", body); resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	resp, b := do(t, "GET", v1+"/temporal/entities/urn:ngsi-ld:Car:1", "", "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"https://example.org/vocab#speed"`) || !strings.Contains(string(b), `"https://example.org/vocab#Car"`) {
		t.Errorf("without the context names stay expanded: %s", b)
	}
	resp, b = do(t, "GET", v1+"/temporal/entities/urn:ngsi-ld:Car:1?attrs=https://example.org/vocab%23speed", "", "", "Accept", "application/ld+json")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"@context"`) || resp.Header.Get("Content-Type") != "application/ld+json" {
		t.Errorf("ld+json: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if resp, _ := do(t, "GET", v1+"/temporal/entities/urn:ngsi-ld:Car:1", "", "", "Accept", "application/geo+json"); resp.StatusCode != 406 {
		t.Errorf("geo+json: %d, want 406", resp.StatusCode)
	}
}
