package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The notification suite measures fan-out: Subs subscriptions on local HTTP
// receivers while updates stream in at a steady rate, every update matching
// notifyMatch of them. It runs the same stream first without subscriptions
// (the write path alone), then creates the subscriptions, checks with one
// probe update per type that they fire, streams again and waits for the
// notifications to drain; the ledger says what was delivered against what
// the plan owes.

// Shapes of the notification suite's runs.
const (
	ShapeNotifyNoSubs Shape = "update-nosubs"
	ShapeNotifySubs   Shape = "update-subs"
)

// NotifyConfig describes one run of the notification suite.
type NotifyConfig struct {
	Qala      string
	QalaArgs  []string // extra arguments of "qala serve"
	Short     bool
	Subs      int           // subscriptions, a multiple of notifySlots
	Entities  int           // entities updated in turn
	Rate      float64       // updates per second
	Duration  time.Duration // of each stream
	Batch     int           // updates per request: 1 = PATCH /entities/{id}/attrs, more = POST /entityOperations/update
	Workers   int           // connections of the stream
	Receivers int           // HTTP listeners
	// Receiver is the receivers' HTTP server: "lean" (default; see
	// notify_lean.go) or "nethttp" (net/http).
	Receiver     string
	ProbeTimeout time.Duration // bound of the wait for the probe's notifications
	DrainTimeout time.Duration // bound of the wait for delivery after the stream
	StallTimeout time.Duration // stop waiting when nothing arrives for this long
	// Pprof, if set, is a directory where Qala's CPU profile and a dump of
	// its goroutines (halfway) during the stream with subscriptions are
	// saved; Qala is started with --pprof.
	Pprof string
	Keep  bool
	Log   io.Writer
}

// DefaultNotifyConfig returns the suite's defaults: 1,000 subscriptions,
// 2,000 updates/s for 30 s (5 s with short).
func DefaultNotifyConfig(short bool) NotifyConfig {
	c := NotifyConfig{Subs: 1000, Entities: 5000, Rate: 2000, Duration: 30 * time.Second, Batch: 1,
		Workers: 64, Receivers: 8, ProbeTimeout: 30 * time.Second, DrainTimeout: 2 * time.Minute,
		StallTimeout: 15 * time.Second}
	if short {
		c.Short, c.Duration, c.Entities, c.Receivers, c.DrainTimeout = true, 5*time.Second, 2000, 4, time.Minute
	}
	return c
}

// NotifyReport holds every figure of a notification suite run.
type NotifyReport struct {
	Machine Machine `json:"machine"`
	Config  struct {
		Subs      int     `json:"subscriptions"`
		Types     int     `json:"entity_types"`
		Match     int     `json:"matching_per_update"`
		Entities  int     `json:"entities"`
		Rate      float64 `json:"updates_per_s"`
		Duration  string  `json:"duration"`
		Batch     int     `json:"batch"`
		Workers   int     `json:"workers"`
		Receivers int     `json:"receivers"`
		Receiver  string  `json:"receiver_server"`
		Short     bool    `json:"short"`
	} `json:"config"`
	WriteNoSubs  *paceResult `json:"write_without_subscriptions,omitempty"`
	WriteSubs    *paceResult `json:"write_with_subscriptions,omitempty"`
	SubsSeconds  float64     `json:"create_subscriptions_seconds"`
	ProbeSeconds float64     `json:"probe_seconds"`
	ProbeOwed    int64       `json:"probe_owed"`
	ProbeGot     int64       `json:"probe_delivered"`

	Owed       int64         `json:"owed"`      // notifications the acknowledged updates are owed
	Delivered  int64         `json:"delivered"` // of those, delivered (distinct subscription and update)
	Unacked    int64         `json:"delivered_for_unacknowledged_writes"`
	Messages   int64         `json:"messages"` // notification requests received, repeats included
	Items      int64         `json:"items"`    // data items of distinct notification ids
	DupIDs     int64         `json:"duplicate_ids"`
	Repeated   int64         `json:"repeated_content"`
	Unexpected int64         `json:"unexpected"`
	Before     int64         `json:"before_subscriptions"`
	Conns      int64         `json:"connections"` // the broker opened to the receivers
	Malformed  int64         `json:"malformed"`
	BadSample  string        `json:"malformed_sample,omitempty"`
	SubsWhole  int           `json:"subscriptions_complete"`
	PerSecond  float64       `json:"delivered_per_s"`  // Delivered / (last receipt − stream start)
	Steady     float64       `json:"steady_per_s"`     // mean of the stream's whole seconds but its first and last
	SteadyMin  int64         `json:"steady_min_per_s"` // the slowest of those seconds
	Seconds    []int64       `json:"delivered_each_second"`
	QalaCPU    [2]float64    `json:"qala_cores"` // CPU time / wall time: stream without; stream with subscriptions and drain
	ToolCPU    [2]float64    `json:"tool_cores"`
	QalaWait   [2]float64    `json:"qala_runqueue_wait"` // run-queue wait of Qala's threads / wall time, same phases
	ToolWait   [2]float64    `json:"tool_runqueue_wait"`
	DrainSecs  float64       `json:"drain_seconds"`      // from the stream's end to the last receipt
	DrainRate  float64       `json:"drain_per_s"`        // deliveries per second during the drain (≥ 1 s only)
	E2E        Latency       `json:"end_to_end_latency"` // update sent → notification received
	Broker     *brokerCounts `json:"broker_counts,omitempty"`
	LoadAvg    [2]string     `json:"load_average"` // of the machine (1, 5, 15 min) at the start and the end
	RSS        uint64        `json:"rss_bytes"`
	PeakRSS    uint64        `json:"peak_rss_bytes"`
	Errors     []string      `json:"errors,omitempty"`
	Started    time.Time     `json:"started"`
	TotalSecs  float64       `json:"total_seconds"`
}

