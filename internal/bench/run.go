package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	randv2 "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Shape names one kind of request a run sends over and over.
type Shape string

// The load shapes.
const (
	// ShapeCreate sends POST /ngsi-ld/v1/entities, one new ~1 KB entity per request.
	ShapeCreate Shape = "create"
	// ShapeRetrieve sends GET /ngsi-ld/v1/entities/{id} for random prepared ids.
	ShapeRetrieve Shape = "retrieve"
	// ShapePatch sends PATCH /ngsi-ld/v1/entities/{id}/attrs (3 attributes) to random prepared ids.
	ShapePatch Shape = "patch"
	// ShapeUpsert sends POST /ngsi-ld/v1/entityOperations/upsert with Batch new entities.
	ShapeUpsert Shape = "upsert"
	// ShapeQuery sends GET /ngsi-ld/v1/entities?type=AirQualityObserved&limit=Limit.
	ShapeQuery Shape = "query"
	// ShapeHealth sends GET /health: the trivial request.
	ShapeHealth Shape = "health"
)

// Shapes lists every shape, in the order the suite runs them.
var Shapes = []Shape{ShapeHealth, ShapeCreate, ShapeRetrieve, ShapePatch, ShapeUpsert, ShapeQuery}

// needsPrepared reports whether the shape works on previously created entities.
func (s Shape) needsPrepared() bool {
	return s == ShapeRetrieve || s == ShapePatch || s == ShapeQuery
}

// ok reports whether status is the success status of the shape.
func (s Shape) ok(status int) bool {
	switch s {
	case ShapeCreate:
		return status == http.StatusCreated
	case ShapePatch:
		return status == http.StatusNoContent
	case ShapeUpsert:
		return status == http.StatusCreated || status == http.StatusNoContent
	default:
		return status == http.StatusOK
	}
}

// Config describes one run.
type Config struct {
	URL         string        // base URL of the server, e.g. http://127.0.0.1:1026; loopback only
	Shape       Shape         // what to send
	Concurrency int           // closed-loop workers, each with at most one request in flight
	Duration    time.Duration // stop issuing requests after this long
	MaxRequests int64         // stop after this many requests; 0 means no limit but Duration
	Batch       int           // entities per upsert request (upsert shape and the prepare phase)
	Entities    int           // entities the prepare phase creates for retrieve, patch and query
	Limit       int           // limit of the query shape
	Prepare     bool          // create the Entities first (else they must exist under RunID)
	RunID       string        // distinguishes this run's ids; empty picks a random one
	LD          bool          // send application/ld+json bodies with an @context member
	Timeout     time.Duration // per request, including reading the response
	// PrepareTimeout bounds the prepare phase.
	PrepareTimeout time.Duration
	// StdClient selects net/http's Client instead of the tool's own lean
	// HTTP/1.1 connections, to cross-check figures.
	StdClient bool
	// CPUProfile, if set, is a file to which the CPU profile of the server during
	// the run is saved, fetched from /debug/pprof/profile.
	CPUProfile string
	// Seed seeds the generators from which the query shapes draw their
	// parameters (worker w uses Seed and w); runs with one seed send the same
	// requests, given the same number of workers and requests.
	Seed uint64
	// Offset is the smallest offset of the offset shape, which adds [0, 1000).
	Offset int
	// City, if set, makes the upsert shape write the city's entities in
	// order instead of new ones (see LoadCity).
	City *City
	// Request, if set, makes the requests instead of Shape (which then only
	// names the run): it renders the next request's body into buf, drawing
	// from the worker's rng. OK then decides which statuses are successes
	// (default: 2xx).
	Request func(buf []byte, rng *randv2.Rand) (method, path string, body []byte)
	OK      func(status int) bool
}

// DefaultConfig returns the defaults of the run subcommand.
func DefaultConfig() Config {
	return Config{
		URL:            "http://127.0.0.1:1026",
		Shape:          ShapeCreate,
		Concurrency:    64,
		Duration:       10 * time.Second,
		Batch:          1000,
		Entities:       10000,
		Limit:          20,
		Offset:         defaultOffset,
		Seed:           1,
		Prepare:        true,
		Timeout:        30 * time.Second,
		PrepareTimeout: 5 * time.Minute,
	}
}

