package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// QuerySuiteConfig describes one run of the query suite.
type QuerySuiteConfig struct {
	Qala string // path of the qala binary
	// BaselineBin, if set, is a qala-bench binary run as the baseline in its
	// own process (see SuiteConfig.BaselineBin); empty runs it in process.
	BaselineBin string
	Short       bool          // the quick variant: 100k entities, 3 s per shape
	Duration    time.Duration // of each shape run, against each server
	Concurrency int           // workers of the throughput shapes
	// SlowConcurrency is the number of workers of the shapes whose goal is
	// a latency over the whole store (types, attributes): a few, so that the
	// figure is the time of one request rather than of a queue.
	SlowConcurrency int
	Entities        int // entities of the city
	AQ              int // of which AirQualityObserved
	Limit           int // limit of the entity queries
	Batch           int // entities per upsert request of the load
	LoadWorkers     int
	LoadTimeout     time.Duration // bound of the load
	Seed            uint64
	// MemoryLimit, when set, starts Qala with --memory-limit (e.g. 1536MiB).
	MemoryLimit string
	// HistorySettle, when set, waits after the load (at most this long)
	// until the history store has recorded it — its cursor
	// (qala_history_cursor) reached the store's last change
	// (qala_store_last_seq) — before the query shapes.
	HistorySettle time.Duration
	Keep          bool      // keep the data directory and the Qala log
	Log           io.Writer // progress lines; nil = discard
}

// DefaultQuerySuiteConfig returns the query suite defaults; short selects
// the quick variant.
func DefaultQuerySuiteConfig(short bool) QuerySuiteConfig {
	c := QuerySuiteConfig{
		Short:           short,
		Duration:        10 * time.Second,
		Concurrency:     16,
		SlowConcurrency: 2,
		Entities:        1000000,
		AQ:              100000,
		Limit:           20,
		Batch:           1000,
		LoadWorkers:     4,
		LoadTimeout:     15 * time.Minute,
		Seed:            1,
	}
	if short {
		c.Duration = 3 * time.Second
		c.Entities, c.AQ = 100000, 10000
		c.LoadTimeout = 3 * time.Minute
	}
	return c
}

// QueryReport holds every figure of a query suite run.
type QueryReport struct {
	Machine Machine `json:"machine"`
	Config  struct {
		Duration        string `json:"duration"`
		Concurrency     int    `json:"concurrency"`
		SlowConcurrency int    `json:"slow_concurrency"`
		Entities        int    `json:"entities"`
		AQ              int    `json:"air_quality_observed"`
		Offset          int    `json:"offset"`
		Limit           int    `json:"limit"`
		Batch           int    `json:"batch"`
		LoadWorkers     int    `json:"load_workers"`
		Seed            uint64 `json:"seed"`
		Short           bool   `json:"short"`
		Baseline        string `json:"baseline"`
		MemoryLimit     string `json:"memory_limit,omitempty"`
	} `json:"config"`
	Load   *Result `json:"load,omitempty"`
	Loaded int64   `json:"loaded"` // entities the load wrote successfully
	Count  int64   `json:"count"`  // AirQualityObserved the broker counts after the load
	// HistorySettled is how long the history took to record the load
	// after it ended (HistorySettle), and the RSS then.
	HistorySettled float64   `json:"history_settled_seconds,omitempty"`
	SettledRSS     uint64    `json:"history_settled_rss_bytes,omitempty"`
	LoadRSS        uint64    `json:"load_rss_bytes"`
	LoadPeakRSS    uint64    `json:"load_peak_rss_bytes"`
	EndRSS         uint64    `json:"end_rss_bytes"` // after every query shape
	EndPeakRSS     uint64    `json:"end_peak_rss_bytes"`
	Pairs          []Pair    `json:"shapes"`
	Errors         []string  `json:"errors,omitempty"`
	Started        time.Time `json:"started"`
	TotalSeconds   float64   `json:"total_seconds"`
}

func (s *QueryReport) fail(format string, args ...any) {
	s.Errors = append(s.Errors, fmt.Sprintf(format, args...))
}

// offset is the smallest offset of the deep-paging shape: 90 % into the
// type, leaving room for the [0, 1000) the shape adds and the limit.
func (cfg *QuerySuiteConfig) offset() int {
	return max(0, min(cfg.AQ*9/10, cfg.AQ-1000-cfg.Limit))
}

