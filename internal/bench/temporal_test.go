package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	randv2 "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// TestTemporalIngestBodies decodes the ingest bodies: each carries the
// sensor's readings k0 .. k0+n-1 of every attribute, one minute apart, with
// the values reading gives, and the requests cover every sensor and minute
// exactly once.
func TestTemporalIngestBodies(t *testing.T) {
	cfg := DefaultTemporalConfig(true)
	cfg.Sensors, cfg.Days, cfg.Batch = 3, 1, 500 // 1,440 minutes: chunks of 500, 500, 440
	chunks := (cfg.readings() + int64(cfg.Batch) - 1) / int64(cfg.Batch)
	tasks := int64(cfg.Sensors) * chunks
	mk := cfg.ingestRequests("run1", tasks)
	seen := map[string]int{}
	for range tasks {
		method, path, body := mk(nil, nil)
		if method != http.MethodPost || path != "/ngsi-ld/v1/temporal/entities" {
			t.Fatalf("%s %s", method, path)
		}
		var e map[string]json.RawMessage
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("body is not JSON: %v\n%.300s", err, body)
		}
		var id, typ string
		json.Unmarshal(e["id"], &id)
		json.Unmarshal(e["type"], &typ)
		if typ != TemporalType || !strings.HasPrefix(id, "urn:ngsi-ld:"+TemporalType+":") {
			t.Fatalf("id %q type %q", id, typ)
		}
		s := -1
		for i := range cfg.Sensors {
			if sensorID("run1", int64(i)) == id {
				s = i
			}
		}
		if s < 0 {
			t.Fatalf("id %q is no sensor of the run", id)
		}
		for a, name := range temporalAttrs {
			var insts []struct {
				Type       string  `json:"type"`
				Value      float64 `json:"value"`
				ObservedAt string  `json:"observedAt"`
			}
			if err := json.Unmarshal(e[name], &insts); err != nil || len(insts) == 0 {
				t.Fatalf("%s of %s: %v (%d instances)", name, id, err, len(insts))
			}
			for _, in := range insts {
				at, err := time.Parse(time.RFC3339, in.ObservedAt)
				if err != nil || in.Type != "Property" {
					t.Fatalf("instance %+v: %v", in, err)
				}
				k := int64(at.Sub(temporalStart) / time.Minute)
				if want := reading(a, int64(s), k); in.Value != want {
					t.Fatalf("%s of %s at minute %d: %v, want %v", name, id, k, in.Value, want)
				}
				seen[id+"/"+name+"/"+in.ObservedAt]++
			}
		}
	}
	if want := int(cfg.instances()); len(seen) != want {
		t.Errorf("%d distinct instances, want %d", len(seen), want)
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("%s written %d times", k, n)
		}
	}
}

// TestReadingsLookLikeSensors: the values stay in plausible ranges with
// the decimals the doc says, and vary (the bytes per instance figure would
// flatter a constant series).
func TestReadingsLookLikeSensors(t *testing.T) {
	ranges := [][2]float64{{-21, 3}, {45, 95}, {14, 32}}
	for a := range temporalAttrs {
		distinct := map[float64]bool{}
		for s := range int64(10) {
			for k := range int64(1440) {
				v := reading(a, s, k)
				if v < ranges[a][0] || v > ranges[a][1] {
					t.Fatalf("attribute %d sensor %d minute %d: %v outside %v", a, s, k, v, ranges[a])
				}
				if scaled := v * 10; math.Abs(scaled-math.Round(scaled)) > 1e-9 {
					t.Fatalf("attribute %d: %v has more than one decimal", a, v)
				}
				distinct[v] = true
			}
		}
		if len(distinct) < 30 {
			t.Errorf("attribute %d takes only %d values", a, len(distinct))
		}
	}
}

// TestTemporalQueryPaths: each query shape names a sensor of the run and
// the parameters its goal is about.
func TestTemporalQueryPaths(t *testing.T) {
	cfg := DefaultTemporalConfig(true)
	rng := randv2.New(randv2.NewPCG(1, 2))
	for _, tc := range []struct {
		shape Shape
		want  []string
	}{
		{ShapeTemporalHourly, []string{"aggrPeriodDuration=PT1H", "aggrMethods=avg,min,max", "timerel=between", "attrs=temperature"}},
		{ShapeTemporalLastN, []string{"lastN=100"}},
		{ShapeTemporalDaily, []string{"type=" + TemporalType, "aggrPeriodDuration=P1D", "limit=100", "timerel=between"}},
	} {
		method, path, body := cfg.queryRequests(tc.shape, "run1")(nil, rng)
		u, err := url.Parse(path)
		if err != nil || method != http.MethodGet || body != nil {
			t.Fatalf("%s: %s %s: %v", tc.shape, method, path, err)
		}
		raw, _ := url.QueryUnescape(u.RawQuery)
		for _, w := range tc.want {
			if !strings.Contains(raw, w) {
				t.Errorf("%s: %s lacks %s", tc.shape, path, w)
			}
		}
		if tc.shape != ShapeTemporalDaily && !strings.HasPrefix(u.Path, "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:"+TemporalType+":") {
			t.Errorf("%s: path %s names no sensor", tc.shape, u.Path)
		}
	}
}

func TestTemporalSuiteAgainstFakeQala(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeQalaEnv, "1")
	var log bytes.Buffer
	cfg := DefaultTemporalConfig(true)
	cfg.Qala, cfg.BaselineBin, cfg.Log = self, self, &log
	cfg.Sensors, cfg.Days, cfg.Batch, cfg.Duration, cfg.TypeLimit = 4, 1, 500, 200*time.Millisecond, 10
	rep, err := RunTemporalSuite(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("failed steps: %q\nlog:\n%s", rep.Errors, log.String())
	}
	if rep.IngestInstances != 4*1440*3 || rep.Ingest.Requests != 12 {
		t.Errorf("ingested %d instances in %d requests; want %d in 12", rep.IngestInstances, rep.Ingest.Requests, 4*1440*3)
	}
	if rep.DiskBytes != 4096 {
		t.Errorf("history weighs %d bytes, want the fake's 4096", rep.DiskBytes)
	}
	if len(rep.Pairs) != 3 {
		t.Fatalf("%d shape pairs, want 3", len(rep.Pairs))
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
	}
	var md bytes.Buffer
	rep.Markdown(&md)
	out := md.String()
	for _, want := range []string{
		"| ingest (batch writes, durable) |", "≥ 200,000 instances/s",
		"| bytes per instance on disk (after compaction) |", "≤ 16 B", "(scaled down)",
		"hourly buckets", "p99 ≤ 20 ms", "lastN=100", "p99 ≤ 5 ms", "type-wide daily aggregation",
		"Data: 4 sensors × 3 attributes × 1 days",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if _, err := rep.JSON(); err != nil {
		t.Errorf("json: %v", err)
	}
}
