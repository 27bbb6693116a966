package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	randv2 "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The temporal suite measures the history: ingest through the temporal
// API's batch writes (POST /temporal/entities, each request one sensor's
// readings of every attribute), the size of the history on disk, and the
// temporal queries a dashboard sends — a month of one attribute in hourly
// periods, the last 100 readings of a sensor, and a day-by-day aggregation
// over a whole type — each next to the baseline serving the same requests.

// The temporal shapes (names of runs; their requests come from the suite).
const (
	ShapeTemporalIngest Shape = "temporal-ingest"
	ShapeTemporalHourly Shape = "temporal-hourly"
	ShapeTemporalLastN  Shape = "temporal-lastn"
	ShapeTemporalDaily  Shape = "temporal-daily"
)

// TemporalType is the entity type of the suite's sensors; their attributes
// are temporalAttrs.
const TemporalType = "WeatherObserved"

var temporalAttrs = []string{"temperature", "relativeHumidity", "pm25"}

// temporalStart is when every sensor's readings begin.
var temporalStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TemporalConfig describes one run of the temporal suite.
type TemporalConfig struct {
	Qala        string // path of the qala binary
	BaselineBin string // a qala-bench binary to run the baseline as its own process; "" in process
	Short       bool
	Sensors     int           // sensors (entities) of the data set
	Days        int           // days of 1-minute readings of each attribute
	Batch       int           // readings of each attribute in one ingest request
	LoadWorkers int           // concurrent ingest requests
	LoadTimeout time.Duration // bound of the ingest
	Duration    time.Duration // of each query shape, against each server
	Concurrency int           // workers of the query shapes
	TypeLimit   int           // entities of the type-wide aggregation
	Seed        uint64
	Keep        bool
	Log         io.Writer
}

// DefaultTemporalConfig returns the suite's defaults: 1,000 sensors × 3
// attributes × 30 days (129.6 million readings); short selects the CI
// variant (100 sensors × 3 days).
func DefaultTemporalConfig(short bool) TemporalConfig {
	c := TemporalConfig{Sensors: 1000, Days: 30, Batch: 1000, LoadWorkers: 4, LoadTimeout: 2 * time.Hour,
		Duration: 10 * time.Second, Concurrency: 2, TypeLimit: 100, Seed: 1}
	if short {
		c.Short, c.Sensors, c.Days, c.Duration, c.LoadTimeout = true, 100, 3, 3*time.Second, 10*time.Minute
	}
	return c
}

func (c *TemporalConfig) readings() int64 { return int64(c.Days) * 1440 }

// instances is the number of attribute instances of the data set.
func (c *TemporalConfig) instances() int64 {
	return int64(c.Sensors) * c.readings() * int64(len(temporalAttrs))
}

// TemporalReport holds every figure of a temporal suite run.
type TemporalReport struct {
	Machine Machine `json:"machine"`
	Config  struct {
		Sensors     int    `json:"sensors"`
		Attributes  int    `json:"attributes"`
		Days        int    `json:"days"`
		Instances   int64  `json:"instances"`
		Batch       int    `json:"batch"`
		LoadWorkers int    `json:"load_workers"`
		Duration    string `json:"duration"`
		Concurrency int    `json:"concurrency"`
		TypeLimit   int    `json:"type_limit"`
		Short       bool   `json:"short"`
		Baseline    string `json:"baseline"`
	} `json:"config"`
	Ingest          *Result   `json:"ingest,omitempty"`
	IngestBaseline  *Result   `json:"ingest_baseline,omitempty"`
	IngestInstances int64     `json:"ingest_instances"` // acknowledged
	CompactSeconds  float64   `json:"compact_seconds"`
	DiskBytes       int64     `json:"history_disk_bytes"`
	LoadRSS         uint64    `json:"rss_after_ingest_bytes"`
	Pairs           []Pair    `json:"shapes"`
	Errors          []string  `json:"errors,omitempty"`
	Started         time.Time `json:"started"`
	TotalSeconds    float64   `json:"total_seconds"`
}

func (s *TemporalReport) fail(format string, args ...any) {
	s.Errors = append(s.Errors, fmt.Sprintf(format, args...))
}