func (c *Config) check() error {
	if err := checkLoopbackURL(c.URL); err != nil {
		return err
	}
	switch {
	case !c.Shape.known() && c.Request == nil:
		return fmt.Errorf("shape %q: want one of %v", c.Shape, allShapes)
	case c.Concurrency < 1 || c.Concurrency > 10000:
		return fmt.Errorf("concurrency %d: want 1..10000", c.Concurrency)
	case c.Duration <= 0 || c.Duration > 24*time.Hour:
		return fmt.Errorf("duration %v: want > 0 and ≤ 24h", c.Duration)
	case c.MaxRequests < 0:
		return fmt.Errorf("max requests %d: want ≥ 0", c.MaxRequests)
	case c.Batch < 1 || c.Batch > 100000:
		return fmt.Errorf("batch %d: want 1..100000", c.Batch)
	case c.Shape.needsPrepared() && c.Entities < 1:
		return fmt.Errorf("entities %d: shape %s needs at least 1", c.Entities, c.Shape)
	case c.Limit < 0:
		return fmt.Errorf("limit %d: want ≥ 0", c.Limit)
	case c.Offset < 0:
		return fmt.Errorf("offset %d: want ≥ 0", c.Offset)
	case c.Timeout <= 0:
		return fmt.Errorf("timeout %v: want > 0", c.Timeout)
	}
	return nil
}

// checkLoopbackURL rejects a target that is not plain HTTP on a loopback address.
func checkLoopbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("url %q: %w", s, err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("url %q: scheme must be http", s)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("url %q: host must be loopback (127.0.0.1, ::1 or localhost)", s)
	}
	return nil
}

// NewRunID returns a short random id that keeps one run's entity ids apart
// from every other run's.
func NewRunID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewClient returns an HTTP/1.1 keep-alive client tuned so that the client is
// not the bottleneck: one idle connection kept per worker, no compression.
func NewClient(concurrency int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          2*concurrency + 16,
		MaxIdleConnsPerHost:   2*concurrency + 16,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		WriteBufferSize:       64 << 10,
		ReadBufferSize:        64 << 10,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// plainClient serves the tool's one-off requests (count, profile): no proxy,
// ever, and no overall timeout (callers bound each request with a context).
var plainClient = &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}}

// Latency summarizes a latency distribution, in milliseconds.
type Latency struct {
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Summarize returns the latency summary of h.
func (h *Histogram) Summarize() Latency {
	return Latency{Mean: ms(h.Mean()), P50: ms(h.Quantile(.5)), P90: ms(h.Quantile(.9)),
		P99: ms(h.Quantile(.99)), Max: ms(h.Max())}
}

// Result is the outcome of one run.
type Result struct {
	Shape       Shape  `json:"shape"`
	URL         string `json:"url"`
	RunID       string `json:"run_id"`
	Concurrency int    `json:"concurrency"`
	Batch       int    `json:"batch,omitempty"` // entities per request, upsert only

	Requests  uint64 `json:"requests"`  // completed requests, successful or not
	Successes uint64 `json:"successes"` // requests answered with the shape's success status
	Errors    uint64 `json:"errors"`    // Requests - Successes
	// Statuses counts every answer by HTTP status; "transport" counts
	// requests that got no answer (refused, reset, timed out).
	Statuses    map[string]uint64 `json:"statuses"`
	ErrorSample string            `json:"error_sample,omitempty"` // the first error seen

	Seconds        float64 `json:"seconds"`         // from the first request to the last answer
	ReqPerSec      float64 `json:"req_per_s"`       // Requests / Seconds
	OKPerSec       float64 `json:"ok_per_s"`        // Successes / Seconds
	EntitiesPerSec float64 `json:"entities_per_s"`  // entities written successfully / Seconds
	Latency        Latency `json:"latency"`         // of every completed request
	Prepared       int     `json:"prepared"`        // entities created before the run
	PrepareSeconds float64 `json:"prepare_seconds"` // time the prepare phase took
	ProfileError   string  `json:"profile_error,omitempty"`

	hist *Histogram
}

// Line renders r as one line of text.
func (r *Result) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s c=%d %.1fs requests=%d ok=%d errors=%d req/s=%.0f",
		r.Shape, r.Concurrency, r.Seconds, r.Requests, r.Successes, r.Errors, r.ReqPerSec)
	if r.EntitiesPerSec > 0 {
		fmt.Fprintf(&b, " entities/s=%.0f", r.EntitiesPerSec)
	}
	fmt.Fprintf(&b, " p50=%s p90=%s p99=%s max=%s", fmtMS(r.Latency.P50), fmtMS(r.Latency.P90),
		fmtMS(r.Latency.P99), fmtMS(r.Latency.Max))
	keys := make([]string, 0, len(r.Statuses))
	for k := range r.Statuses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString(" statuses:")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, r.Statuses[k])
	}
	if r.ErrorSample != "" {
		fmt.Fprintf(&b, " first-error=%q", r.ErrorSample)
	}
	return b.String()
}

// fmtMS renders milliseconds with three significant digits.
func fmtMS(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + "ms"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + "ms"
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64) + "ms"
	default:
		return strconv.FormatFloat(v, 'f', 3, 64) + "ms"
	}
}

// tally is what one worker counts; workers never share one.
type tally struct {
	hist     Histogram
	requests uint64
	ok       uint64
	statuses map[int]uint64 // 0 = transport error
	sample   string
}

