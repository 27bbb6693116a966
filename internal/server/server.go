package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qala-city/qala/internal/api"
	"github.com/qala-city/qala/internal/demo"
	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/mqtt"
	"github.com/qala-city/qala/internal/notify"
	"github.com/qala-city/qala/internal/store"
	"github.com/qala-city/qala/internal/store/embedded"
	"github.com/qala-city/qala/internal/subscription"
	"github.com/qala-city/qala/internal/temporal"
)

// Version is set at build time with -ldflags "-X .../server.Version=...".
var Version = "0.1.0-dev"

// Server is a running Qala.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store *embedded.Store
	hist  *temporal.Store
	// follower feeds the history from the store's change log.
	follower *store.Follower
	subs     *subscription.Registry
	disp     *notify.Dispatcher
	pipeline *subscription.Pipeline
	// subFollower feeds the subscription pipeline from the change log.
	subFollower *store.Follower
	api         *api.API
	http        *http.Server
	ln          net.Listener
	sim         *demo.Simulator
	wg          sync.WaitGroup
}

// New opens the store and builds the HTTP handler; it does not listen yet.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if n, _ := cfg.memoryLimit(); n > 0 {
		debug.SetMemoryLimit(n)
	}
	tuneGC(os.Getenv("GOGC"), debug.SetMemoryLimit(-1))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	res, err := jsonld.New(jsonld.Config{
		Dir:          filepath.Join(cfg.Data, "contexts"),
		AllowPrivate: cfg.ContextPrivate,
		FetchTimeout: cfg.ContextTimeout,
		BaseURL:      "http://" + ln.Addr().String(),
	})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("context resolver: %w", err)
	}
	// The entity store and the history rebuild their in-memory state at
	// Open (some 8 s each at a million entities): side by side, a restart
	// takes the longer of the two instead of their sum.
	hcfg, _ := cfg.historyConfig() // checked by Validate
	var (
		hist    *temporal.Store
		histErr error
		opened  = make(chan struct{})
	)
	go func() {
		defer close(opened)
		hist, histErr = temporal.Open(temporal.Options{Dir: filepath.Join(cfg.Data, "history"), Logger: log, Registerer: reg,
			NoSync: cfg.NoSync, Config: hcfg, Expand: res.Core().ExpandTerm})
	}()
	st, err := embedded.Open(embedded.Options{Dir: filepath.Join(cfg.Data, "store"), Logger: log, Registerer: reg, NoSync: cfg.NoSync})
	<-opened
	if err != nil || histErr != nil {
		if st != nil {
			st.Close()
		}
		if hist != nil {
			hist.Close()
		}
		ln.Close()
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return nil, fmt.Errorf("open history: %w", histErr)
	}
	// The history yields to requests: catching up on a bulk load must not
	// starve the queries that follow it.
	requests := &requestGauge{}
	follower := &store.Follower{Store: st, Name: "history", From: hist.Cursor(), Handle: yielding(hist.Handle, requests.busy), Logger: log}
	subs, err := subscription.Open(subscription.Options{Dir: filepath.Join(cfg.Data, "subscriptions"), Resolver: res, Logger: log, NoSync: cfg.NoSync})
	if err != nil {
		hist.Close()
		st.Close()
		ln.Close()
		return nil, fmt.Errorf("open subscriptions: %w", err)
	}
	mq := &mqtt.Notifier{}
	disp, err := notify.Open(notify.Options{Dir: filepath.Join(cfg.Data, "notify"), NoSync: cfg.NoSync,
		OnAttempt: subs.Record, Registerer: reg, Logger: log,
		// Nothing is sent for a subscription deleted meanwhile (clause 5.8.5).
		Live:       func(m *notify.Message) bool { _, err := subs.Get(m.Tenant, m.Subscription); return err == nil },
		Transports: map[string]notify.Transport{"mqtt": mq, "mqtts": mq}})
	if err != nil {
		subs.Close()
		hist.Close()
		st.Close()
		ln.Close()
		return nil, fmt.Errorf("open notification outbox: %w", err)
	}
	pipeline := &subscription.Pipeline{Reg: subs, Store: st, Log: log, Sink: disp}
	subFollower := pipeline.Follower()
	var origins []string
	for _, o := range strings.Split(cfg.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	queryMemory, _ := cfg.queryMemory() // checked by Validate
	a := api.New(api.Config{
		MaxBody: cfg.MaxBody, MaxBatch: cfg.MaxBatch, DefaultLimit: cfg.DefaultLimit, MaxLimit: cfg.MaxLimit, QueryTimeout: cfg.QueryTimeout,
		QueryMemory: int(queryMemory), CORSOrigins: origins, Version: Version,
		History: hist, TemporalLimit: cfg.TemporalLimit, Subscriptions: subs,
		HistorySync: func(ctx context.Context) error { return follower.WaitFor(ctx, st.LastSeq()) },
	}, st, res, log, reg)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","version":%q}`+"\n", Version)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	admin := hist.AdminHandler()
	mux.Handle("/admin/history", admin)
	mux.Handle("/admin/history/", admin)
	nadmin := disp.AdminHandler()
	mux.Handle("/admin/notifications", nadmin)
	mux.Handle("/admin/notifications/", nadmin)
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("/", a)
	// The NGSI-LD API sees its paths as sent: ServeMux would redirect paths
	// it cleans ("//", escaped ids with "/"), which the API answers itself.
	ngsi := requests.wrap(a)
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/ngsi-ld/") {
			ngsi.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})

	s := &Server{cfg: cfg, log: log, store: st, hist: hist, follower: follower, subs: subs, disp: disp, pipeline: pipeline, subFollower: subFollower, api: a, ln: ln}
	s.http = &http.Server{
		Handler:           root,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.Demo {
		if err := s.loadDemo(res); err != nil {
			s.closeAll()
			return nil, fmt.Errorf("demo city: %w", err)
		}
	}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Handler returns the HTTP handler (for in-process tests).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Run serves until ctx is cancelled, then stops accepting, drains in-flight
// requests (up to the shutdown timeout), flushes and closes the store.
func (s *Server) Run(ctx context.Context) error {
	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	bgCtx, stopBg := context.WithCancel(context.Background())
	defer stopBg()
	s.wg.Add(4)
	go func() {
		defer s.wg.Done()
		s.followHistory(bgCtx)
	}()
	go func() {
		defer s.wg.Done()
		s.followSubscriptions(bgCtx)
	}()
	go func() {
		defer s.wg.Done()
		s.pipeline.RunPeriodic(bgCtx, 0)
	}()
	go func() {
		defer s.wg.Done()
		trimLog(bgCtx, s.store, s.log, 10*time.Second, s.follower.Cursor, s.subFollower.Cursor)
	}()
	if s.sim != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.sim.Run(simCtx)
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	s.log.Info("qala serving", "listen", s.Addr(), "version", Version, "data", s.cfg.Data)
	select {
	case err := <-errc:
		s.closeAll()
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining requests")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(sctx)
	stopSim()
	stopBg()
	s.wg.Wait()
	if cerr := s.hist.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if cerr := s.disp.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if cerr := s.subs.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if cerr := s.store.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.log.Info("stopped")
	return nil
}

func (s *Server) closeAll() {
	s.ln.Close()
	s.hist.Close()
	s.disp.Close()
	s.subs.Close()
	s.store.Close()
}

// followHistory feeds the history from the change log until ctx is done.
// When the log no longer holds the events after the history's cursor (a
// history database newer than the store's log, or one restored from an
// older backup), the history resumes from the newest event and says what
// it missed.
func (s *Server) followHistory(ctx context.Context) {
	for {
		err := s.follower.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, store.ErrLogTrimmed) {
			last := s.store.LastSeq()
			s.log.Warn("history missed change events the log no longer holds; it resumes from the newest",
				"cursor", s.follower.Cursor(), "resume_after", last)
			if err := s.hist.Resync(ctx, last); err != nil {
				s.log.Error("history resync failed", "err", err)
			}
			s.follower.From = s.hist.Cursor()
			continue
		}
		s.log.Error("history follower stopped", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// followSubscriptions feeds the subscription pipeline from the change log
// until ctx is done. When the log no longer holds the events after its
// cursor, it resumes from the newest event and says so.
func (s *Server) followSubscriptions(ctx context.Context) {
	for {
		err := s.subFollower.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, store.ErrLogTrimmed) {
			last := s.store.LastSeq()
			s.log.Warn("subscriptions missed change events the log no longer holds; matching resumes from the newest",
				"cursor", s.subFollower.Cursor(), "resume_after", last)
			if err := s.subs.SetCursor(last); err != nil {
				s.log.Error("subscription cursor reset failed", "err", err)
			}
			s.subFollower.From = last
			continue
		}
		s.log.Error("subscription follower stopped", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// NewLogger returns the logger the configuration asks for.
func NewLogger(cfg Config) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch cfg.LogFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json")
}

// loadDemo writes the Astana demo city through the write path and prepares
// its simulator.
func (s *Server) loadDemo(res *jsonld.Resolver) error {
	city, err := demo.New(s.cfg.Seed)
	if err != nil {
		return err
	}
	w := &demoWriter{store: s.store, resolver: res}
	start := time.Now()
	n, err := demo.Load(context.Background(), w, "", city, start)
	if err != nil {
		return err
	}
	s.log.Info("demo city loaded: Astana (map data © OpenStreetMap contributors, ODbL)", "entities", n, "took", time.Since(start).Round(time.Millisecond))
	s.sim = &demo.Simulator{City: city, Writer: w, Interval: s.cfg.SimInterval, Logger: s.log}
	return nil
}

// limitedGCPercent is the collector's target when a soft memory limit
// bounds the heap: the live heap may grow 4x before a cycle instead of 2x.
// With a million entities the marker follows ~10M index pointers per
// cycle (2–3 CPU-seconds); fewer cycles are what shortens the query tail,
// and the limit, not the percentage, is what keeps RSS in the operator's
// budget (the runtime collects as often as needed near it).
const limitedGCPercent = 400

// tuneGC raises the GC percentage when a memory limit is set, by
// --memory-limit or GOMEMLIMIT (limit, as debug.SetMemoryLimit(-1) reports
// it), and the operator did not choose a percentage with GOGC.
func tuneGC(gogc string, limit int64) {
	if gogc != "" || limit <= 0 || limit == math.MaxInt64 {
		return
	}
	debug.SetGCPercent(limitedGCPercent)
}
