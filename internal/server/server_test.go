package server

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func testConfig(t *testing.T) Config {
	var cfg Config
	if err := cfg.FlagSet().Parse([]string{"--listen", "127.0.0.1:0", "--data", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestServeLifecycle starts the server as `qala serve` does, writes an
// entity, stops it with a cancelled context (what SIGTERM does) while a
// request is in flight, and checks the write survived into a new server on
// the same data directory.
func TestServeLifecycle(t *testing.T) {
	cfg := testConfig(t)
	s, err := New(cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	base := "http://" + s.Addr()

	resp, err := http.Get(base + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Post(base+"/ngsi-ld/v1/entities", "application/json",
		strings.NewReader(`{"id":"urn:ngsi-ld:Streetlight:1","type":"Streetlight","powerState":{"type":"Property","value":"on"}}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), `qala_http_requests_total{code="201",method="POST",route="/ngsi-ld/v1/entities"} 1`) {
		t.Errorf("metrics lack the create request:\n%s", grep(string(m), "qala_http_requests_total"))
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}

	cfg.Listen = "127.0.0.1:0"
	s2, err := New(cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() { done2 <- s2.Run(ctx2) }()
	// Stop the second server before t.TempDir removes its data directory.
	t.Cleanup(func() {
		cancel2()
		if err := <-done2; err != nil {
			t.Errorf("second run: %v", err)
		}
	})
	resp, err = http.Get("http://" + s2.Addr() + "/ngsi-ld/v1/entities/urn:ngsi-ld:Streetlight:1?options=keyValues")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"powerState":"on"`) {
		t.Fatalf("after restart: %d %s", resp.StatusCode, b)
	}
}

// TestDemoCity loads the Astana demo city and queries it like a new user.
func TestDemoCity(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a few thousand entities")
	}
	cfg := testConfig(t)
	cfg.Demo = true
	cfg.SimInterval = 50 * time.Millisecond
	s, err := New(cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// Stop the server (its history follower may still be recording the
	// demo city) before the data directory is removed.
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	for _, typ := range []string{"AirQualityObserved", "ParkingSpot", "Streetlight", "WasteContainer", "EVChargingStation", "Vehicle", "Building"} {
		req, _ := http.NewRequest("GET", "http://"+s.Addr()+"/ngsi-ld/v1/entities?type="+typ+"&count=true&limit=1", nil)
		req.Header.Set("Link", `<https://smartdatamodels.org/context.jsonld>; rel="http://www.w3.org/ns/json-ld#context"`)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if n := resp.Header.Get("NGSILD-Results-Count"); resp.StatusCode != 200 || n == "" || n == "0" {
			t.Errorf("%s: status %d, count %q", typ, resp.StatusCode, n)
		}
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTuneGC: a memory limit without GOGC raises the GC percentage; GOGC
// set by the operator, or no limit, leaves it alone.
func TestTuneGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	for _, c := range []struct {
		gogc  string
		limit int64
		want  int
	}{
		{"", 1 << 30, limitedGCPercent},
		{"100", 1 << 30, 100},
		{"", math.MaxInt64, 100},
		{"", 0, 100},
	} {
		debug.SetGCPercent(100)
		tuneGC(c.gogc, c.limit)
		if got := debug.SetGCPercent(100); got != c.want {
			t.Errorf("GOGC=%q limit %d: GC percent %d, want %d", c.gogc, c.limit, got, c.want)
		}
	}
}