// runner holds the state the workers of one run share.
type runner struct {
	cfg    Config
	bodies Bodies
	base   string        // URL without a trailing slash
	addr   string        // host:port of base
	next   atomic.Uint64 // last sequence number of a created entity
	issued atomic.Int64  // requests started, against MaxRequests

	std   *http.Client // with Config.StdClient
	mu    sync.Mutex   // guards conns
	conns []*conn      // without Config.StdClient, to abort them
}

// newDoer returns a client for one worker.
func (r *runner) newDoer(ctx context.Context) doer {
	if r.std != nil {
		return stdDoer{ctx: ctx, client: r.std, base: r.base}
	}
	c := newConn(r.addr, r.cfg.Timeout)
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Err() != nil {
		c.abort()
	}
	r.conns = append(r.conns, c)
	return c
}

// closeAll closes the connections of the run; with abort, in-flight requests
// fail at once.
func (r *runner) closeAll(abort bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		if abort {
			c.abort()
		} else {
			c.close()
		}
	}
	if r.std != nil {
		r.std.CloseIdleConnections()
	}
}

// Run runs cfg against a server: optionally the prepare phase, then
// Concurrency closed-loop workers that each send a request, wait for the
// answer and send the next, until Duration has passed, MaxRequests have been
// issued or ctx is done. Every request is bounded by Timeout. Run fails only
// when the run could not take place (bad config, prepare failed); errors of
// individual requests are counted in the Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.RunID == "" {
		cfg.RunID = NewRunID()
	}
	if cfg.PrepareTimeout <= 0 {
		cfg.PrepareTimeout = 5 * time.Minute
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(cfg.URL) // checked
	r := &runner{
		cfg:    cfg,
		bodies: Bodies{RunID: cfg.RunID, LD: cfg.LD},
		base:   strings.TrimRight(cfg.URL, "/"),
		addr:   u.Host,
	}
	if u.Port() == "" {
		r.addr = net.JoinHostPort(u.Hostname(), "80")
	}
	if cfg.StdClient {
		r.std = NewClient(cfg.Concurrency, cfg.Timeout)
	}
	defer r.closeAll(false)
	stop := context.AfterFunc(ctx, func() { r.closeAll(true) })
	defer stop()
	res := &Result{Shape: cfg.Shape, URL: cfg.URL, RunID: cfg.RunID, Concurrency: cfg.Concurrency,
		Statuses: map[string]uint64{}}
	if cfg.Shape == ShapeUpsert {
		res.Batch = cfg.Batch
	}
	if cfg.Shape.needsPrepared() && cfg.Prepare {
		t0 := time.Now()
		if err := r.prepare(ctx); err != nil {
			return nil, err
		}
		res.Prepared = cfg.Entities
		res.PrepareSeconds = time.Since(t0).Seconds()
	}

	var profErr chan error
	if cfg.CPUProfile != "" {
		profErr = make(chan error, 1)
		go func() { profErr <- FetchProfile(ctx, r.base, cfg.Duration, cfg.CPUProfile) }()
	}

	tallies := make([]*tally, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	for w := range tallies {
		t := &tally{statuses: map[int]uint64{}}
		tallies[w] = t
		d := r.newDoer(ctx)
		rng := randv2.New(randv2.NewPCG(cfg.Seed, uint64(w)))
		wg.Go(func() { r.work(ctx, deadline, d, t, rng) })
	}
	wg.Wait()
	elapsed := time.Since(start)

	var h Histogram
	for _, t := range tallies {
		h.Merge(&t.hist)
		res.Requests += t.requests
		res.Successes += t.ok
		for st, n := range t.statuses {
			k := "transport"
			if st != 0 {
				k = strconv.Itoa(st)
			}
			res.Statuses[k] += n
		}
		if res.ErrorSample == "" {
			res.ErrorSample = t.sample
		}
	}
	res.Errors = res.Requests - res.Successes
	res.Seconds = elapsed.Seconds()
	res.ReqPerSec = float64(res.Requests) / res.Seconds
	res.OKPerSec = float64(res.Successes) / res.Seconds
	switch cfg.Shape {
	case ShapeCreate:
		res.EntitiesPerSec = res.OKPerSec
	case ShapeUpsert:
		res.EntitiesPerSec = res.OKPerSec * float64(cfg.Batch)
	}
	res.Latency = h.Summarize()
	res.hist = &h
	if profErr != nil {
		if err := <-profErr; err != nil {
			res.ProfileError = err.Error()
		}
	}
	return res, nil
}

// work is one closed-loop worker.
func (r *runner) work(ctx context.Context, deadline time.Time, d doer, t *tally, rng *randv2.Rand) {
	var buf []byte
	ok := r.cfg.Shape.ok
	if r.cfg.Request != nil {
		ok = r.cfg.OK
		if ok == nil {
			ok = func(status int) bool { return status/100 == 2 }
		}
	}
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if max := r.cfg.MaxRequests; max > 0 && r.issued.Add(1) > max {
			return
		}
		method, path, body := r.request(buf, rng)
		t0 := time.Now()
		a := d.do(method, path, r.bodies.ContentType(), body, ok)
		t.hist.Record(time.Since(t0))
		// The std client may still hold a body after the answer; never reuse one.
		buf = make([]byte, 0, cap(body))
		t.requests++
		t.statuses[a.status]++
		if ok(a.status) {
			t.ok++
			continue
		}
		if t.sample == "" {
			t.sample = a.sample
		}
	}
}

