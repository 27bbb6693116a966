package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	randv2 "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/geo"
)

func inAstana(lon, lat float64) bool {
	return lon >= AstanaMinLon && lon <= AstanaMaxLon && lat >= AstanaMinLat && lat <= AstanaMaxLat
}

// parseCoords decodes a coordinates parameter into nested float arrays.
func parseCoords(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("coordinates %q: %v", s, err)
	}
}

// distance returns the distance in metres between two points (equirectangular,
// good to a fraction of a percent over a few kilometres).
func distance(lon1, lat1, lon2, lat2 float64) float64 {
	const r = 6371000.0
	rad := math.Pi / 180
	x := (lon2 - lon1) * rad * math.Cos((lat1+lat2)/2*rad)
	y := (lat2 - lat1) * rad
	return r * math.Hypot(x, y)
}

func TestQueryPaths(t *testing.T) {
	for _, shape := range QueryShapes {
		t.Run(string(shape), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Shape, cfg.Offset = shape, 9000
			rng := randv2.New(randv2.NewPCG(7, 0))
			again := randv2.New(randv2.NewPCG(7, 0))
			distinct := map[string]bool{}
			for range 200 {
				p := queryPath(&cfg, rng)
				if p2 := queryPath(&cfg, again); p2 != p {
					t.Fatalf("same seed, different paths: %q, %q", p, p2)
				}
				distinct[p] = true
				if strings.ContainsAny(p, ";[]<> \"") {
					t.Fatalf("path %q has unescaped characters", p)
				}
				u, err := url.Parse(p)
				if err != nil {
					t.Fatalf("path %q: %v", p, err)
				}
				q := u.Query()
				checkQuery(t, shape, u.Path, q)
			}
			random := shape != ShapeCount && shape != ShapeTypes && shape != ShapeAttributes
			if random && len(distinct) < 5 {
				t.Errorf("%d distinct paths in 200, want parameters drawn per request", len(distinct))
			}
		})
	}
}

func checkQuery(t *testing.T, shape Shape, path string, q url.Values) {
	t.Helper()
	entities := path == "/ngsi-ld/v1/entities"
	if entities && (q.Get("type") != EntityType || q.Get("limit") == "") {
		t.Fatalf("%s: type %q, limit %q", shape, q.Get("type"), q.Get("limit"))
	}
	switch shape {
	case ShapeQFilter:
		var th int
		if _, err := fmt.Sscanf(q.Get("q"), "pm25>%d;pm10<80", &th); err != nil || th < 33 || th > 37 {
			t.Fatalf("q %q (%v), want pm25>33..37;pm10<80", q.Get("q"), err)
		}
	case ShapeNear:
		var pt []float64
		parseCoords(t, q.Get("coordinates"), &pt)
		if q.Get("georel") != "near;maxDistance==500" || q.Get("geometry") != "Point" || len(pt) != 2 || !inAstana(pt[0], pt[1]) {
			t.Fatalf("georel %q geometry %q coordinates %v", q.Get("georel"), q.Get("geometry"), pt)
		}
	case ShapeWithin:
		var poly [][][]float64
		parseCoords(t, q.Get("coordinates"), &poly)
		if q.Get("georel") != "within" || q.Get("geometry") != "Polygon" || len(poly) != 1 || len(poly[0]) != 5 {
			t.Fatalf("georel %q geometry %q coordinates %v", q.Get("georel"), q.Get("geometry"), poly)
		}
		ring := poly[0]
		if fmt.Sprint(ring[0]) != fmt.Sprint(ring[4]) {
			t.Fatalf("ring %v is not closed", ring)
		}
		for i, pt := range ring {
			if !inAstana(pt[0], pt[1]) {
				t.Fatalf("corner %v outside Astana", pt)
			}
			if i < 4 {
				next := ring[i+1]
				if d := distance(pt[0], pt[1], next[0], next[1]); d < 1980 || d > 2020 {
					t.Fatalf("side %d of %v is %.0f m, want 2,000", i, ring, d)
				}
			}
		}
	case ShapeDistrict:
		var coords any
		parseCoords(t, q.Get("coordinates"), &coords)
		g, err := geo.ParseGeometry(map[string]any{"type": q.Get("geometry"), "coordinates": coords})
		if q.Get("georel") != "within" || err != nil || (g.Type != geo.Polygon && g.Type != geo.MultiPolygon) ||
			!g.BBox().Intersects(geo.BBox{MinLon: AstanaMinLon, MinLat: AstanaMinLat, MaxLon: AstanaMaxLon, MaxLat: AstanaMaxLat}) {
			t.Fatalf("georel %q geometry %q: %v, %v", q.Get("georel"), q.Get("geometry"), g, err)
		}
	case ShapeOffset:
		off, err := strconv.Atoi(q.Get("offset"))
		if err != nil || off < 9000 || off >= 10000 {
			t.Fatalf("offset %q, want 9000..9999", q.Get("offset"))
		}
	case ShapeCount:
		if q.Get("count") != "true" || q.Get("limit") != "0" {
			t.Fatalf("count %q limit %q", q.Get("count"), q.Get("limit"))
		}
	case ShapeTypes:
		if path != "/ngsi-ld/v1/types" || q.Get("details") != "true" {
			t.Fatalf("path %s details %q", path, q.Get("details"))
		}
	case ShapeAttributes:
		if path != "/ngsi-ld/v1/attributes" || len(q) != 0 {
			t.Fatalf("path %s query %v", path, q)
		}
	}
}