func (s *NotifyReport) fail(format string, args ...any) {
	s.Errors = append(s.Errors, fmt.Sprintf(format, args...))
}

func (c *NotifyConfig) check() error {
	switch {
	case c.Subs < notifySlots || c.Subs%notifySlots != 0 || c.Subs > 100000:
		return fmt.Errorf("subscriptions %d: want a multiple of %d up to 100,000", c.Subs, notifySlots)
	case c.Entities < c.Subs/notifySlots || c.Entities > 1_000_000:
		return fmt.Errorf("entities %d: want at least one per type (%d) and at most 1,000,000", c.Entities, c.Subs/notifySlots)
	case !(c.Rate >= 1) || c.Rate > 100000:
		return fmt.Errorf("rate %v: want 1..100,000 updates/s", c.Rate)
	case c.Duration <= 0 || c.Duration > time.Hour:
		return fmt.Errorf("duration %v: want > 0 and ≤ 1h", c.Duration)
	case c.Batch < 1 || c.Batch > c.Entities || c.Batch > 1000:
		return fmt.Errorf("batch %d: want 1..min(entities, 1000)", c.Batch)
	case c.Workers < 1 || c.Workers > 1024:
		return fmt.Errorf("workers %d: want 1..1024", c.Workers)
	case c.Receivers < 1 || c.Receivers > 64:
		return fmt.Errorf("receivers %d: want 1..64", c.Receivers)
	}
	return nil
}

// streamBound is the longest a stream may take: a broker that takes the
// updates more slowly than they are due gets no more after it.
func (c *NotifyConfig) streamBound() time.Duration { return 2*c.Duration + 5*time.Second }

// requests returns the requests of one stream.
func (c *NotifyConfig) requests() int64 {
	return max(1, int64(c.Rate*c.Duration.Seconds())/int64(c.Batch))
}

