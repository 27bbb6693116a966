package bench

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Open-loop pacing: request i is due at start + i/rate whatever happened to
// the requests before it, and its latency is measured from when it was due,
// so a server that stalls is charged for every request that waited behind
// the stall (no coordinated omission). Workers take the next due request;
// when all of them are busy, requests go out late and the lateness shows in
// the latency.

// paceConfig describes one paced run.
type paceConfig struct {
	URL     string  // base URL (loopback)
	Rate    float64 // requests per second
	N       int64   // requests in all
	Workers int     // connections, each with one request in flight at most
	Timeout time.Duration
	// MaxDuration, if set, bounds the run: no request starts after it, even
	// if some were due before (a server that falls behind gets no more).
	MaxDuration time.Duration
	// Request renders request i, sent at sent, into buf.
	Request func(i int64, sent time.Time, buf []byte) (method, path string, body []byte)
	OK      func(status int) bool
	// Done is called for every request that got a success status.
	Done func(i int64)
}

// due returns when request i of a run started at start is due.
func due(start time.Time, rate float64, i int64) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

// paceResult is the outcome of a paced run.
type paceResult struct {
	Result
	Service Latency `json:"service"` // from the actual send, not from when due
	Late    int64   `json:"late"`    // requests sent more than 10 ms after they were due
	MaxLag  float64 `json:"max_lag_ms"`
	Due     int64   `json:"due"`    // requests due in all
	Cutoff  bool    `json:"cutoff"` // MaxDuration stopped the run before every due request was sent
}

// pace runs cfg; it stops early only when ctx is done.
func pace(ctx context.Context, shape Shape, cfg paceConfig) (*paceResult, error) {
	if err := checkLoopbackURL(cfg.URL); err != nil {
		return nil, err
	}
	switch {
	case !(cfg.Rate > 0) || cfg.Rate > 1e6:
		return nil, fmt.Errorf("rate %v: want (0, 1e6]", cfg.Rate)
	case cfg.N < 1 || cfg.N > 100_000_000:
		return nil, fmt.Errorf("requests %d: want 1..1e8", cfg.N)
	case cfg.Workers < 1 || cfg.Workers > 4096:
		return nil, fmt.Errorf("workers %d: want 1..4096", cfg.Workers)
	case cfg.Timeout <= 0:
		return nil, fmt.Errorf("timeout %v: want > 0", cfg.Timeout)
	}
	u, _ := url.Parse(cfg.URL)
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	ok := cfg.OK
	if ok == nil {
		ok = func(st int) bool { return st/100 == 2 }
	}
	type tally struct {
		hist, svc      Histogram
		requests, good uint64
		late           int64
		maxLag         time.Duration
		statuses       map[int]uint64
		sample         string
	}
	conns := make([]*conn, cfg.Workers)
	tallies := make([]*tally, cfg.Workers)
	for w := range conns {
		conns[w] = newConn(addr, cfg.Timeout)
		tallies[w] = &tally{statuses: map[int]uint64{}}
	}
	stop := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			c.abort()
		}
	})
	defer stop()
	var next atomic.Int64
	var cut atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	var cutoff time.Time
	if cfg.MaxDuration > 0 {
		cutoff = start.Add(cfg.MaxDuration)
	}
	for w := range conns {
		c, t := conns[w], tallies[w]
		wg.Go(func() {
			defer c.close()
			var buf []byte
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for {
				i := next.Add(1) - 1
				if i >= cfg.N {
					return
				}
				at := due(start, cfg.Rate, i)
				if d := time.Until(at); d > 0 {
					timer.Reset(d)
					select {
					case <-ctx.Done():
						return
					case <-timer.C:
					}
				}
				if ctx.Err() != nil {
					return
				}
				sent := time.Now()
				if !cutoff.IsZero() && sent.After(cutoff) {
					cut.Store(true)
					return
				}
				if lag := sent.Sub(at); lag > 10*time.Millisecond {
					t.late++
					t.maxLag = max(t.maxLag, lag)
				}
				method, path, body := cfg.Request(i, sent, buf[:0])
				buf = body
				a := c.do(method, path, "application/json", body, ok)
				end := time.Now()
				t.hist.Record(end.Sub(at))
				t.svc.Record(end.Sub(sent))
				t.requests++
				t.statuses[a.status]++
				if ok(a.status) {
					t.good++
					if cfg.Done != nil {
						cfg.Done(i)
					}
				} else if t.sample == "" {
					t.sample = a.sample
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := &paceResult{Result: Result{Shape: shape, URL: cfg.URL, Concurrency: cfg.Workers, Statuses: map[string]uint64{}},
		Due: cfg.N, Cutoff: cut.Load()}
	var h, svc Histogram
	var maxLag time.Duration
	for _, t := range tallies {
		h.Merge(&t.hist)
		svc.Merge(&t.svc)
		res.Requests += t.requests
		res.Successes += t.good
		res.Late += t.late
		maxLag = max(maxLag, t.maxLag)
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
	res.Latency = h.Summarize()
	res.Service = svc.Summarize()
	res.MaxLag = ms(maxLag)
	res.hist = &h
	return res, ctx.Err()
}
