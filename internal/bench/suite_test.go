package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeQalaEnv makes the test binary act as a qala binary: `serve --listen
// ADDR --data DIR` serves the baseline routes, counts the distinct entities
// written, and keeps that set in DIR across a SIGTERM and a restart. It lets
// the suite's process handling (start, memory, stop, restart, count) be tested
// for real while Qala itself is not built.
const fakeQalaEnv = "QALA_BENCH_FAKE_QALA"

func TestMain(m *testing.M) {
	if os.Getenv(fakeQalaEnv) == "1" {
		if len(os.Args) > 1 && os.Args[1] != "serve" {
			os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) // act as qala-bench
		}
		if err := fakeQala(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "fake qala:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func fakeQala(args []string) error {
	if len(args) == 0 || args[0] != "serve" {
		return fmt.Errorf("want serve, got %q", args)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", "", "")
	data := fs.String("data", "", "")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if os.Getenv(fakeNotifyEnv) == "1" {
		return fakeNotifyBroker(*listen)
	}
	if err := os.MkdirAll(*data, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(*data, "history"), 0o755); err != nil {
		return err
	}
	file := filepath.Join(*data, "ids.json")
	var mu sync.Mutex
	ids := map[string]bool{}
	if b, err := os.ReadFile(file); err == nil {
		if err := json.Unmarshal(b, &ids); err != nil {
			return err
		}
	}
	base := BaselineHandler()
	mux := http.NewServeMux()
	mux.Handle("/", base)
	mux.HandleFunc("POST /ngsi-ld/v1/entityOperations/upsert", func(w http.ResponseWriter, r *http.Request) {
		var es []struct{ ID string }
		if err := json.NewDecoder(r.Body).Decode(&es); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, e := range es {
			ids[e.ID] = true
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /ngsi-ld/v1/entities", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("count") == "true" {
			mu.Lock()
			w.Header().Set("NGSILD-Results-Count", strconv.Itoa(len(ids)))
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("[]"))
			return
		}
		base.ServeHTTP(w, r)
	})
	mux.HandleFunc("POST /admin/history/compact", func(w http.ResponseWriter, r *http.Request) {
		// Something to weigh, as a compacted history would be.
		if err := os.WriteFile(filepath.Join(*data, "history", "000001.sst"), make([]byte, 4096), 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"merged":0}`))
	})
	srv := &http.Server{Addr: *listen, Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

func TestSuiteAgainstFakeQala(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeQalaEnv, "1")
	var log bytes.Buffer
	cfg := DefaultSuiteConfig(true)
	cfg.Qala, cfg.BaselineBin, cfg.Log = self, self, &log
	cfg.Duration, cfg.Concurrency, cfg.Entities, cfg.Batch = 200*time.Millisecond, 4, 200, 100
	cfg.Load, cfg.LoadWorkers = 3050, 2 // rounded up to 31 batches of 100
	rep, err := RunSuite(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("failed steps: %q\nlog:\n%s", rep.Errors, log.String())
	}
	if rep.StartSeconds <= 0 || rep.StartSeconds > 60 || rep.IdleRSS < 1<<20 {
		t.Errorf("idle start %vs, RSS %d; want > 0 and ≥ 1 MiB", rep.StartSeconds, rep.IdleRSS)
	}
	if len(rep.Pairs) != len(Shapes) {
		t.Fatalf("%d shape pairs, want %d", len(rep.Pairs), len(Shapes))
	}
	for _, p := range rep.Pairs {
		if p.Err != "" || p.Qala == nil || p.Baseline == nil {
			t.Fatalf("%s: error %q, qala %v, baseline %v", p.Shape, p.Err, p.Qala != nil, p.Baseline != nil)
		}
		for _, r := range []*Result{p.Qala, p.Baseline} {
			checkCounters(t, r)
			if r.Errors != 0 || r.Requests == 0 {
				t.Errorf("%s against %s: %d requests, %d errors (%s)", p.Shape, r.URL, r.Requests, r.Errors, r.ErrorSample)
			}
		}
		if p.Qala.URL == p.Baseline.URL {
			t.Errorf("%s: both runs went to %s", p.Shape, p.Qala.URL)
		}
	}
	if rep.Loaded != 3100 || rep.CountBefore != 3100 || rep.CountAfter != 3100 {
		t.Errorf("loaded %d, count before restart %d, after %d; want 3100 each", rep.Loaded, rep.CountBefore, rep.CountAfter)
	}
	if rep.RestartSecs <= 0 || rep.LoadRSS == 0 || rep.LoadPeakRSS < rep.LoadRSS || rep.RestartRSS == 0 {
		t.Errorf("restart %vs, RSS after load %d (peak %d), after restart %d", rep.RestartSecs, rep.LoadRSS, rep.LoadPeakRSS, rep.RestartRSS)
	}

	var md bytes.Buffer
	rep.Markdown(&md)
	out := md.String()
	for _, want := range []string{
		"| workload | Qala | baseline | ratio | goal | met |",
		"| create one entity (~1 KB, durable) |", "≥ 15,000 req/s",
		"| retrieve by id |", "≥ 25,000 req/s",
		"| batch upsert (1,000 per request) |", "≥ 100,000 entities/s",
		"| load 3,100 entities", "— (goal is for 1M)", "count intact",
		"| idle start (exec → /health 200) |", "≤ 100 ms",
		"| idle RSS |", "≤ 40 MiB",
		fmt.Sprintf("Machine: %d CPUs", rep.Machine.CPUs),
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

func TestSuiteReportsAQalaThatDoesNotStart(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "qala")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho cannot start >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultSuiteConfig(true)
	cfg.Qala = bin
	rep, err := RunSuite(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], "exited before /health") {
		t.Errorf("errors %q, want one saying qala exited", rep.Errors)
	}
}

func TestFetchProfile(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "cpu.pprof")
	cfg := DefaultConfig()
	cfg.URL, cfg.Shape, cfg.Concurrency, cfg.Duration, cfg.CPUProfile = srv.URL, ShapeHealth, 2, time.Second, file
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.ProfileError != "" {
		t.Fatal(r.ProfileError)
	}
	b, err := os.ReadFile(file)
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b { // pprof profiles are gzipped
		t.Errorf("profile file: %d bytes, err %v; want a gzipped profile", len(b), err)
	}

	cfg.CPUProfile = filepath.Join(t.TempDir(), "none.pprof")
	cfg.URL = startBaseline(t).URL // no pprof there
	r, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.ProfileError, "404") {
		t.Errorf("profile error %q, want the 404", r.ProfileError)
	}
}
