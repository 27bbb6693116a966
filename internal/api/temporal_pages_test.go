package api_test

import (
	"cmp"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/api"
)

var linkRe = regexp.MustCompile(`<([^>]*)>; rel="([^"]+)"`)

// links returns the targets of the response's Link values by relation.
func links(resp *http.Response) map[string]string {
	out := map[string]string{}
	for _, v := range resp.Header.Values("Link") {
		for _, m := range linkRe.FindAllStringSubmatch(v, -1) {
			out[m[2]] = m[1]
		}
	}
	return out
}

// followInstances follows the links of relation rel from url, collecting
// the "value"s of attr's instances of entity id in each page (a retrieval,
// or a query whose result holds the entity); it returns them in page order
// and the statuses of the pages.
func followInstances(t *testing.T, base, url, rel, attr string) ([]float64, []int) {
	t.Helper()
	var vals []float64
	var statuses []int
	for page := 0; url != ""; page++ {
		if page > 20 {
			t.Fatalf("more than 20 pages following %s", rel)
		}
		resp, b := do(t, "GET", base+url, "", "")
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode != 200 && resp.StatusCode != 206 {
			t.Fatalf("%s: %d %s", url, resp.StatusCode, b)
		}
		for _, in := range instancesOf(t, b, attr) {
			vals = append(vals, in["value"].(float64))
		}
		next := links(resp)[rel]
		if (resp.StatusCode == 206) != (next != "") {
			t.Fatalf("%s: status %d with %s link %q", url, resp.StatusCode, rel, next)
		}
		url = next
	}
	return vals, statuses
}

// TestTemporalIntervalLinks: a temporal response cut to a time range (206
// with Content-Range, clause 6.3.10) links to the rest of the range:
// rel="intervalafter" forwards without lastN, rel="intervalbefore"
// backwards with it (the relations of TS 104 176 clause 6.4.7, with the
// v1.8 parameters). Following them yields every instance exactly once, in
// order, and the last page is 200 without a link.
func TestTemporalIntervalLinks(t *testing.T) {
	srv := newTestServerWith(t, func(c *api.Config) { c.TemporalLimit = 10 })
	t0 := time.Date(2020, 1, 1, 1, 0, 0, 0, time.UTC)
	// speed 1..25 on the first day, fuelLevel 1..25 a day later.
	body := temporalBody("urn:ngsi-ld:Vehicle:p", []string{"speed", "fuelLevel"}, 25, t0, 24*time.Hour)
	if resp, b := do(t, "POST", srv.URL+"/ngsi-ld/v1/temporal/entities", "application/json", body); resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	one := "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Vehicle:p"
	seq := func(from, to int) []float64 {
		var s []float64
		for i := from; i != to; {
			s = append(s, float64(i))
			if from < to {
				i++
			} else {
				i--
			}
		}
		return append(s, float64(to))
	}
	for _, c := range []struct {
		name, url, rel, attr string
		want                 []float64
	}{
		{"no timerel", one + "?attrs=speed", "intervalafter", "speed", seq(1, 25)},
		{"after", one + "?timerel=after&timeAt=2019-01-01T00:00:00Z", "intervalafter", "fuelLevel", seq(1, 25)},
		{"between", one + "?timerel=between&timeAt=2020-01-01T01:03:00Z&endTimeAt=2020-01-01T01:24:00Z", "intervalafter", "speed", seq(4, 24)},
		{"before", one + "?timerel=before&timeAt=2020-01-02T01:20:00Z&attrs=fuelLevel", "intervalafter", "fuelLevel", seq(1, 20)},
		{"lastN before", one + "?lastN=25&timerel=before&timeAt=2021-01-01T00:00:00Z&attrs=speed", "intervalbefore", "speed", seq(25, 1)},
		{"lastN after", one + "?lastN=25&timerel=after&timeAt=2020-01-02T01:02:00Z&attrs=fuelLevel", "intervalbefore", "fuelLevel", seq(25, 3)},
		{"lastN between", one + "?lastN=25&timerel=between&timeAt=2020-01-01T01:02:00Z&endTimeAt=2020-01-01T01:22:00Z&attrs=speed", "intervalbefore", "speed", seq(22, 3)},
		{"query", "/ngsi-ld/v1/temporal/entities?type=Vehicle&attrs=speed&timerel=after&timeAt=2020-01-01T00:00:00Z", "intervalafter", "", seq(1, 25)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []float64
			var statuses []int
			if c.attr == "" {
				got, statuses = followQuery(t, srv.URL, c.url, c.rel, "speed")
			} else {
				got, statuses = followInstances(t, srv.URL, c.url, c.rel, c.attr)
			}
			// lastN pages backwards: each page is in time order, pages go back.
			if c.rel == "intervalbefore" {
				got = descending(got)
			}
			if len(statuses) < 2 || statuses[len(statuses)-1] != 200 {
				t.Errorf("statuses %v: want 206 pages then 200", statuses)
			}
			if !equalFloats(got, c.want) {
				t.Errorf("instances %v, want %v", got, c.want)
			}
		})
	}
}

