package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestLongQueryPages pages through a within query whose polygon makes the
// URL several KB long (the size that the unescape and link memos keep):
// every page, asked for twice, gives the same entities and the same links,
// and the links lead to the next and previous pages.
func TestLongQueryPages(t *testing.T) {
	srv := newTestServer(t)
	var ids []string
	for i := range 7 {
		id := fmt.Sprintf("urn:ngsi-ld:Spot:%02d", i)
		ids = append(ids, id)
		body := fmt.Sprintf(`{"id":%q,"type":"Spot","location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[%g,%g]}}}`,
			id, 71.4+0.001*float64(i), 51.1)
		resp, err := http.Post(srv.URL+"/ngsi-ld/v1/entities", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create %s: %d", id, resp.StatusCode)
		}
	}
	// A 200-gon around the spots: ~8 KB of coordinates once escaped.
	var ring []string
	for k := range 200 {
		a := 2 * math.Pi * float64(k) / 200
		ring = append(ring, fmt.Sprintf("[%.9f,%.9f]", 71.403+0.05*math.Cos(a), 51.1+0.05*math.Sin(a)))
	}
	ring = append(ring, ring[0])
	coords := "[[" + strings.Join(ring, ",") + "]]"
	first := srv.URL + "/ngsi-ld/v1/entities?type=Spot&georel=within&geometry=Polygon&limit=3&coordinates=" + url.QueryEscape(coords)
	if len(first) < 4096 {
		t.Fatalf("the URL is only %d bytes", len(first))
	}
	get := func(u string) ([]string, map[string]string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET: %d", resp.StatusCode)
		}
		var es []struct {
			ID string `json:"id"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&es); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.ID)
		}
		l := links(resp)
		for rel, target := range l {
			l[rel] = srv.URL + target
		}
		return got, l
	}
	var seen []string
	u := first
	for page := 0; u != ""; page++ {
		if page > 5 {
			t.Fatal("too many pages")
		}
		got, l := get(u)
		again, l2 := get(u)
		if strings.Join(got, " ") != strings.Join(again, " ") || fmt.Sprint(l) != fmt.Sprint(l2) {
			t.Fatalf("page %d differs when asked again: %v %v, then %v %v", page, got, l, again, l2)
		}
		if page > 0 {
			back, _ := get(l["prev"])
			if want := seen[len(seen)-3:]; strings.Join(back, " ") != strings.Join(want, " ") {
				t.Fatalf("page %d: prev gives %v, want %v", page, back, want)
			}
		}
		seen = append(seen, got...)
		u = l["next"]
	}
	if strings.Join(seen, " ") != strings.Join(ids, " ") {
		t.Fatalf("pages give %v, want %v", seen, ids)
	}
}