func TestQueryShapesAgainstBaseline(t *testing.T) {
	b := startBaseline(t)
	d := time.Second
	if testing.Short() {
		d = 300 * time.Millisecond
	}
	for _, shape := range QueryShapes {
		t.Run(string(shape), func(t *testing.T) {
			t.Parallel() // seven 1 s runs, side by side
			cfg := DefaultConfig()
			cfg.URL, cfg.Shape, cfg.Concurrency, cfg.Duration = b.URL, shape, 2, d
			r, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkCounters(t, r)
			if r.Errors != 0 || r.Requests == 0 || r.Statuses["200"] != r.Requests {
				t.Fatalf("requests %d, statuses %v (first error: %s); want only 200", r.Requests, r.Statuses, r.ErrorSample)
			}
			if r.Prepared != 0 || r.EntitiesPerSec != 0 {
				t.Errorf("prepared %d, entities/s %v; a query shape writes nothing", r.Prepared, r.EntitiesPerSec)
			}
		})
	}
}

func TestQueryShapeCountsNon200(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"type":"https://uri.etsi.org/ngsi-ld/errors/BadRequestData"}`, http.StatusBadRequest)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.URL, cfg.Shape, cfg.Concurrency, cfg.MaxRequests = srv.URL, ShapeNear, 2, 50
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 50 || r.Errors != 50 || !strings.Contains(r.ErrorSample, "400") {
		t.Errorf("requests %d, errors %d, sample %q; want 50 errors with a 400", r.Requests, r.Errors, r.ErrorSample)
	}
}

// TestLoadCity loads a small city into a server that records what it gets:
// every entity arrives exactly once, in batches of the asked size.
func TestLoadCity(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	perType := map[string]int{}
	maxBatch := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var es []struct{ ID, Type string }
		if r.URL.Path != "/ngsi-ld/v1/entityOperations/upsert" || json.NewDecoder(r.Body).Decode(&es) != nil {
			http.Error(w, "bad upsert", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, e := range es {
			seen[e.ID]++
			perType[e.Type]++
		}
		maxBatch = max(maxBatch, len(es))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c := City{RunID: "load", Total: 5050, AQ: 505}
	r, err := LoadCity(context.Background(), srv.URL, c, 500, 3, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 11 || r.Errors != 0 {
		t.Fatalf("%d requests, %d errors (%s); want 11 and 0", r.Requests, r.Errors, r.ErrorSample)
	}
	if len(seen) != c.Total || maxBatch != 500 {
		t.Errorf("%d distinct entities in batches up to %d; want %d in batches of 500", len(seen), maxBatch, c.Total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s written %d times", id, n)
		}
	}
	if perType[EntityType] != c.AQ {
		t.Errorf("%d %s, want %d", perType[EntityType], EntityType, c.AQ)
	}
	if _, err := LoadCity(context.Background(), srv.URL, City{Total: 10, AQ: 11}, 5, 1, time.Second); err == nil {
		t.Error("city with more AirQualityObserved than entities: no error")
	}
}

func TestQuerySuiteAgainstFakeQala(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeQalaEnv, "1")
	var log bytes.Buffer
	cfg := DefaultQuerySuiteConfig(true)
	cfg.Qala, cfg.BaselineBin, cfg.Log = self, self, &log
	cfg.Duration, cfg.Concurrency, cfg.SlowConcurrency = 200*time.Millisecond, 4, 1
	cfg.Entities, cfg.AQ, cfg.Batch, cfg.LoadWorkers = 3000, 1200, 100, 2
	rep, err := RunQuerySuite(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("failed steps: %q\nlog:\n%s", rep.Errors, log.String())
	}
	// The fake counts every entity it holds, whatever the type.
	if rep.Loaded != 3000 || rep.Count != 3000 || rep.Load.Requests != 30 {
		t.Errorf("loaded %d in %d requests, count %d; want 3000 in 30", rep.Loaded, rep.Load.Requests, rep.Count)
	}
	if rep.Config.Offset != 180 { // min(90 % of 1200, 1200-1000-20)
		t.Errorf("offset %d, want 180", rep.Config.Offset)
	}
	if len(rep.Pairs) != len(QueryShapes) {
		t.Fatalf("%d pairs, want %d", len(rep.Pairs), len(QueryShapes))
	}
	for _, p := range rep.Pairs {
		if p.Err != "" || p.Qala == nil || p.Baseline == nil {
			t.Fatalf("%s: error %q", p.Shape, p.Err)
		}
		for _, r := range []*Result{p.Qala, p.Baseline} {
			checkCounters(t, r)
			if r.Errors != 0 || r.Requests == 0 {
				t.Errorf("%s against %s: %d requests, %d errors (%s)", p.Shape, r.URL, r.Requests, r.Errors, r.ErrorSample)
			}
		}
		wantC := 4
		if p.Shape == ShapeTypes || p.Shape == ShapeAttributes {
			wantC = 1
		}
		if p.Qala.Concurrency != wantC {
			t.Errorf("%s: %d workers, want %d", p.Shape, p.Qala.Concurrency, wantC)
		}
	}
	if rep.LoadRSS == 0 || rep.EndRSS == 0 {
		t.Errorf("RSS after load %d, at the end %d; want > 0", rep.LoadRSS, rep.EndRSS)
	}
	var md bytes.Buffer
	rep.Markdown(&md)
	out := md.String()
	for _, want := range []string{
		"| workload | Qala req/s | p50 | p99 | baseline req/s | ratio | goal | met |",
		"| q pm25>35;pm10<80, limit 20 |", "≥ 5,000 req/s, p99 ≤ 10 ms",
		"| geo near;maxDistance==500, limit 20 |", "| geo within 2 km square, limit 20 |", "| geo within a district polygon, limit 20 |",
		"| deep paging offset≈90 %, limit 20 |", "p99 ≤ 20 ms",
		"| GET /types?details=true |", "| GET /attributes |", "p99 ≤ 50 ms",
		"| count only (count=true&limit=0) |", "(small city)",
		"Load: 3,000 entities", "RSS: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("json: %v", err)
	}
	if t.Failed() {
		t.Logf("log:\n%s\nmarkdown:\n%s", log.String(), out)
	}
}

func TestRunCommandLoadsTheCity(t *testing.T) {
	b := startBaseline(t)
	var out, errOut bytes.Buffer
	code := Main([]string{"run", "-url", b.URL, "-shape", "within", "-city", "2500", "-batch", "1000",
		"-c", "2", "-d", "200ms", "-seed", "3"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "city upsert") || !strings.Contains(lines[0], "requests=3 ok=3") ||
		!strings.HasPrefix(lines[1], "within") || !strings.Contains(lines[1], "errors=0") {
		t.Errorf("output:\n%s", out.String())
	}
	if code := Main([]string{"querysuite"}, &out, &errOut); code != 2 {
		t.Errorf("querysuite without -qala: exit %d, want 2", code)
	}
	if code := Main([]string{"run", "-url", b.URL, "-shape", "nearby"}, &out, &errOut); code != 1 {
		t.Errorf("unknown shape: exit %d, want 1", code)
	}
}

// TestHistorySettled: the wait ends once qala_history_cursor reaches
// qala_store_last_seq, fails when it does not within the bound, and when
// the metrics are missing.
func TestHistorySettled(t *testing.T) {
	var calls atomic.Int64
	var stuck atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cursor := calls.Add(1) * 100 // catches up with 500 on the 5th scrape
		if stuck.Load() {
			cursor = 1
		}
		fmt.Fprintf(w, "# TYPE qala_history_cursor gauge\nqala_history_cursor_other 1\nqala_history_cursor %d\nqala_store_last_seq 500\n", cursor)
	}))
	defer srv.Close()
	if err := historySettled(context.Background(), srv.URL, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n < 5 {
		t.Errorf("settled after %d scrapes; the cursor reaches the last seq on the 5th", n)
	}
	stuck.Store(true)
	if err := historySettled(context.Background(), srv.URL, 1500*time.Millisecond); err == nil {
		t.Error("a history that never catches up settled")
	}
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer empty.Close()
	if err := historySettled(context.Background(), empty.URL, time.Second); err == nil {
		t.Error("no metrics: no error")
	}
}
