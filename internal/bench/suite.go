package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// SuiteConfig describes one suite run.
type SuiteConfig struct {
	Qala string // path of the qala binary
	// BaselineBin, if set, is a qala-bench binary: the baseline then runs as
	// `BaselineBin baseline` in its own process, like Qala, so that the load
	// generator's garbage collection and scheduling do not weigh on the anchor
	// (in process, they cost it a factor of 2–3 on 2 cores). Empty runs the
	// baseline in process.
	BaselineBin string
	Short       bool          // the quick variant: shorter runs, fewer entities
	Duration    time.Duration // of each shape run, against each server
	Concurrency int           // workers of each shape run
	Entities    int           // prepared entities for retrieve, patch and query
	Batch       int           // entities per upsert request
	Load        int           // entities of the load test
	LoadWorkers int           // workers of the load test
	LoadTimeout time.Duration // bound of the load test
	Pprof       string        // directory for CPU profiles of Qala per shape; empty = none
	Keep        bool          // keep the data directories and the Qala log
	Log         io.Writer     // progress lines; nil = discard
}

// DefaultSuiteConfig returns the suite defaults; short selects the quick variant.
func DefaultSuiteConfig(short bool) SuiteConfig {
	c := SuiteConfig{
		Short:       short,
		Duration:    10 * time.Second,
		Concurrency: 64,
		Entities:    10000,
		Batch:       1000,
		Load:        1000000,
		LoadWorkers: 4,
		LoadTimeout: 10 * time.Minute,
	}
	if short {
		c.Duration = 3 * time.Second
		c.Entities = 2000
		c.Load = 50000
		c.LoadTimeout = 2 * time.Minute
	}
	return c
}

// Pair is one shape run against both servers.
type Pair struct {
	Shape    Shape   `json:"shape"`
	Qala     *Result `json:"qala,omitempty"`
	Baseline *Result `json:"baseline,omitempty"`
	Err      string  `json:"error,omitempty"`
}

// SuiteReport holds every figure of a suite run.
type SuiteReport struct {
	Machine Machine `json:"machine"`
	Config  struct {
		Duration    string `json:"duration"`
		Concurrency int    `json:"concurrency"`
		Entities    int    `json:"entities"`
		Batch       int    `json:"batch"`
		Load        int    `json:"load"`
		LoadWorkers int    `json:"load_workers"`
		Short       bool   `json:"short"`
		Baseline    string `json:"baseline"` // "own process" or "in process"
	} `json:"config"`

	StartSeconds float64   `json:"idle_start_seconds"` // exec → /health 200, empty data directory
	IdleRSS      uint64    `json:"idle_rss_bytes"`
	Pairs        []Pair    `json:"shapes"`
	Load         *Result   `json:"load,omitempty"`
	Loaded       int64     `json:"loaded"` // entities the load test wrote successfully
	LoadRSS      uint64    `json:"load_rss_bytes"`
	LoadPeakRSS  uint64    `json:"load_peak_rss_bytes"`
	CountBefore  int64     `json:"count_before_restart"`
	StopSeconds  float64   `json:"stop_seconds"`    // SIGTERM → exit
	RestartSecs  float64   `json:"restart_seconds"` // exec → /health 200 with the loaded data
	CountAfter   int64     `json:"count_after_restart"`
	RestartRSS   uint64    `json:"restart_rss_bytes"`
	Errors       []string  `json:"errors,omitempty"` // steps that failed; the suite goes on where it can
	Started      time.Time `json:"started"`
	TotalSeconds float64   `json:"total_seconds"`
}

func (s *SuiteReport) fail(format string, args ...any) {
	s.Errors = append(s.Errors, fmt.Sprintf(format, args...))
}

// settle is how long the suite lets a server rest before reading its memory.
const settle = time.Second

