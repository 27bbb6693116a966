package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func startBaseline(t *testing.T) *Baseline {
	t.Helper()
	b, err := StartBaseline("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// checkCounters checks the invariants every Result must keep.
func checkCounters(t *testing.T, r *Result) {
	t.Helper()
	if r.Requests != r.Successes+r.Errors {
		t.Errorf("%s: requests %d != successes %d + errors %d", r.Shape, r.Requests, r.Successes, r.Errors)
	}
	var byStatus uint64
	for _, n := range r.Statuses {
		byStatus += n
	}
	if byStatus != r.Requests {
		t.Errorf("%s: statuses %v add up to %d, want %d requests", r.Shape, r.Statuses, byStatus, r.Requests)
	}
	if r.hist.Count() != r.Requests {
		t.Errorf("%s: %d latencies recorded for %d requests", r.Shape, r.hist.Count(), r.Requests)
	}
	l := r.Latency
	if !(l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("%s: latency not ordered: %+v", r.Shape, l)
	}
	if r.Requests > 0 && !(r.ReqPerSec > 0 && l.Max > 0) {
		t.Errorf("%s: req/s %v, max latency %v; want > 0", r.Shape, r.ReqPerSec, l.Max)
	}
}

func TestRunShapesAgainstBaseline(t *testing.T) {
	b := startBaseline(t)
	d := time.Second
	if testing.Short() {
		d = 300 * time.Millisecond
	}
	for _, std := range []bool{false, true} {
		for _, shape := range Shapes {
			if std && shape != ShapeCreate && shape != ShapeQuery {
				continue // the std client is a cross-check; two shapes do
			}
			name := string(shape)
			if std {
				name += "/std-client"
			}
			t.Run(name, func(t *testing.T) {
				cfg := DefaultConfig()
				cfg.URL, cfg.Shape, cfg.Concurrency, cfg.Duration = b.URL, shape, 8, d
				cfg.Entities, cfg.Batch, cfg.StdClient = 500, 100, std
				if std {
					cfg.Duration = 300 * time.Millisecond
				}
				t0 := time.Now()
				r, err := Run(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				if took := time.Since(t0); took > d+5*time.Second {
					t.Errorf("run took %v, want about %v", took, d)
				}
				checkCounters(t, r)
				if r.Errors != 0 || r.Requests == 0 {
					t.Fatalf("requests %d, errors %d (first: %s); want > 0 and 0", r.Requests, r.Errors, r.ErrorSample)
				}
				if shape.needsPrepared() && r.Prepared != 500 {
					t.Errorf("prepared %d entities, want 500", r.Prepared)
				}
				switch shape {
				case ShapeUpsert:
					if r.EntitiesPerSec != r.OKPerSec*100 {
						t.Errorf("entities/s %v, want 100 × %v", r.EntitiesPerSec, r.OKPerSec)
					}
				case ShapeCreate:
					if r.EntitiesPerSec != r.OKPerSec {
						t.Errorf("entities/s %v, want %v", r.EntitiesPerSec, r.OKPerSec)
					}
				default:
					if r.EntitiesPerSec != 0 {
						t.Errorf("entities/s %v for a shape that writes no new entity", r.EntitiesPerSec)
					}
				}
				line := r.Line()
				if !strings.HasPrefix(line, string(shape)) || !strings.Contains(line, "errors=0") {
					t.Errorf("line %q", line)
				}
				if _, err := json.Marshal(r); err != nil {
					t.Errorf("json: %v", err)
				}
			})
		}
	}
}

func TestRunMaxRequests(t *testing.T) {
	b := startBaseline(t)
	cfg := DefaultConfig()
	cfg.URL, cfg.Shape, cfg.Concurrency, cfg.MaxRequests = b.URL, ShapeCreate, 7, 250
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkCounters(t, r)
	if r.Requests != 250 || r.Successes != 250 {
		t.Errorf("requests %d, successes %d; want 250 each", r.Requests, r.Successes)
	}
}

// TestCreateIDsUnique checks, on the server side, that every entity a run
// creates has an id no other request used.
func TestCreateIDsUnique(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var es []struct{ ID string }
		var e struct{ ID string }
		dec := json.NewDecoder(r.Body)
		var err error
		if strings.HasSuffix(r.URL.Path, "/upsert") {
			err = dec.Decode(&es)
		} else {
			err = dec.Decode(&e)
			es = append(es, e)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range es {
			if e.ID == "" || seen[e.ID] {
				http.Error(w, "id "+e.ID+" empty or repeated", http.StatusConflict)
				return
			}
			seen[e.ID] = true
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	for _, shape := range []Shape{ShapeCreate, ShapeUpsert} {
		cfg := DefaultConfig()
		cfg.URL, cfg.Shape, cfg.Concurrency, cfg.MaxRequests, cfg.Batch = srv.URL, shape, 8, 400, 10
		r, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkCounters(t, r)
		if r.Errors != 0 {
			t.Errorf("%s: %d errors, first: %s", shape, r.Errors, r.ErrorSample)
		}
	}
	if want := 400 + 400*10; len(seen) != want {
		t.Errorf("server saw %d distinct ids, want %d", len(seen), want)
	}
}

func TestRunCountsErrors(t *testing.T) {
	var n sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Lock()
		calls++
		c := calls
		n.Unlock()
		if c%3 == 0 {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"type":"https://uri.etsi.org/ngsi-ld/errors/InternalError","title":"boom"}`))
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.URL, cfg.Shape, cfg.Concurrency, cfg.MaxRequests = srv.URL, ShapeHealth, 3, 300
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkCounters(t, r)
	if r.Statuses["500"] != 100 || r.Statuses["200"] != 200 || r.Errors != 100 {
		t.Errorf("statuses %v, errors %d; want 100 × 500 and 200 × 200", r.Statuses, r.Errors)
	}
	if !strings.Contains(r.ErrorSample, "500") || !strings.Contains(r.ErrorSample, "InternalError") {
		t.Errorf("error sample %q, want the status and the start of the body", r.ErrorSample)
	}
}

func TestRunTransportErrorsAreBounded(t *testing.T) {
	addr, err := freeAddr() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.URL, cfg.Shape, cfg.Concurrency, cfg.Duration = "http://"+addr, ShapeHealth, 2, 200*time.Millisecond
	t0 := time.Now()
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > 3*time.Second {
		t.Errorf("run took %v", took)
	}
	checkCounters(t, r)
	if r.Successes != 0 || r.Statuses["transport"] != r.Requests || r.ErrorSample == "" {
		t.Errorf("statuses %v, sample %q; want only transport errors", r.Statuses, r.ErrorSample)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	// A server that never answers: cancelling the run must not wait for the
	// 30 s request timeout.
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	cfg := DefaultConfig()
	cfg.URL, cfg.Shape, cfg.Concurrency = srv.URL, ShapeHealth, 4
	t0 := time.Now()
	r, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > 3*time.Second {
		t.Errorf("cancelled run took %v", took)
	}
	checkCounters(t, r)
}

func TestConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"remote host", func(c *Config) { c.URL = "http://example.com:1026" }, "loopback"},
		{"https", func(c *Config) { c.URL = "https://127.0.0.1:1026" }, "scheme"},
		{"shape", func(c *Config) { c.Shape = "delete" }, "shape"},
		{"concurrency", func(c *Config) { c.Concurrency = 0 }, "concurrency"},
		{"duration", func(c *Config) { c.Duration = 0 }, "duration"},
		{"batch", func(c *Config) { c.Batch = 0 }, "batch"},
		{"entities", func(c *Config) { c.Shape, c.Entities = ShapeRetrieve, 0 }, "entities"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			_, err := Run(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
	if _, err := StartBaseline("0.0.0.0:0"); err == nil {
		t.Error("StartBaseline on 0.0.0.0: no error, want loopback only")
	}
}

func TestPrepareFailureIsReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no batch operations here", http.StatusNotFound)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.URL, cfg.Shape, cfg.Entities = srv.URL, ShapeRetrieve, 50
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("error %v, want the prepare phase's 404", err)
	}
}

// BenchmarkClient compares the CPU cost per request of the built-in client
// and net/http's, against the baseline in this process.
func BenchmarkClient(b *testing.B) {
	base, err := StartBaseline("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer base.Close()
	for _, std := range []bool{false, true} {
		name := "conn"
		if std {
			name = "net-http"
		}
		b.Run(name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.URL, cfg.Shape, cfg.Concurrency, cfg.MaxRequests, cfg.StdClient = base.URL, ShapeHealth, 8, int64(b.N), std
			cfg.Duration = time.Minute
			r, err := Run(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			if r.Errors > 0 {
				b.Fatalf("%d errors: %s", r.Errors, r.ErrorSample)
			}
			b.ReportMetric(r.ReqPerSec, "req/s")
		})
	}
}