// perRequest is the instances one ingest request carries.
func (c *TemporalConfig) perRequest() int64 { return int64(c.Batch) * int64(len(temporalAttrs)) }

// RunTemporalSuite starts the baseline and a fresh Qala, ingests the data
// set, compacts and measures the history, then runs the query shapes
// against both. A failed step is recorded in the report.
func RunTemporalSuite(ctx context.Context, cfg TemporalConfig) (*TemporalReport, error) {
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
	if cfg.Sensors < 1 || cfg.Days < 1 || cfg.Batch < 1 {
		return nil, fmt.Errorf("sensors %d, days %d, batch %d: want all ≥ 1", cfg.Sensors, cfg.Days, cfg.Batch)
	}
	rep := &TemporalReport{Machine: MachineInfo(cfg.Qala), Started: time.Now().UTC()}
	c := &rep.Config
	c.Sensors, c.Attributes, c.Days, c.Instances = cfg.Sensors, len(temporalAttrs), cfg.Days, cfg.instances()
	c.Batch, c.LoadWorkers, c.Duration, c.Concurrency = cfg.Batch, cfg.LoadWorkers, cfg.Duration.String(), cfg.Concurrency
	c.TypeLimit, c.Short = min(cfg.TypeLimit, cfg.Sensors), cfg.Short
	defer func() { rep.TotalSeconds = time.Since(rep.Started).Seconds() }()

	env, err := newEnv(ctx, "qala-bench-temporal-", cfg.Keep, cfg.BaselineBin, logf)
	if err != nil {
		return nil, err
	}
	defer env.close()
	c.Baseline = env.baseline
	dataDir := filepath.Join(env.work, "data")
	q, err := StartQala(ctx, cfg.Qala, dataDir, env.qlog, time.Minute)
	if err != nil {
		rep.fail("start qala: %v (log: %s)", err, env.qlog.Name())
		return rep, nil
	}
	defer func() {
		select {
		case <-q.done:
		default:
			q.Kill()
		}
	}()
	runID := NewRunID()

	// Ingest: every sensor's readings in order, a request per sensor and
	// Batch minutes.
	chunks := (cfg.readings() + int64(cfg.Batch) - 1) / int64(cfg.Batch)
	tasks := int64(cfg.Sensors) * chunks
	logf("qala at %s; ingesting %s instances (%d sensors × %d attributes × %d days of 1-minute readings) in %d requests of %d readings per attribute, %d workers",
		q.URL, fmtRate(float64(cfg.instances())), cfg.Sensors, len(temporalAttrs), cfg.Days, tasks, cfg.Batch, cfg.LoadWorkers)
	ingest := func(base string, max int64, d time.Duration) (*Result, error) {
		rc := cfg.runConfig(ShapeTemporalIngest, base, d)
		rc.Concurrency, rc.MaxRequests, rc.Timeout = cfg.LoadWorkers, max, 5*time.Minute
		rc.Request = cfg.ingestRequests(runID, tasks)
		return Run(ctx, rc)
	}
	if rep.Ingest, err = ingest(q.URL, tasks, cfg.LoadTimeout); err != nil {
		rep.fail("ingest: %v", err)
		return rep, nil
	}
	rep.IngestInstances = cfg.acknowledged(rep.Ingest.Successes, tasks, chunks)
	logf("ingest   %s; %s instances/s", rep.Ingest.Line(), fmtRate(float64(rep.IngestInstances)/rep.Ingest.Seconds))
	if rep.Ingest.Errors > 0 {
		rep.fail("ingest: %d requests failed (first: %s)", rep.Ingest.Errors, rep.Ingest.ErrorSample)
	}
	if rep.IngestBaseline, err = ingest(env.baseURL, tasks, cfg.Duration); err != nil {
		rep.fail("ingest against the baseline: %v", err)
	} else {
		logf("baseline %s", rep.IngestBaseline.Line())
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	time.Sleep(settle)
	if rep.LoadRSS, _, err = q.Memory(); err != nil {
		rep.fail("memory after ingest: %v", err)
	}

	// Merge the chunks of the days written in pieces and compact pebble,
	// then weigh the history directory.
	t0 := time.Now()
	if err := postAdmin(ctx, q.URL+"/admin/history/compact"); err != nil {
		rep.fail("compact: %v", err)
	}
	rep.CompactSeconds = time.Since(t0).Seconds()
	if rep.DiskBytes, err = dirSize(filepath.Join(dataDir, "history")); err != nil {
		rep.fail("history size: %v", err)
	}
	if rep.IngestInstances > 0 {
		logf("history: %s on disk after %s of compaction, %.2f bytes an instance; RSS %s", fmtBytes(uint64(rep.DiskBytes)),
			fmtDur(time.Since(t0)), float64(rep.DiskBytes)/float64(rep.IngestInstances), fmtBytes(rep.LoadRSS))
	}

	for _, shape := range []Shape{ShapeTemporalHourly, ShapeTemporalLastN, ShapeTemporalDaily} {
		if ctx.Err() != nil {
			break
		}
		p := Pair{Shape: shape}
		for _, target := range []struct {
			base string
			dst  **Result
		}{{env.baseURL, &p.Baseline}, {q.URL, &p.Qala}} {
			rc := cfg.runConfig(shape, target.base, cfg.Duration)
			rc.Request = cfg.queryRequests(shape, runID)
			rc.OK = func(st int) bool { return st == http.StatusOK }
			r, err := Run(ctx, rc)
			if err != nil {
				p.Err += " " + err.Error()
				rep.fail("%s against %s: %v", shape, target.base, err)
				continue
			}
			*target.dst = r
			logf("%-8s %s", map[bool]string{true: "qala", false: "baseline"}[target.base == q.URL], r.Line())
		}
		rep.Pairs = append(rep.Pairs, p)
	}
	if _, err := q.Stop(2 * time.Minute); err != nil {
		rep.fail("stop qala: %v", err)
	}
	return rep, ctx.Err()
}

func (cfg *TemporalConfig) runConfig(shape Shape, base string, d time.Duration) Config {
	rc := DefaultConfig()
	rc.URL, rc.Shape, rc.Duration, rc.Concurrency, rc.Seed = base, shape, d, cfg.Concurrency, cfg.Seed
	rc.Prepare = false
	return rc
}

// acknowledged returns the instances the acknowledged ingest requests
// carried (the last chunk of each sensor may be short).
func (cfg *TemporalConfig) acknowledged(ok uint64, tasks, chunks int64) int64 {
	if int64(ok) >= tasks {
		return cfg.instances()
	}
	return int64(ok) * cfg.perRequest()
}

// sensorID names sensor s of a run.
func sensorID(runID string, s int64) string {
	return "urn:ngsi-ld:" + TemporalType + ":" + runID + "-" + strconv.FormatInt(s, 10)
}

// ingestRequests returns the request maker of the ingest: request i writes
// chunk i / sensors of sensor i % sensors, so that each sensor's readings
// arrive in order.
func (cfg *TemporalConfig) ingestRequests(runID string, tasks int64) func([]byte, *randv2.Rand) (string, string, []byte) {
	var next atomic.Int64
	sensors := int64(cfg.Sensors)
	readings := cfg.readings()
	return func(buf []byte, _ *randv2.Rand) (string, string, []byte) {
		i := (next.Add(1) - 1) % tasks
		s, c := i%sensors, i/sensors
		k0 := c * int64(cfg.Batch)
		n := min(int64(cfg.Batch), readings-k0)
		return http.MethodPost, "/ngsi-ld/v1/temporal/entities", appendReadings(buf[:0], sensorID(runID, s), s, k0, n)
	}
}

// reading returns the value of attribute a of sensor s at minute k:
// temperatures with one decimal following the day, humidity in whole
// percent, PM2.5 with one decimal; deterministic.
func reading(a int, s, k int64) float64 {
	noise := float64(mix(uint64(s)<<32|uint64(k)<<2|uint64(a))%1000)/1000 - 0.5
	day := math.Sin(2 * math.Pi * float64(k%1440) / 1440)
	switch a {
	case 0:
		return math.Round((-12+8*day+noise+float64(s%7))*10) / 10
	case 1:
		return math.Round(70 - 20*day + 4*noise)
	default:
		return math.Round((18+10*math.Abs(day)+6*noise)*10) / 10
	}
}

// appendReadings renders one sensor's readings k0 .. k0+n-1 of every
// attribute as an EntityTemporal.
func appendReadings(dst []byte, id string, s, k0, n int64) []byte {
	dst = append(dst, `{"id":"`...)
	dst = append(dst, id...)
	dst = append(dst, `","type":"`+TemporalType+`"`...)
	for a, name := range temporalAttrs {
		dst = append(dst, `,"`...)
		dst = append(dst, name...)
		dst = append(dst, `":[`...)
		for k := k0; k < k0+n; k++ {
			if k > k0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"type":"Property","value":`...)
			dst = strconv.AppendFloat(dst, reading(a, s, k), 'f', -1, 64)
			dst = append(dst, `,"observedAt":"`...)
			dst = temporalStart.Add(time.Duration(k)*time.Minute).AppendFormat(dst, "2006-01-02T15:04:05Z")
			dst = append(dst, `"}`...)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// queryRequests returns the request maker of a query shape.
func (cfg *TemporalConfig) queryRequests(shape Shape, runID string) func([]byte, *randv2.Rand) (string, string, []byte) {
	const v1 = "/ngsi-ld/v1/temporal/entities"
	from := temporalStart.Format(time.RFC3339)
	to := temporalStart.AddDate(0, 0, cfg.Days).Format(time.RFC3339)
	between := "&timerel=between&timeAt=" + url.QueryEscape(from) + "&endTimeAt=" + url.QueryEscape(to)
	limit := min(cfg.TypeLimit, cfg.Sensors)
	return func(_ []byte, rng *randv2.Rand) (string, string, []byte) {
		s := rng.Int64N(int64(cfg.Sensors))
		switch shape {
		case ShapeTemporalHourly:
			return http.MethodGet, v1 + "/" + sensorID(runID, s) + "?attrs=temperature&options=aggregatedValues&aggrMethods=avg,min,max&aggrPeriodDuration=PT1H" + between, nil
		case ShapeTemporalLastN:
			return http.MethodGet, v1 + "/" + sensorID(runID, s) + "?lastN=100", nil
		default: // ShapeTemporalDaily
			return http.MethodGet, v1 + "?type=" + TemporalType + "&attrs=temperature&options=aggregatedValues&aggrMethods=avg,max&aggrPeriodDuration=P1D" +
				between + "&limit=" + strconv.Itoa(limit), nil
		}
	}
}

// postAdmin sends POST to an admin endpoint and checks for 200.
func postAdmin(ctx context.Context, u string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	resp, err := plainClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", u, resp.StatusCode, b)
	}
	return nil
}

// dirSize sums the sizes of the files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}

// temporalGoal is a goal of the history issue.
type temporalGoal struct {
	text   string
	maxP99 float64 // ms; 0 = none
}

var temporalRows = map[Shape]struct {
	label string
	goal  *temporalGoal
}{
	ShapeTemporalHourly: {"one attribute, the whole period in hourly buckets (avg, min, max)", &temporalGoal{"p99 ≤ 20 ms", 20}},
	ShapeTemporalLastN:  {"lastN=100 of a sensor (3 attributes, 300 instances)", &temporalGoal{"p99 ≤ 5 ms", 5}},
	ShapeTemporalDaily:  {"type-wide daily aggregation (avg, max), LIMIT sensors", nil},
}

// Markdown writes the report: the goals table, the ingest and the size, the
// latency details, the machine.
func (s *TemporalReport) Markdown(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	c := s.Config
	full := c.Sensors >= 1000 && c.Days >= 30
	p("## Qala temporal benchmark, %s\n\n", s.Machine.Date)
	p("Data: %d sensors × %d attributes × %d days of 1-minute readings = %s instances", c.Sensors, c.Attributes, c.Days, fmtRate(float64(c.Instances)))
	if !full {
		p(" (scaled down from 1,000 sensors × 30 days = 129.6 M)")
	}
	p(", written by `POST /temporal/entities` with %d readings of each attribute per request (%s instances), %d requests at a time.\n\n",
		c.Batch, fmtRate(float64(c.Batch*c.Attributes)), c.LoadWorkers)
	p("| workload | Qala | p50 | p99 | baseline | ratio | goal | met |\n")
	p("|---|---:|---:|---:|---:|---:|---|---|\n")
	scale := func(met string) string {
		if met != "" && !full {
			return met + " (scaled down)"
		}
		return met
	}
	if r := s.Ingest; r != nil && r.Seconds > 0 {
		rate := float64(s.IngestInstances) / r.Seconds
		bv, ratio := "—", "—"
		if b := s.IngestBaseline; b != nil && b.Seconds > 0 {
			brate := b.OKPerSec * float64(c.Batch*c.Attributes)
			bv, ratio = fmtRate(brate)+" instances/s", strconv.FormatFloat(rate/brate, 'f', 2, 64)
		}
		met := "no"
		if rate >= 200000 && r.Errors == 0 {
			met = "yes"
		}
		p("| ingest (batch writes, durable) | %s instances/s | %s | %s | %s | %s | ≥ 200,000 instances/s | %s |\n",
			fmtRate(rate), fmtMS(r.Latency.P50), fmtMS(r.Latency.P99), bv, ratio, scale(met))
	}
	if s.IngestInstances > 0 && s.DiskBytes > 0 {
		per := float64(s.DiskBytes) / float64(s.IngestInstances)
		met := "no"
		if per <= 16 {
			met = "yes"
		}
		p("| bytes per instance on disk (after compaction) | %.2f B | — | — | — | — | ≤ 16 B | %s |\n", per, scale(met))
	}
	for _, pr := range s.Pairs {
		row := temporalRows[pr.Shape]
		label := strings.ReplaceAll(row.label, "LIMIT", strconv.Itoa(c.TypeLimit))
		qv, p50, p99, bv, ratio, met := "—", "—", "—", "—", "—", ""
		if r := pr.Qala; r != nil {
			qv = fmtRate(r.OKPerSec) + " req/s"
			if r.Errors > 0 {
				qv += fmt.Sprintf(" (%d errors)", r.Errors)
			}
			p50, p99 = fmtMS(r.Latency.P50), fmtMS(r.Latency.P99)
			if row.goal != nil {
				met = "no"
				if r.Errors == 0 && r.Successes > 0 && r.Latency.P99 <= row.goal.maxP99 {
					met = "yes"
				}
			}
		}
		if b := pr.Baseline; b != nil {
			bv = fmtRate(b.OKPerSec) + " req/s"
			if pr.Qala != nil && b.OKPerSec > 0 {
				ratio = strconv.FormatFloat(pr.Qala.OKPerSec/b.OKPerSec, 'f', 2, 64)
			}
		}
		goal := "—"
		if row.goal != nil {
			goal = row.goal.text
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", label, qv, p50, p99, bv, ratio, goal, scale(met))
	}
	if r := s.Ingest; r != nil {
		p("\nIngest: %s instances acknowledged in %.1f s (%d requests%s); RSS %s after it. ", fmtRate(float64(s.IngestInstances)), r.Seconds,
			r.Successes, errNote(r.Errors), fmtBytes(s.LoadRSS))
		p("Compaction (merging the days written in pieces, then pebble's full compaction) took %.1f s; the history takes %s on disk.\n",
			s.CompactSeconds, fmtBytes(uint64(s.DiskBytes)))
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
	line("qala", s.Ingest)
	line("baseline", s.IngestBaseline)
	for _, pr := range s.Pairs {
		line("baseline", pr.Baseline)
		line("qala", pr.Qala)
	}
	m := s.Machine
	p("\nMachine: %d CPUs (%s), %s memory, Linux %s; load tool %s; qala built with %s%s; load generator on the same machine; "+
		"%s per query shape, %d workers, baseline in %s. The baseline decodes the ingest bodies and answers the queries with canned bodies of the same shape and size.\n",
		m.CPUs, orDash(m.CPU), orDash(m.MemTotal), orDash(m.Kernel), m.GoVersion, orDash(m.QalaGo), revNote(m.QalaRev),
		c.Duration, c.Concurrency, c.Baseline)
	if len(s.Errors) > 0 {
		p("\nFailed steps:\n")
		for _, e := range s.Errors {
			p("- %s\n", e)
		}
	}
}

// JSON returns the report as indented JSON.
func (s *TemporalReport) JSON() ([]byte, error) { return json.MarshalIndent(s, "", "  ") }
