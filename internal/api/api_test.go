package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/api"
	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/store/embedded"
	"github.com/qala-city/qala/internal/subscription"
	"github.com/qala-city/qala/internal/temporal"
)

func do(t testing.TB, method, url, ct, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

// TestBodyLimit: a body over the configured limit is 413 PayloadTooLarge, and
// a batch over the batch limit too.
func TestBodyLimit(t *testing.T) {
	srv := newTestServer(t)
	big := `{"id":"urn:ngsi-ld:X:1","type":"X","p":{"type":"Property","value":"` + strings.Repeat("a", 2<<20) + `"}}`
	resp, b := do(t, "POST", srv.URL+"/ngsi-ld/v1/entities", "application/json", big)
	if resp.StatusCode != 413 || !strings.Contains(string(b), "PayloadTooLarge") {
		t.Errorf("2 MiB body: %d %s", resp.StatusCode, b)
	}
	var items []string
	for i := 0; i < 101; i++ {
		items = append(items, `"urn:ngsi-ld:X:`+string(rune('a'+i%26))+`"`)
	}
	resp, b = do(t, "POST", srv.URL+"/ngsi-ld/v1/entityOperations/delete", "application/json", "["+strings.Join(items, ",")+"]")
	if resp.StatusCode != 413 {
		t.Errorf("batch of 101 with a limit of 100: %d %s", resp.StatusCode, b)
	}
}

// TestHostedContexts walks the /jsonldContexts API (clause 5.13): add, use
// in a Link header, list, serve, delete.
func TestHostedContexts(t *testing.T) {
	srv := newTestServer(t)
	resp, b := do(t, "POST", srv.URL+"/ngsi-ld/v1/jsonldContexts", "application/json",
		`{"@context": {"Bus": "https://example.org/astana/Bus", "route": "https://example.org/astana/route"}}`)
	if resp.StatusCode != 201 {
		t.Fatalf("add: %d %s", resp.StatusCode, b)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/ngsi-ld/v1/jsonldContexts/") {
		t.Fatalf("Location %q", loc)
	}
	link := `<` + srv.URL + loc + `>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`
	resp, b = do(t, "POST", srv.URL+"/ngsi-ld/v1/entities", "application/json",
		`{"id":"urn:ngsi-ld:Bus:1","type":"Bus","route":{"type":"Property","value":"12"}}`, "Link", link)
	if resp.StatusCode != 201 {
		t.Fatalf("create with hosted context: %d %s", resp.StatusCode, b)
	}
	// Without the context the terms come back expanded with the hosted IRIs.
	_, b = do(t, "GET", srv.URL+"/ngsi-ld/v1/entities/urn:ngsi-ld:Bus:1?options=keyValues", "", "")
	if !strings.Contains(string(b), `"https://example.org/astana/route":"12"`) {
		t.Errorf("expanded read: %s", b)
	}
	_, b = do(t, "GET", srv.URL+"/ngsi-ld/v1/entities/urn:ngsi-ld:Bus:1?options=keyValues", "", "", "Link", link)
	if !strings.Contains(string(b), `"route":"12"`) || !strings.Contains(string(b), `"type":"Bus"`) {
		t.Errorf("compacted read: %s", b)
	}
	resp, b = do(t, "GET", srv.URL+"/ngsi-ld/v1/jsonldContexts?kind=Hosted&details=true", "", "")
	var list []map[string]any
	if err := json.Unmarshal(b, &list); err != nil || resp.StatusCode != 200 || len(list) != 1 || list[0]["kind"] != "Hosted" {
		t.Fatalf("list: %d %s", resp.StatusCode, b)
	}
	resp, b = do(t, "GET", srv.URL+loc, "", "")
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"route"`)) {
		t.Errorf("serve: %d %s", resp.StatusCode, b)
	}
	if resp, b = do(t, "DELETE", srv.URL+loc, "", ""); resp.StatusCode != 204 {
		t.Errorf("delete: %d %s", resp.StatusCode, b)
	}
	if resp, _ = do(t, "GET", srv.URL+loc, "", ""); resp.StatusCode != 404 {
		t.Errorf("served after delete: %d", resp.StatusCode)
	}
	if resp, _ = do(t, "DELETE", srv.URL+"/ngsi-ld/v1/jsonldContexts/"+url.PathEscape(jsonld.CoreV18), "", ""); resp.StatusCode != 400 {
		t.Errorf("deleting the core context: %d, want 400", resp.StatusCode)
	}
}

// TestCORS: off by default; with origins configured, preflights are answered
// and responses carry the exposed NGSI-LD headers.
func TestCORS(t *testing.T) {
	srv := newTestServer(t)
	resp, _ := do(t, "OPTIONS", srv.URL+"/ngsi-ld/v1/entities", "", "", "Origin", "https://console.astana.kz", "Access-Control-Request-Method", "POST")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS is on by default")
	}

	st, err := embedded.Open(embedded.Options{Dir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, _ := jsonld.New(jsonld.Config{})
	cors := httptest.NewServer(api.New(api.Config{CORSOrigins: []string{"https://console.astana.kz"}}, st, res, nil, nil))
	defer cors.Close()
	resp, _ = do(t, "OPTIONS", cors.URL+"/ngsi-ld/v1/entities", "", "", "Origin", "https://console.astana.kz", "Access-Control-Request-Method", "POST")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://console.astana.kz" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(t, "GET", cors.URL+"/ngsi-ld/v1/entities?type=X", "", "", "Origin", "https://evil.example")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a foreign origin was allowed")
	}
}

// FuzzAPI sends arbitrary requests to every route: whatever comes in, the
// answer is never a 5xx, and every error is a ProblemDetails body.
func FuzzAPI(f *testing.F) {
	paths := []string{"/ngsi-ld/v1/entities", "/ngsi-ld/v1/entities/urn:ngsi-ld:X:1", "/ngsi-ld/v1/entities/urn:ngsi-ld:X:1/attrs",
		"/ngsi-ld/v1/entities/urn:ngsi-ld:X:1/attrs/p", "/ngsi-ld/v1/entityOperations/create", "/ngsi-ld/v1/entityOperations/upsert",
		"/ngsi-ld/v1/entityOperations/update", "/ngsi-ld/v1/entityOperations/merge", "/ngsi-ld/v1/entityOperations/delete",
		"/ngsi-ld/v1/jsonldContexts", "/ngsi-ld/v1/jsonldContexts/x",
		"/ngsi-ld/v1/temporal/entities", "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:X:1", "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:X:1/attrs",
		"/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:X:1/attrs/p", "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:X:1/attrs/p/urn:ngsi-ld:Instance:1.1767225600000.0",
		"/ngsi-ld/v1/temporal/entityOperations/query", "/ngsi-ld/v1/subscriptions", "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:1"}
	methods := []string{"GET", "POST", "PATCH", "PUT", "DELETE"}
	// Link headers come from a fixed set: the fuzzer must not make the
	// server fetch @contexts from arbitrary hosts.
	links := []string{"", `<https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld>; rel="http://www.w3.org/ns/json-ld#context"`,
		`<https://smartdatamodels.org/context.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`,
		`<urn:x>; rel="http://www.w3.org/ns/json-ld#context"`, `garbage<>;;`, `<http://127.0.0.1:1/c.jsonld>; rel="http://www.w3.org/ns/json-ld#context"`}
	f.Add(uint8(1), uint8(0), "", `{"id":"urn:ngsi-ld:X:1","type":"X","p":{"type":"Property","value":1}}`, "application/json", uint8(0))
	f.Add(uint8(3), uint8(2), "options=noOverwrite", `{"p":{"value":[1,{"a":null}]}}`, "application/ld+json", uint8(1))
	f.Add(uint8(5), uint8(1), "", `[{"id":"urn:ngsi-ld:X:1","type":"X","@context":{"X":"urn:x"}}]`, "application/ld+json", uint8(0))
	f.Add(uint8(0), uint8(0), "type=X&attrs=p&count=true&limit=0", ``, "", uint8(3))
	f.Add(uint8(1), uint8(0), "options=keyValues,sysAttrs&lang=fr;q=0.5", ``, "", uint8(2))
	f.Add(uint8(1), uint8(11), "", `{"id":"urn:ngsi-ld:X:1","type":"X","p":[{"type":"Property","value":1,"observedAt":"2026-01-01T00:00:00Z"},{"value":"a","datasetId":"urn:d"}]}`, "application/json", uint8(0))
	f.Add(uint8(0), uint8(12), "options=aggregatedValues&aggrMethods=avg,distinctCount&aggrPeriodDuration=P1M&timerel=before&timeAt=2027-01-01T00:00:00Z", ``, "", uint8(0))
	f.Add(uint8(0), uint8(11), "type=X&timerel=between&timeAt=2026-01-01T00:00:00Z&endTimeAt=2026-02-01T00:00:00Z&q=p>0&lastN=2&options=temporalValues", ``, "", uint8(1))
	f.Add(uint8(1), uint8(16), "", `{"type":"Query","entities":[{"type":"X"}],"temporalQ":{"timerel":"after","timeAt":"2026-01-01T00:00:00Z","lastN":3}}`, "application/json", uint8(0))
	f.Add(uint8(2), uint8(15), "", `[{"type":"Property","value":2}]`, "application/json", uint8(0))
	f.Add(uint8(1), uint8(11), "", `{"id":"urn:ngsi-ld:X:1","type":"X","scope":[{"type":"Property","value":["/a","/b"],"observedAt":"2026-01-01T00:00:00Z"}],"r":{"type":"Relationship","object":"urn:ngsi-ld:null"}}`, "application/json", uint8(0))
	f.Add(uint8(1), uint8(16), "", `{"type":"Query","entities":[{"type":"X"}],"scopeQ":"/a/#","temporalQ":{"timerel":"after","timeAt":"2026-01-01T00:00:00Z"},"aggrParams":{"aggrMethods":["max"],"aggrPeriodDuration":"PT1H"}}`, "application/json", uint8(0))
	st, err := embedded.Open(embedded.Options{Dir: f.TempDir(), NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	res, _ := jsonld.New(jsonld.Config{})
	hist, err := temporal.Open(temporal.Options{Dir: f.TempDir(), NoSync: true, CompactInterval: -1, RetentionInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	defer hist.Close()
	subs, err := subscription.Open(subscription.Options{Dir: f.TempDir(), Resolver: res, NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	defer subs.Close()
	f.Add(uint8(1), uint8(17), "", `{"id":"urn:ngsi-ld:Subscription:1","type":"Subscription","entities":[{"type":"X"}],"q":"p>1","notification":{"endpoint":{"uri":"http://uri.etsi.org/n"}}}`, "application/json", uint8(0))
	f.Add(uint8(2), uint8(18), "", `{"watchedAttributes":["p"],"geoQ":{"geometry":"Point","coordinates":[1,2],"georel":"near;maxDistance==9"}}`, "application/json", uint8(1))
	f.Add(uint8(0), uint8(17), "count=true&limit=1&offset=1", ``, "", uint8(0))
	h := api.New(api.Config{MaxBody: 1 << 16, History: hist, TemporalLimit: 5, Subscriptions: subs}, st, res, nil, nil)
	f.Fuzz(func(t *testing.T, m, p uint8, query, body, ct string, l uint8) {
		link := links[int(l)%len(links)]
		if strings.Contains(body, "://") && !strings.Contains(body, "uri.etsi.org") && !strings.Contains(body, "smartdatamodels") {
			t.Skip("bodies naming remote @contexts would make the server fetch them")
		}
		target := paths[int(p)%len(paths)]
		if query != "" {
			target += "?" + query
		}
		req := httptest.NewRequest(methods[int(m)%len(methods)], "http://qala"+"/", strings.NewReader(body))
		req.URL.RawQuery = query
		req.URL.Path = paths[int(p)%len(paths)]
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if link != "" {
			req.Header.Set("Link", link)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 && w.Code != 504 {
			t.Fatalf("%s %s → %d %s", req.Method, target, w.Code, w.Body.String())
		}
		if w.Code >= 400 {
			var pd struct{ Type, Title string }
			if err := json.Unmarshal(w.Body.Bytes(), &pd); err != nil || !strings.HasPrefix(pd.Type, "https://uri.etsi.org/ngsi-ld/errors/") || pd.Title == "" {
				t.Fatalf("%s %s → %d with a body that is not ProblemDetails: %s", req.Method, target, w.Code, w.Body.String())
			}
		}
	})
}

// TestQueryTimeout: a query that runs past the configured bound is stopped
// and answered TooComplexQuery (403), not left to run or turned into a 500.
func TestQueryTimeout(t *testing.T) {
	st, err := embedded.Open(embedded.Options{Dir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, _ := jsonld.New(jsonld.Config{})
	srv := httptest.NewServer(api.New(api.Config{QueryTimeout: time.Nanosecond}, st, res, nil, nil))
	defer srv.Close()
	resp, b := do(t, "POST", srv.URL+"/ngsi-ld/v1/entities", "application/json", `{"id":"urn:ngsi-ld:X:1","type":"X"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	resp, b = do(t, "GET", srv.URL+"/ngsi-ld/v1/entities?type=X", "", "")
	if resp.StatusCode != 403 || !strings.Contains(string(b), "TooComplexQuery") {
		t.Errorf("query past its time bound: %d %s", resp.StatusCode, b)
	}
}

// TestQueryMemory: a query that would hold more entities in memory than
// the configured bound is refused TooComplexQuery (403); a smaller page of
// the same query, and counting, pass.
func TestQueryMemory(t *testing.T) {
	st, err := embedded.Open(embedded.Options{Dir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, _ := jsonld.New(jsonld.Config{})
	srv := httptest.NewServer(api.New(api.Config{QueryMemory: 20_000}, st, res, nil, nil))
	defer srv.Close()
	var parts []string
	for i := range 40 {
		parts = append(parts, fmt.Sprintf(`{"id":"urn:ngsi-ld:X:%02d","type":"X","note":{"type":"Property","value":%q}}`, i, strings.Repeat("x", 1000)))
	}
	if resp, b := do(t, "POST", srv.URL+"/ngsi-ld/v1/entityOperations/upsert", "application/json", "["+strings.Join(parts, ",")+"]"); resp.StatusCode != 201 {
		t.Fatalf("upsert: %d %s", resp.StatusCode, b)
	}
	resp, b := do(t, "GET", srv.URL+"/ngsi-ld/v1/entities?type=X&limit=40", "", "")
	if resp.StatusCode != 403 || !strings.Contains(string(b), "TooComplexQuery") || !strings.Contains(string(b), "20000 bytes") {
		t.Errorf("40 entities of 1 KB under a 20 KB bound: %d %s", resp.StatusCode, b)
	}
	for _, target := range []string{"/ngsi-ld/v1/entities?type=X&limit=10", "/ngsi-ld/v1/entities?type=X&limit=0&count=true"} {
		if resp, b := do(t, "GET", srv.URL+target, "", ""); resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", target, resp.StatusCode, b)
		}
	}
}

// TestLargePageStreams: a page of hundreds of entities is streamed (no
// Content-Length, chunked) and is the same valid JSON array a small page is.
func TestLargePageStreams(t *testing.T) {
	srv := newTestServer(t)
	var parts []string
	for i := 0; i < 100; i++ {
		parts = append(parts, fmt.Sprintf(`{"id":"urn:ngsi-ld:Streetlight:%03d","type":"Streetlight","powerState":{"type":"Property","value":"on"}}`, i))
	}
	for _, batch := range [][]string{parts[:50], parts[50:]} {
		if resp, b := do(t, "POST", srv.URL+"/ngsi-ld/v1/entityOperations/upsert", "application/json", "["+strings.Join(batch, ",")+"]"); resp.StatusCode != 201 {
			t.Fatalf("upsert: %d %s", resp.StatusCode, b)
		}
	}
	resp, b := do(t, "GET", srv.URL+"/ngsi-ld/v1/entities?type=Streetlight&limit=100&options=keyValues", "", "")
	if resp.StatusCode != 200 || resp.ContentLength != -1 {
		t.Fatalf("status %d, Content-Length %d (want a streamed body)", resp.StatusCode, resp.ContentLength)
	}
	var list []map[string]any
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("streamed body is not JSON: %v", err)
	}
	if len(list) != 100 || list[0]["id"] != "urn:ngsi-ld:Streetlight:000" || list[99]["powerState"] != "on" {
		t.Errorf("streamed page: %d entities, first %v", len(list), list[0])
	}
	// A small page is sent in one piece with its length.
	resp, _ = do(t, "GET", srv.URL+"/ngsi-ld/v1/entities?type=Streetlight&limit=5", "", "")
	if resp.ContentLength <= 0 {
		t.Errorf("small page has Content-Length %d", resp.ContentLength)
	}
}