// RunQuerySuite starts the baseline and a fresh Qala, loads the query city
// into Qala by batch upsert, then runs every query shape against both and
// records the figures. A failed step is recorded in the report; RunQuerySuite
// fails only if it cannot start at all.
func RunQuerySuite(ctx context.Context, cfg QuerySuiteConfig) (*QueryReport, error) {
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
	if cfg.Entities < 1 || cfg.AQ < 1 || cfg.AQ > cfg.Entities {
		return nil, fmt.Errorf("city of %d entities, %d AirQualityObserved: want 1 ≤ aq ≤ entities", cfg.Entities, cfg.AQ)
	}
	rep := &QueryReport{Machine: MachineInfo(cfg.Qala), Started: time.Now().UTC()}
	c := &rep.Config
	c.Duration, c.Concurrency, c.SlowConcurrency = cfg.Duration.String(), cfg.Concurrency, cfg.SlowConcurrency
	c.Entities, c.AQ, c.Offset, c.Limit = cfg.Entities, cfg.AQ, cfg.offset(), cfg.Limit
	c.Batch, c.LoadWorkers, c.Seed, c.Short = cfg.Batch, cfg.LoadWorkers, cfg.Seed, cfg.Short
	c.MemoryLimit = cfg.MemoryLimit
	defer func() { rep.TotalSeconds = time.Since(rep.Started).Seconds() }()

	env, err := newEnv(ctx, "qala-bench-query-", cfg.Keep, cfg.BaselineBin, logf)
	if err != nil {
		return nil, err
	}
	defer env.close()
	work, qlog, baseURL := env.work, env.qlog, env.baseURL
	c.Baseline = env.baseline

	var extra []string
	if cfg.MemoryLimit != "" {
		extra = append(extra, "--memory-limit", cfg.MemoryLimit)
	}
	q, err := StartQala(ctx, cfg.Qala, filepath.Join(work, "data"), qlog, time.Minute, extra...)
	if err != nil {
		rep.fail("start qala: %v (log: %s)", err, qlog.Name())
		return rep, nil
	}
	defer func() {
		select {
		case <-q.done:
		default:
			q.Kill()
		}
	}()

	city := City{RunID: NewRunID(), Total: cfg.Entities, AQ: cfg.AQ}
	logf("qala at %s; loading %d entities (%d AirQualityObserved) in batches of %d with %d workers",
		q.URL, city.Total, city.AQ, cfg.Batch, cfg.LoadWorkers)
	if rep.Load, err = LoadCity(ctx, q.URL, city, cfg.Batch, cfg.LoadWorkers, cfg.LoadTimeout); err != nil {
		rep.fail("load: %v", err)
		return rep, nil
	}
	rep.Loaded = min(int64(rep.Load.Successes)*int64(cfg.Batch), int64(city.Total))
	logf("load     %s", rep.Load.Line())
	if rep.Load.Errors > 0 {
		rep.fail("load: %d upserts failed (first: %s)", rep.Load.Errors, rep.Load.ErrorSample)
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	time.Sleep(settle)
	if rep.LoadRSS, rep.LoadPeakRSS, err = q.Memory(); err != nil {
		rep.fail("memory after load: %v", err)
	}
	if rep.Count, err = Count(ctx, q.URL); err != nil {
		rep.fail("count after load: %v", err)
	}
	logf("after load: RSS %s (peak %s), %s count %d", fmtBytes(rep.LoadRSS), fmtBytes(rep.LoadPeakRSS), EntityType, rep.Count)
	if cfg.HistorySettle > 0 {
		t0 := time.Now()
		if err := historySettled(ctx, q.URL, cfg.HistorySettle); err != nil {
			rep.fail("history after load: %v", err)
		}
		rep.HistorySettled = time.Since(t0).Seconds()
		rep.SettledRSS, _, _ = q.Memory()
		logf("history recorded the load %.1f s after it ended; RSS %s", rep.HistorySettled, fmtBytes(rep.SettledRSS))
	}

	for _, shape := range QueryShapes {
		if ctx.Err() != nil {
			break
		}
		p := Pair{Shape: shape}
		rc := cfg.runConfig(shape)
		rc.URL = baseURL
		if p.Baseline, err = Run(ctx, rc); err != nil {
			p.Err = "baseline: " + err.Error()
		} else {
			logf("baseline %s", p.Baseline.Line())
		}
		rc.URL = q.URL
		if p.Qala, err = Run(ctx, rc); err != nil {
			p.Err += " qala: " + err.Error()
			rep.fail("%s against qala: %v", shape, err)
		} else {
			logf("qala     %s", p.Qala.Line())
		}
		rep.Pairs = append(rep.Pairs, p)
	}
	if rep.EndRSS, rep.EndPeakRSS, err = q.Memory(); err != nil {
		rep.fail("memory after the queries: %v", err)
	}
	if _, err := q.Stop(2 * time.Minute); err != nil {
		rep.fail("stop qala: %v", err)
	}
	return rep, ctx.Err()
}

// runConfig returns the run configuration of a query shape within the suite.
func (cfg *QuerySuiteConfig) runConfig(shape Shape) Config {
	rc := DefaultConfig()
	rc.Shape, rc.Duration, rc.Concurrency = shape, cfg.Duration, cfg.Concurrency
	rc.Limit, rc.Offset, rc.Seed = cfg.Limit, cfg.offset(), cfg.Seed
	rc.Prepare = false
	if shape == ShapeTypes || shape == ShapeAttributes {
		rc.Concurrency = cfg.SlowConcurrency
	}
	return rc
}

// queryGoal is a goal of the "Query the city" issue: a rate, a p99, or both.
type queryGoal struct {
	text    string
	minRate float64 // req/s; 0 = none
	maxP99  float64 // ms; 0 = none
}

func (g *queryGoal) met(r *Result) bool {
	return (g.minRate == 0 || r.OKPerSec >= g.minRate) && (g.maxP99 == 0 || r.Latency.P99 <= g.maxP99)
}

// queryRow says how a query shape appears in the table.
var queryRow = map[Shape]struct {
	label string
	goal  *queryGoal
}{
	ShapeQFilter:    {"q pm25>35;pm10<80, limit 20", &queryGoal{"≥ 5,000 req/s, p99 ≤ 10 ms", 5000, 10}},
	ShapeNear:       {"geo near;maxDistance==500, limit 20", &queryGoal{"≥ 5,000 req/s", 5000, 0}},
	ShapeWithin:     {"geo within 2 km square, limit 20", &queryGoal{"≥ 5,000 req/s", 5000, 0}},
	ShapeDistrict:   {"geo within a district polygon, limit 20", &queryGoal{"≥ 5,000 req/s", 5000, 0}},
	ShapeOffset:     {"deep paging offset≈90 %, limit 20", &queryGoal{"p99 ≤ 20 ms", 0, 20}},
	ShapeCount:      {"count only (count=true&limit=0)", nil},
	ShapeTypes:      {"GET /types?details=true", &queryGoal{"p99 ≤ 50 ms", 0, 50}},
	ShapeAttributes: {"GET /attributes", &queryGoal{"p99 ≤ 50 ms", 0, 50}},
}

// Markdown writes the report as Markdown: the goals table, the load and
// memory, the latency details, the machine, and any failed step.
func (s *QueryReport) Markdown(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	c := s.Config
	full := c.Entities >= 1000000 && c.AQ >= 100000
	p("## Qala query benchmark, %s\n\n", s.Machine.Date)
	p("City: %s entities, %s AirQualityObserved; deep paging from offset %s.\n\n",
		fmtRate(float64(c.Entities)), fmtRate(float64(c.AQ)), fmtRate(float64(c.Offset)))
	p("| workload | Qala req/s | p50 | p99 | baseline req/s | ratio | goal | met |\n")
	p("|---|---:|---:|---:|---:|---:|---|---|\n")
	for _, pr := range s.Pairs {
		row := queryRow[pr.Shape]
		qv, p50, p99, bv, ratio, met := "—", "—", "—", "—", "—", ""
		if pr.Qala != nil {
			qv = fmtRate(pr.Qala.OKPerSec)
			if pr.Qala.Errors > 0 {
				qv += fmt.Sprintf(" (%d errors)", pr.Qala.Errors)
			}
			p50, p99 = fmtMS(pr.Qala.Latency.P50), fmtMS(pr.Qala.Latency.P99)
			switch {
			case row.goal == nil:
			case pr.Qala.Errors > 0 || pr.Qala.Successes == 0:
				met = "no (errors)"
			case row.goal.met(pr.Qala):
				met = "yes"
			default:
				met = "no"
			}
			if met != "" && !full {
				met += " (small city)"
			}
		} else if row.goal != nil {
			met = "no (failed)"
		}
		if pr.Baseline != nil {
			bv = fmtRate(pr.Baseline.OKPerSec)
		}
		if pr.Qala != nil && pr.Baseline != nil && pr.Baseline.OKPerSec > 0 {
			ratio = strconv.FormatFloat(pr.Qala.OKPerSec/pr.Baseline.OKPerSec, 'f', 2, 64)
		}
		gt := "—"
		if row.goal != nil {
			gt = row.goal.text
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", row.label, qv, p50, p99, bv, ratio, gt, met)
	}
	if s.Load != nil {
		p("\nLoad: %s entities in %.1f s (%s entities/s, %d workers, batches of %d%s); %s counted %s.\n",
			fmtRate(float64(s.Loaded)), s.Load.Seconds, fmtRate(float64(s.Loaded)/max(s.Load.Seconds, 1e-9)),
			c.LoadWorkers, c.Batch, errNote(s.Load.Errors), EntityType, fmtRate(float64(s.Count)))
		p("RSS: %s after the load (peak %s), %s after the queries (peak %s).\n",
			fmtBytes(s.LoadRSS), fmtBytes(s.LoadPeakRSS), fmtBytes(s.EndRSS), fmtBytes(s.EndPeakRSS))
		if s.HistorySettled > 0 {
			p("The history store recorded the load %.1f s after it ended (RSS then %s); the shapes ran after that.\n",
				s.HistorySettled, fmtBytes(s.SettledRSS))
		}
	}

	p("\n| server | shape | c | requests | errors | req/s | p50 | p90 | p99 | max |\n")
	p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	line := func(server string, r *Result) {
		if r == nil {
			return
		}
		p("| %s | %s | %d | %d | %d | %s | %s | %s | %s | %s |\n", server, r.Shape, r.Concurrency,
			r.Requests, r.Errors, fmtRate(r.ReqPerSec), fmtMS(r.Latency.P50), fmtMS(r.Latency.P90),
			fmtMS(r.Latency.P99), fmtMS(r.Latency.Max))
	}
	for _, pr := range s.Pairs {
		line("baseline", pr.Baseline)
		line("qala", pr.Qala)
	}
	line("qala (load)", s.Load)

	m := s.Machine
	p("\nMachine: %d CPUs (%s), %s memory, Linux %s; load tool %s; qala built with %s%s; "+
		"load generator on the same machine; %s per shape, %d workers (%d for types and attributes), seed %d, baseline in %s.\n",
		m.CPUs, orDash(m.CPU), orDash(m.MemTotal), orDash(m.Kernel), m.GoVersion, orDash(m.QalaGo),
		revNote(m.QalaRev), c.Duration, c.Concurrency, c.SlowConcurrency, c.Seed, c.Baseline)
	if c.MemoryLimit != "" {
		p("Qala ran with --memory-limit %s.\n", c.MemoryLimit)
	}
	if len(s.Errors) > 0 {
		p("\nFailed steps:\n")
		for _, e := range s.Errors {
			p("- %s\n", e)
		}
	}
	for _, pr := range s.Pairs {
		for _, r := range []*Result{pr.Baseline, pr.Qala} {
			if r != nil && r.ErrorSample != "" {
				p("\nFirst error of %s against %s: `%s`\n", r.Shape, r.URL, r.ErrorSample)
			}
		}
	}
}

// historySettled waits until Qala's history cursor (qala_history_cursor
// of /metrics) has reached the store's last change (qala_store_last_seq),
// at most bound: the history has then recorded the load.
func historySettled(ctx context.Context, base string, bound time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	for {
		v, err := metricValues(ctx, base, "qala_history_cursor", "qala_store_last_seq")
		if err != nil {
			return err
		}
		cursor, last := v[0], v[1]
		if cursor >= last {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("history at change %.0f of %.0f after %v", cursor, last, bound)
		case <-time.After(time.Second):
		}
	}
}

// metricValues reads one unlabelled sample of each name from one scrape of
// base's /metrics, in the order of names.
func metricValues(ctx context.Context, base string, names ...string) ([]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := make([]float64, len(names))
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		for i, name := range names {
			if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
				if out[i], err = strconv.ParseFloat(strings.TrimSpace(rest), 64); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				found++
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if found < len(names) {
		return nil, fmt.Errorf("%v: not all in /metrics", names)
	}
	return out, nil
}