// RunSuite runs the whole benchmark in one go: the baseline server in
// process, Qala as a child process; idle start and memory; every shape
// against both; a load of cfg.Load entities into a fresh Qala, its memory, a
// restart and a check that the count survived. A failed step is recorded in
// the report and the suite goes on with the steps that do not depend on it;
// RunSuite fails only if it cannot start at all.
func RunSuite(ctx context.Context, cfg SuiteConfig) (*SuiteReport, error) {
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(logw, "%s  "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
	}
	if _, err := os.Stat(cfg.Qala); err != nil {
		return nil, fmt.Errorf("qala binary: %w", err)
	}
	rep := &SuiteReport{Machine: MachineInfo(cfg.Qala), Started: time.Now().UTC()}
	rep.Config.Duration = cfg.Duration.String()
	rep.Config.Concurrency, rep.Config.Entities, rep.Config.Batch = cfg.Concurrency, cfg.Entities, cfg.Batch
	rep.Config.Load, rep.Config.LoadWorkers, rep.Config.Short = cfg.Load, cfg.LoadWorkers, cfg.Short

	env, err := newEnv(ctx, "qala-bench-", cfg.Keep, cfg.BaselineBin, logf)
	if err != nil {
		return nil, err
	}
	defer env.close()
	work, qlog, baseURL := env.work, env.qlog, env.baseURL
	rep.Config.Baseline = env.baseline

	defer func() { rep.TotalSeconds = time.Since(rep.Started).Seconds() }()

	// Part 1: idle figures and the shapes, on an empty store.
	var extra []string
	if cfg.Pprof != "" {
		extra = append(extra, "--pprof")
	}
	q, err := StartQala(ctx, cfg.Qala, filepath.Join(work, "data-shapes"), qlog, time.Minute, extra...)
	if err != nil {
		rep.fail("start qala: %v (log: %s)", err, qlog.Name())
		return rep, nil
	}
	rep.StartSeconds = q.Startup.Seconds()
	time.Sleep(settle)
	if rep.IdleRSS, _, err = q.Memory(); err != nil {
		rep.fail("idle memory: %v", err)
	}
	logf("qala at %s: started in %s, idle RSS %s", q.URL, fmtDur(q.Startup), fmtBytes(rep.IdleRSS))

	for _, shape := range Shapes {
		if ctx.Err() != nil {
			break
		}
		p := Pair{Shape: shape}
		rc := cfg.runConfig(shape)
		if shape == ShapeUpsert {
			rc.Concurrency = cfg.LoadWorkers // a few 1,000-entity requests keep a server busy
		}
		rc.URL = baseURL
		if p.Baseline, err = Run(ctx, rc); err != nil {
			p.Err = "baseline: " + err.Error()
		} else {
			logf("baseline %s", p.Baseline.Line())
		}
		rc.URL = q.URL
		if cfg.Pprof != "" {
			rc.CPUProfile = filepath.Join(cfg.Pprof, "qala-"+string(shape)+".pprof")
		}
		if p.Qala, err = Run(ctx, rc); err != nil {
			p.Err += " qala: " + err.Error()
			rep.fail("%s against qala: %v", shape, err)
		} else {
			logf("qala     %s", p.Qala.Line())
			if p.Qala.ProfileError != "" {
				logf("qala     %s: %s", shape, p.Qala.ProfileError)
			}
		}
		rep.Pairs = append(rep.Pairs, p)
	}
	if _, err := q.Stop(time.Minute); err != nil {
		rep.fail("stop qala after the shapes: %v", err)
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}

	// Part 2: load, memory, restart, on a fresh store.
	dataDir := filepath.Join(work, "data-load")
	if q, err = StartQala(ctx, cfg.Qala, dataDir, qlog, time.Minute); err != nil {
		rep.fail("start qala for the load: %v (log: %s)", err, qlog.Name())
		return rep, nil
	}
	defer func() {
		select {
		case <-q.done:
		default:
			q.Kill()
		}
	}()
	rc := cfg.runConfig(ShapeUpsert)
	rc.URL, rc.Concurrency = q.URL, cfg.LoadWorkers
	rc.MaxRequests = int64((cfg.Load + cfg.Batch - 1) / cfg.Batch)
	rc.Duration = cfg.LoadTimeout
	logf("loading %d entities in batches of %d with %d workers", rc.MaxRequests*int64(cfg.Batch), cfg.Batch, cfg.LoadWorkers)
	if rep.Load, err = Run(ctx, rc); err != nil {
		rep.fail("load: %v", err)
		return rep, nil
	}
	rep.Loaded = int64(rep.Load.Successes) * int64(cfg.Batch)
	logf("load     %s", rep.Load.Line())
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	time.Sleep(settle)
	if rep.LoadRSS, rep.LoadPeakRSS, err = q.Memory(); err != nil {
		rep.fail("memory after load: %v", err)
	}
	if rep.CountBefore, err = Count(ctx, q.URL); err != nil {
		rep.fail("count before restart: %v", err)
	}
	logf("after load: RSS %s (peak %s), count %d", fmtBytes(rep.LoadRSS), fmtBytes(rep.LoadPeakRSS), rep.CountBefore)

	stop, err := q.Stop(2 * time.Minute)
	rep.StopSeconds = stop.Seconds()
	if err != nil {
		rep.fail("stop before restart: %v", err)
	}
	if q, err = StartQala(ctx, cfg.Qala, dataDir, qlog, 5*time.Minute); err != nil {
		rep.fail("restart: %v (log: %s)", err, qlog.Name())
		return rep, nil
	}
	rep.RestartSecs = q.Startup.Seconds()
	if rep.CountAfter, err = Count(ctx, q.URL); err != nil {
		rep.fail("count after restart: %v", err)
	}
	time.Sleep(settle)
	if rep.RestartRSS, _, err = q.Memory(); err != nil {
		rep.fail("memory after restart: %v", err)
	}
	logf("restart: stopped in %s, /health 200 after %s, count %d, RSS %s",
		fmtDur(stop), fmtDur(q.Startup), rep.CountAfter, fmtBytes(rep.RestartRSS))
	if _, err := q.Stop(time.Minute); err != nil {
		rep.fail("final stop: %v", err)
	}
	return rep, nil
}