// followQuery is followInstances for a query's result (a JSON array).
func followQuery(t *testing.T, base, url, rel, attr string) ([]float64, []int) {
	t.Helper()
	var vals []float64
	var statuses []int
	for page := 0; url != ""; page++ {
		if page > 20 {
			t.Fatal("more than 20 pages")
		}
		resp, b := do(t, "GET", base+url, "", "")
		statuses = append(statuses, resp.StatusCode)
		var list []json.RawMessage
		if err := json.Unmarshal(b, &list); err != nil || len(list) != 1 {
			t.Fatalf("%s: %d %s", url, resp.StatusCode, b)
		}
		for _, in := range instancesOf(t, list[0], attr) {
			vals = append(vals, in["value"].(float64))
		}
		url = links(resp)[rel]
	}
	return vals, statuses
}

// descending orders the values of backward pages (each in time order,
// the pages going back) newest first; duplicates stay, and fail the test.
func descending(v []float64) []float64 {
	out := slices.Clone(v)
	slices.SortFunc(out, func(a, b float64) int { return cmp.Compare(b, a) })
	return out
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTemporalEntityPageLinks: GET /temporal/entities pages entities with
// limit and offset and links the pages like GET /entities (clause 5.5.9,
// 6.3.10): rel="next" while entities remain, rel="prev" after the first.
func TestTemporalEntityPageLinks(t *testing.T) {
	srv := newTestServer(t)
	t0 := time.Date(2020, 1, 1, 1, 0, 0, 0, time.UTC)
	for _, id := range []string{"a", "b", "c"} {
		body := temporalBody("urn:ngsi-ld:Vehicle:"+id, []string{"speed"}, 2, t0, 0)
		if resp, b := do(t, "POST", srv.URL+"/ngsi-ld/v1/temporal/entities", "application/json", body); resp.StatusCode != 201 {
			t.Fatalf("create: %d %s", resp.StatusCode, b)
		}
	}
	url := "/ngsi-ld/v1/temporal/entities?type=Vehicle&timerel=after&timeAt=2019-01-01T00:00:00Z&limit=2"
	var ids []string
	var prevs []string
	for page := 0; url != ""; page++ {
		if page > 5 {
			t.Fatal("too many pages")
		}
		resp, b := do(t, "GET", srv.URL+url, "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", url, resp.StatusCode, b)
		}
		var list []struct{ ID string }
		json.Unmarshal(b, &list)
		for _, e := range list {
			ids = append(ids, e.ID)
		}
		l := links(resp)
		prevs = append(prevs, l["prev"])
		if !strings.Contains(resp.Header.Get("Link"), "json-ld#context") {
			t.Errorf("the @context link is lost: %v", resp.Header.Values("Link"))
		}
		url = l["next"]
	}
	if strings.Join(ids, " ") != "urn:ngsi-ld:Vehicle:a urn:ngsi-ld:Vehicle:b urn:ngsi-ld:Vehicle:c" {
		t.Errorf("pages hold %v", ids)
	}
	if len(prevs) != 2 || prevs[0] != "" || !strings.Contains(prevs[1], "offset=0") || !strings.Contains(prevs[1], "limit=2") {
		t.Errorf("prev links %q", prevs)
	}
	// A page that ends the result exactly: no next.
	resp, _ := do(t, "GET", srv.URL+"/ngsi-ld/v1/temporal/entities?type=Vehicle&timerel=after&timeAt=2019-01-01T00:00:00Z&limit=3", "", "")
	if _, ok := links(resp)["next"]; ok {
		t.Errorf("next link on the last page: %v", resp.Header.Values("Link"))
	}
}