// request returns the next request of the run, rendering its body into buf;
// the query shapes draw their parameters from rng.
func (r *runner) request(buf []byte, rng *randv2.Rand) (method, path string, body []byte) {
	if r.cfg.Request != nil {
		return r.cfg.Request(buf, rng)
	}
	const entities = "/ngsi-ld/v1/entities"
	now := time.Now()
	switch r.cfg.Shape {
	case ShapeQFilter, ShapeNear, ShapeWithin, ShapeDistrict, ShapeOffset, ShapeCount, ShapeTypes, ShapeAttributes:
		return http.MethodGet, queryPath(&r.cfg, rng), nil
	case ShapeCreate:
		return http.MethodPost, entities, r.bodies.AppendEntity(buf, "c", r.next.Add(1), now)
	case ShapeUpsert:
		if r.cfg.City != nil {
			return r.cityUpsert(buf, now)
		}
		n := uint64(r.cfg.Batch)
		return http.MethodPost, "/ngsi-ld/v1/entityOperations/upsert",
			r.bodies.AppendBatch(buf, "u", r.next.Add(n)-n+1, r.cfg.Batch, now)
	case ShapeRetrieve:
		return http.MethodGet, entities + "/" + r.bodies.ID("p", randv2.Uint64N(uint64(r.cfg.Entities))), nil
	case ShapePatch:
		seq := randv2.Uint64N(uint64(r.cfg.Entities))
		return http.MethodPatch, entities + "/" + r.bodies.ID("p", seq) + "/attrs", r.bodies.AppendPatch(buf, seq, now)
	case ShapeQuery:
		return http.MethodGet, entities + "?type=" + EntityType + "&limit=" + strconv.Itoa(r.cfg.Limit), nil
	default: // ShapeHealth
		return http.MethodGet, "/health", nil
	}
}

// doer sends one request and reads the whole answer.
type doer interface {
	do(method, path, ctype string, body []byte, ok func(int) bool) answer
}

// stdDoer sends requests with a net/http Client, for cross-checking conn.
type stdDoer struct {
	ctx    context.Context
	client *http.Client
	base   string
}

func (s stdDoer) do(method, path, ctype string, body []byte, ok func(int) bool) answer {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.ctx, method, s.base+path, rd)
	if err != nil {
		return answer{sample: err.Error()}
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{sample: err.Error()}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	if !ok(resp.StatusCode) {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		a.sample = fmt.Sprintf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(head)))
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return answer{sample: fmt.Sprintf("%s %s: reading the answer: %v", method, path, err)}
	}
	return a
}

// prepare creates the Entities of kind "p" by batch upsert, with a few
// workers, within PrepareTimeout.
func (r *runner) prepare(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.PrepareTimeout)
	defer cancel()
	n, batch := r.cfg.Entities, r.cfg.Batch
	batches := (n + batch - 1) / batch
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(4, r.cfg.Concurrency, batches) {
		d := r.newDoer(ctx)
		wg.Go(func() {
			if c, ok := d.(*conn); ok {
				defer c.close() // the run proper dials its own
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= batches || ctx.Err() != nil {
					return
				}
				first := i * batch
				size := min(batch, n-first)
				body := r.bodies.AppendBatch(nil, "p", uint64(first), size, time.Now())
				a := d.do(http.MethodPost, "/ngsi-ld/v1/entityOperations/upsert", r.bodies.ContentType(), body, ShapeUpsert.ok)
				if !ShapeUpsert.ok(a.status) {
					err := errors.New(a.sample)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("prepare %d entities: %w", n, firstErr)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("prepare %d entities: %w", n, err)
	}
	return nil
}

// FetchProfile saves the CPU profile the server at base takes over d (whole
// seconds, at least 1) from GET /debug/pprof/profile into file.
func FetchProfile(ctx context.Context, base string, d time.Duration, file string) error {
	secs := max(1, int(math.Floor(d.Seconds())))
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	u := strings.TrimRight(base, "/") + "/debug/pprof/profile?seconds=" + strconv.Itoa(secs)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	resp, err := plainClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: %s answered %d (is pprof exposed?)", u, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if err := writeFile(file, data); err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	return nil
}