// RunNotifySuite starts Qala and the receivers, creates the entities,
// streams without subscriptions, creates the subscriptions, probes them,
// streams with them and waits for delivery. A failed step is recorded in
// the report.
func RunNotifySuite(ctx context.Context, cfg NotifyConfig) (*NotifyReport, error) {
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
	if err := cfg.check(); err != nil {
		return nil, err
	}
	rep := &NotifyReport{Machine: MachineInfo(cfg.Qala), Started: time.Now().UTC()}
	rep.LoadAvg[0] = loadAvg()
	defer func() {
		rep.TotalSecs = time.Since(rep.Started).Seconds()
		rep.LoadAvg[1] = loadAvg()
	}()
	plan := &notifyPlan{RunID: NewRunID(), Types: cfg.Subs / notifySlots, Entities: cfg.Entities}
	rc := &rep.Config
	rc.Subs, rc.Types, rc.Match, rc.Entities, rc.Rate = cfg.Subs, plan.Types, notifyMatch, cfg.Entities, cfg.Rate
	rc.Duration, rc.Batch, rc.Workers, rc.Receivers, rc.Short = cfg.Duration.String(), cfg.Batch, cfg.Workers, cfg.Receivers, cfg.Short
	rc.Receiver = cfg.Receiver
	if rc.Receiver == "" {
		rc.Receiver = "lean"
	}

	// Updates are numbered across the run: the stream without subscriptions,
	// one probe update per type, the measured stream.
	perStream := cfg.requests() * int64(cfg.Batch)
	probe := perStream
	measured := probe + int64(plan.Types)
	end := measured + perStream
	secs := int((cfg.streamBound() + cfg.DrainTimeout + cfg.StallTimeout).Seconds()) + 10
	led := newLedger(plan, probe, measured, end-probe, cfg.Receivers, secs)
	var lp atomic.Pointer[ledger]
	lp.Store(led)
	start := startLeanReceivers
	if cfg.Receiver == "nethttp" {
		start = startReceivers
	}
	recv, err := start(cfg.Receivers, &lp)
	if err != nil {
		return nil, err
	}
	defer recv.Close()
	plan.Receivers = recv.URIs

	work, err := os.MkdirTemp("", "qala-bench-notify-")
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	if cfg.Keep {
		logf("keeping data and logs in %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	qlog, err := os.Create(filepath.Join(work, "qala.log"))
	if err != nil {
		return nil, fmt.Errorf("qala log: %w", err)
	}
	defer qlog.Close()
	qargs := cfg.QalaArgs
	if cfg.Pprof != "" {
		qargs = append(qargs[:len(qargs):len(qargs)], "--pprof")
	}
	q, err := StartQala(ctx, cfg.Qala, filepath.Join(work, "data"), qlog, time.Minute, qargs...)
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
	logf("qala at %s; receivers %s", q.URL, strings.Join(recv.URIs, " "))

	if err := createNotifyEntities(ctx, q.URL, plan); err != nil {
		rep.fail("create entities: %v", err)
		return rep, nil
	}
	logf("%d entities of %d types created", plan.Entities, plan.Types)

	// The write path alone.
	stream := func(shape Shape, first int64, done func(int64)) (*paceResult, error) {
		return pace(ctx, shape, paceConfig{URL: q.URL, Rate: cfg.Rate / float64(cfg.Batch), N: cfg.requests(),
			Workers: cfg.Workers, Timeout: 30 * time.Second, MaxDuration: cfg.streamBound(), Request: notifyRequest(plan, cfg.Batch, first),
			OK: func(st int) bool { return st == http.StatusNoContent }, Done: done})
	}
	logf("streaming %s updates/s for %v without subscriptions", fmtRate(cfg.Rate), cfg.Duration)
	cpu := q.cpuMeter()
	if rep.WriteNoSubs, err = stream(ShapeNotifyNoSubs, 0, nil); err != nil {
		rep.fail("stream without subscriptions: %v", err)
		return rep, ctx.Err()
	}
	rep.QalaCPU[0], rep.ToolCPU[0], rep.QalaWait[0], rep.ToolWait[0] = cpu()
	logf("%s late=%d service-p50=%s service-p99=%s", rep.WriteNoSubs.Line(), rep.WriteNoSubs.Late,
		fmtMS(rep.WriteNoSubs.Service.P50), fmtMS(rep.WriteNoSubs.Service.P99))

	t0 := time.Now()
	if err := createSubscriptions(ctx, q.URL, plan, led); err != nil {
		rep.fail("create subscriptions: %v", err)
		return rep, nil
	}
	rep.SubsSeconds = time.Since(t0).Seconds()
	logf("%d subscriptions created in %s", plan.Subs(), fmtDur(time.Since(t0)))

	// The probe: one update per type, each owed notifyMatch notifications.
	t0 = time.Now()
	if err := probeUpdates(ctx, q.URL, plan, led, probe, measured); err != nil {
		rep.fail("probe: %v", err)
		return rep, nil
	}
	rep.ProbeOwed = led.owed(probe, measured)
	for time.Since(t0) < cfg.ProbeTimeout && led.delivered[0].Load() < rep.ProbeOwed && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	rep.ProbeSeconds = time.Since(t0).Seconds()
	rep.ProbeGot = led.delivered[0].Load()
	logf("probe: %d of %d notifications in %s", rep.ProbeGot, rep.ProbeOwed, fmtDur(time.Since(t0)))
	if rep.ProbeGot < rep.ProbeOwed {
		rep.fail("probe: %d of %d notifications within %v (the subscriptions do not all fire)", rep.ProbeGot, rep.ProbeOwed, cfg.ProbeTimeout)
	}

	logf("streaming %s updates/s for %v with %d subscriptions (%s notifications/s owed)", fmtRate(cfg.Rate), cfg.Duration,
		plan.Subs(), fmtRate(cfg.Rate*notifyMatch))
	streamStart := time.Now()
	led.startMeasured(streamStart)
	cpu = q.cpuMeter()
	profiled := profile(ctx, cfg, q.URL, logf)
	rep.WriteSubs, err = stream(ShapeNotifySubs, measured, func(j int64) {
		for seq := measured + j*int64(cfg.Batch); seq < measured+(j+1)*int64(cfg.Batch); seq++ {
			led.ack(seq)
		}
	})
	if err != nil {
		rep.fail("stream with subscriptions: %v", err)
		return rep, ctx.Err()
	}
	streamEnd := time.Now()
	atEnd := led.delivered[1].Load()
	profiled()
	drainProfiled := profileDrain(ctx, cfg, q.URL, logf)
	logf("%s late=%d service-p50=%s service-p99=%s", rep.WriteSubs.Line(), rep.WriteSubs.Late,
		fmtMS(rep.WriteSubs.Service.P50), fmtMS(rep.WriteSubs.Service.P99))

	rep.Owed = led.owed(measured, end)
	drain(ctx, led, rep.Owed, cfg, logf)
	drainProfiled()
	rep.QalaCPU[1], rep.ToolCPU[1], rep.QalaWait[1], rep.ToolWait[1] = cpu()
	time.Sleep(time.Second) // late repeats
	recv.Close()
	rep.Conns = recv.Conns.Load()

	rep.Delivered, rep.Unacked = led.tally(measured, end)
	rep.Messages, rep.Items, rep.DupIDs = led.messages.Load(), led.items.Load(), led.dupIDs.Load()
	rep.Repeated, rep.Unexpected, rep.Before = led.repeated.Load(), led.unexpected.Load(), led.before.Load()
	rep.Malformed = led.malformed.Load()
	if s := led.sample.Load(); s != nil {
		rep.BadSample = *s
	}
	owedSub := led.owedPerSub()
	for s := range owedSub {
		if led.perSub[s].Load() >= owedSub[s] {
			rep.SubsWhole++
		}
	}
	if last := led.lastRecv.Load(); last > 0 {
		lastRecv := time.Unix(0, last)
		rep.PerSecond = float64(rep.Delivered) / lastRecv.Sub(streamStart).Seconds()
		rep.DrainSecs = max(0, lastRecv.Sub(streamEnd).Seconds())
		if rep.DrainSecs >= 1 {
			rep.DrainRate = float64(led.delivered[1].Load()-atEnd) / rep.DrainSecs
		}
	}
	rep.Seconds = led.perSecond()
	rep.Steady, rep.SteadyMin = steady(rep.Seconds, cfg.Duration)
	rep.E2E = led.latencies().Summarize()
	if rep.Broker, err = subscriptionStatus(ctx, q.URL, led); err != nil {
		rep.fail("subscription status: %v", err)
	} else {
		logf("the broker counts timesSent %d, timesFailed %d; statuses %v", rep.Broker.TimesSent, rep.Broker.TimesFailed, rep.Broker.Status)
	}
	if rep.RSS, rep.PeakRSS, err = q.Memory(); err != nil {
		rep.fail("memory: %v", err)
	}
	logf("delivered %d of %d owed (%d messages, %d items; %d repeated ids, %d repeated, %d unexpected, %d before, %d malformed) at %s/s; e2e p50 %s p99 %s",
		rep.Delivered, rep.Owed, rep.Messages, rep.Items, rep.DupIDs, rep.Repeated, rep.Unexpected, rep.Before, rep.Malformed,
		fmtRate(rep.PerSecond), fmtMS(rep.E2E.P50), fmtMS(rep.E2E.P99))
	if rep.Delivered < rep.Owed {
		rep.fail("%d of %d owed notifications not delivered by the end of the wait (the broker counts %d failed attempts)",
			rep.Owed-rep.Delivered, rep.Owed, brokerFailed(rep.Broker))
	}
	if _, err := q.Stop(time.Minute); err != nil {
		rep.fail("stop qala: %v", err)
	}
	return rep, ctx.Err()
}

// steady returns the mean and the minimum of the deliveries per second
// while a stream of duration d ran, leaving out its first and last second
// (ramp up, and the tail in flight) when it lasted 3 s or more.
func steady(perSec []int64, d time.Duration) (float64, int64) {
	whole := int(d / time.Second)
	lo, hi := 0, min(whole, len(perSec))
	if whole >= 3 {
		lo, hi = 1, min(whole-1, len(perSec))
	}
	if hi <= lo {
		return 0, 0
	}
	var sum int64
	least := perSec[lo]
	for _, n := range perSec[lo:hi] {
		sum += n
		least = min(least, n)
	}
	return float64(sum) / float64(hi-lo), least
}

// drain waits until the measured window has everything it is owed, nothing
// arrives for StallTimeout, or DrainTimeout passes.
func drain(ctx context.Context, led *ledger, owed int64, cfg NotifyConfig, logf func(string, ...any)) {
	t0 := time.Now()
	last, lastChange, lastLog := led.delivered[1].Load(), t0, t0
	for ctx.Err() == nil {
		got := led.delivered[1].Load()
		now := time.Now()
		if got != last {
			last, lastChange = got, now
		}
		switch {
		case got >= owed:
			logf("drained in %s: %d of %d", fmtDur(now.Sub(t0)), got, owed)
			return
		case now.Sub(lastChange) > cfg.StallTimeout:
			logf("nothing arrived for %v: %d of %d", cfg.StallTimeout, got, owed)
			return
		case now.Sub(t0) > cfg.DrainTimeout:
			logf("drain bound %v reached: %d of %d", cfg.DrainTimeout, got, owed)
			return
		case now.Sub(lastLog) > 5*time.Second:
			logf("draining: %d of %d", got, owed)
			lastLog = now
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// notifyRequest returns the request maker of a stream whose first update is
// first: request j writes updates first+j*batch .. first+(j+1)*batch-1.
func notifyRequest(plan *notifyPlan, batch int, first int64) func(int64, time.Time, []byte) (string, string, []byte) {
	return func(j int64, sent time.Time, buf []byte) (string, string, []byte) {
		seq := first + j*int64(batch)
		if batch == 1 {
			return http.MethodPatch, "/ngsi-ld/v1/entities/" + plan.entityID(plan.entityOf(seq)) + "/attrs",
				plan.appendPatch(buf, seq, sent.UnixMicro())
		}
		return http.MethodPost, "/ngsi-ld/v1/entityOperations/update",
			plan.appendBatchUpdate(buf, seq, seq+int64(batch), sent.UnixMicro())
	}
}

// post sends one JSON request and returns the status, the Location header
// and the start of the body.
func post(ctx context.Context, method, u string, body []byte) (int, string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := plainClient.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), strings.TrimSpace(string(head)), nil
}

// createNotifyEntities creates the plan's entities by batch upsert.
func createNotifyEntities(ctx context.Context, base string, plan *notifyPlan) error {
	for from := 0; from < plan.Entities; from += 1000 {
		to := min(plan.Entities, from+1000)
		st, _, body, err := post(ctx, http.MethodPost, base+"/ngsi-ld/v1/entityOperations/upsert", plan.appendEntities(nil, from, to))
		if err != nil {
			return err
		}
		if st != http.StatusCreated && st != http.StatusNoContent {
			return fmt.Errorf("upsert: %d %s", st, body)
		}
	}
	return nil
}

// createSubscriptions creates the plan's subscriptions, 4 at a time, and
// tells the ledger the id the broker gives each (the Location's last path
// segment; the plan proposes one).
func createSubscriptions(ctx context.Context, base string, plan *notifyPlan, led *ledger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				s := int(next.Add(1) - 1)
				if s >= plan.Subs() {
					return
				}
				st, loc, body, err := post(ctx, http.MethodPost, base+"/ngsi-ld/v1/subscriptions", plan.appendSubscription(nil, s))
				if err == nil && st != http.StatusCreated {
					err = fmt.Errorf("subscription %d: %d %s", s, st, body)
				}
				if err != nil {
					once.Do(func() { first = err })
					cancel()
					return
				}
				id := plan.subID(s)
				if loc != "" {
					id = loc[strings.LastIndexByte(loc, '/')+1:]
					if u, err := url.PathUnescape(id); err == nil {
						id = u
					}
				}
				led.addSub(id, s)
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// probeUpdates sends updates [from, to) one by one (one entity of each
// type) and acknowledges them in the ledger.
func probeUpdates(ctx context.Context, base string, plan *notifyPlan, led *ledger, from, to int64) error {
	for seq := from; seq < to; seq++ {
		u := base + "/ngsi-ld/v1/entities/" + plan.entityID(plan.entityOf(seq)) + "/attrs"
		st, _, body, err := post(ctx, http.MethodPatch, u, plan.appendPatch(nil, seq, time.Now().UnixMicro()))
		if err != nil {
			return err
		}
		if st != http.StatusNoContent {
			return fmt.Errorf("PATCH %s: %d %s", u, st, body)
		}
		led.ack(seq)
	}
	return nil
}