// runConfig returns the run configuration of a shape within the suite.
func (cfg *SuiteConfig) runConfig(shape Shape) Config {
	rc := DefaultConfig()
	rc.Shape = shape
	rc.Duration = cfg.Duration
	rc.Concurrency = cfg.Concurrency
	rc.Entities = cfg.Entities
	rc.Batch = cfg.Batch
	return rc
}

// env is what both suites set up before measuring: a work directory, the file
// Qala logs to, and a running baseline.
type env struct {
	work     string
	qlog     *os.File
	baseURL  string
	baseline string // "own process" or "in process"
	closers  []func()
}

// newEnv prepares an env; keep leaves the work directory in place.
// baselineBin runs the baseline as its own process; "" runs it in process.
func newEnv(ctx context.Context, prefix string, keep bool, baselineBin string, logf func(string, ...any)) (*env, error) {
	e := &env{}
	work, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	e.work = work
	if keep {
		logf("keeping data and logs in %s", work)
	} else {
		e.closers = append(e.closers, func() { os.RemoveAll(work) })
	}
	if e.qlog, err = os.Create(filepath.Join(work, "qala.log")); err != nil {
		e.close()
		return nil, fmt.Errorf("qala log: %w", err)
	}
	e.closers = append(e.closers, func() { e.qlog.Close() })
	if baselineBin != "" {
		bp, err := StartBaselineProcess(ctx, baselineBin, e.qlog, 30*time.Second)
		if err != nil {
			e.close()
			return nil, err
		}
		e.closers = append(e.closers, func() { bp.Stop(10 * time.Second) })
		e.baseURL, e.baseline = bp.URL, "own process"
	} else {
		b, err := StartBaseline("127.0.0.1:0")
		if err != nil {
			e.close()
			return nil, err
		}
		e.closers = append(e.closers, func() { b.Close() })
		e.baseURL, e.baseline = b.URL, "in process"
	}
	logf("baseline (%s) at %s", e.baseline, e.baseURL)
	return e, nil
}

// close releases what newEnv set up, last first.
func (e *env) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}
