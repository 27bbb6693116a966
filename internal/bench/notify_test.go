package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// subJSON is the part of a Subscription (clause 5.2.12) the tests read.
type subJSON struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Entities []struct {
		Type string `json:"type"`
	} `json:"entities"`
	Watched      []string `json:"watchedAttributes"`
	Q            string   `json:"q"`
	Notification struct {
		Format   string `json:"format"`
		Endpoint struct {
			URI    string `json:"uri"`
			Accept string `json:"accept"`
		} `json:"endpoint"`
	} `json:"notification"`
}

// evalQ evaluates the simple q of the plan's subscriptions (a conjunction
// of comparisons of an attribute with a number or a quoted string, clause
// 4.9) on an entity's attribute values (float64 or string): an independent
// reading of the subscription JSON to check the plan's match functions
// against, and the fake broker's matcher.
func evalQ(q string, attrs map[string]any) (bool, error) {
	if q == "" {
		return true, nil
	}
	for _, term := range strings.Split(q, ";") {
		i := strings.IndexAny(term, "<>=!")
		if i <= 0 {
			return false, fmt.Errorf("q term %q", term)
		}
		name, rest := term[:i], term[i:]
		op := rest[:1]
		if len(rest) > 1 && rest[1] == '=' {
			op = rest[:2]
		}
		lit := rest[len(op):]
		got, ok := attrs[name]
		if !ok {
			return false, nil
		}
		if s, err := strconv.Unquote(lit); err == nil {
			if op != "==" || got != s {
				return false, nil
			}
			continue
		}
		v, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			return false, fmt.Errorf("q term %q", term)
		}
		f, isNum := got.(float64)
		if !isNum || !map[string]bool{"<": f < v, "<=": f <= v, ">": f > v, ">=": f >= v, "==": f == v}[op] {
			return false, nil
		}
	}
	return true, nil
}

// fires says whether a subscription fires for an update of changed on an
// entity now holding attrs (watchedAttributes: clause 5.8.1; no
// watchedAttributes means any attribute).
func fires(sub *subJSON, entityType string, changed []string, attrs map[string]any) (bool, error) {
	if sub.Entities[0].Type != entityType {
		return false, nil
	}
	if sub.Watched != nil {
		hit := false
		for _, w := range sub.Watched {
			for _, c := range changed {
				hit = hit || w == c
			}
		}
		if !hit {
			return false, nil
		}
	}
	return evalQ(sub.Q, attrs)
}

func testPlan() *notifyPlan {
	return &notifyPlan{RunID: "r1", Types: 5, Entities: 37, Receivers: []string{"http://127.0.0.1:1/notify", "http://127.0.0.1:2/notify"}}
}

func TestNotifyPlanOwesTenPerUpdate(t *testing.T) {
	p := testPlan()
	for seq := int64(0); seq < 2000; seq++ {
		m := p.matchMask(seq)
		if n := bits.OnesCount32(m); n != notifyMatch {
			t.Fatalf("update %d (speed %d) matches %d slots (%b), want %d", seq, p.speed(seq), n, m, notifyMatch)
		}
		if m>>15 != 0 {
			t.Fatalf("update %d fires a decoy: %b", seq, m)
		}
		// Consecutive updates of an entity always change speed, and
		// alternate between the halves the q filters split.
		if prev := seq - int64(p.Entities); prev >= 0 && (p.speed(prev) < 50) == (p.speed(seq) < 50) {
			t.Fatalf("updates %d and %d of entity %d: speeds %d and %d in the same half", prev, seq, p.entityOf(seq), p.speed(prev), p.speed(seq))
		}
	}
	if got := p.expected(100, 1100); got != 1000*notifyMatch {
		t.Errorf("expected(100, 1100) = %d, want %d", got, 1000*notifyMatch)
	}
	per := p.expectedPerSub(100, 1100)
	var sum int64
	for s, n := range per {
		sum += n
		if s%notifySlots >= 15 && n != 0 {
			t.Errorf("decoy subscription %d owed %d", s, n)
		}
	}
	if sum != 1000*notifyMatch || len(per) != p.Subs() {
		t.Errorf("per subscription: %d subscriptions, sum %d; want %d, %d", len(per), sum, p.Subs(), 1000*notifyMatch)
	}
}

// TestNotifyPlanAgreesWithItsSubscriptions reads the subscriptions the
// plan sends back as JSON and evaluates them independently on every speed.
func TestNotifyPlanAgreesWithItsSubscriptions(t *testing.T) {
	p := testPlan()
	changed := []string{"speed", "seq", "sentAt"}
	for s := range p.Subs() {
		var sub subJSON
		body := p.appendSubscription(nil, s)
		if err := json.Unmarshal(body, &sub); err != nil {
			t.Fatalf("subscription %d: %v: %s", s, err, body)
		}
		if sub.ID != p.subID(s) || sub.Type != "Subscription" || len(sub.Entities) != 1 || sub.Notification.Format != "normalized" ||
			sub.Notification.Endpoint.URI != p.Receivers[s%2] || sub.Notification.Endpoint.Accept != "application/json" {
			t.Fatalf("subscription %d: %s", s, body)
		}
		for speed := range 100 {
			attrs := map[string]any{"speed": float64(speed), "status": "ok"}
			want, err := fires(&sub, p.typeName(s/notifySlots), changed, attrs)
			if err != nil {
				t.Fatal(err)
			}
			if got := slotKinds[s%notifySlots].match(speed); got != want {
				t.Fatalf("subscription %d (%s) at speed %d: plan says %v, its JSON %v", s, body, speed, got, want)
			}
		}
	}
	// The bodies are well-formed JSON of the right entities.
	var batch []map[string]any
	if err := json.Unmarshal(p.appendEntities(nil, 3, 9), &batch); err != nil || len(batch) != 6 || batch[0]["id"] != p.entityID(3) ||
		batch[0]["type"] != p.typeName(3) {
		t.Fatalf("entities: %v %v", err, batch)
	}
	var patch map[string]struct{ Value any }
	if err := json.Unmarshal(p.appendPatch(nil, 42, 1733390000123456), &patch); err != nil || patch["seq"].Value != 42.0 ||
		patch["sentAt"].Value != 1733390000123456.0 || patch["speed"].Value != float64(p.speed(42)) {
		t.Fatalf("patch: %v %v", err, patch)
	}
	if err := json.Unmarshal(p.appendBatchUpdate(nil, 40, 43, 7), &batch); err != nil || len(batch) != 3 ||
		batch[2]["id"] != p.entityID(p.entityOf(42)) || batch[2]["type"] != p.typeName(p.typeOf(p.entityOf(42))) {
		t.Fatalf("batch update: %v %v", err, batch)
	}
}

// notification renders a Notification of subscription s carrying updates.
func notification(p *notifyPlan, id string, s int, seqs ...int64) []byte {
	var data []string
	for _, seq := range seqs {
		e := p.entityOf(seq)
		data = append(data, fmt.Sprintf(`{"id":%q,"type":%q,"speed":{"type":"Property","value":%d},"seq":{"type":"Property","value":%d},"sentAt":{"type":"Property","value":%d},"status":{"type":"Property","value":"ok"}}`,
			p.entityID(e), p.typeName(p.typeOf(e)), p.speed(seq), seq, time.Now().Add(-3*time.Millisecond).UnixMicro()))
	}
	return fmt.Appendf(nil, `{"id":%q,"type":"Notification","subscriptionId":%q,"notifiedAt":"2026-12-05T08:00:00.000Z","data":[%s]}`,
		id, p.subID(s), strings.Join(data, ","))
}

// subFor returns a subscription of the plan that seq fires (k-th set slot).
func subFor(p *notifyPlan, seq int64, nth int) int {
	m := p.matchMask(seq)
	for k := 0; k < notifySlots; k++ {
		if m&(1<<k) != 0 {
			if nth == 0 {
				return p.typeOf(p.entityOf(seq))*notifySlots + k
			}
			nth--
		}
	}
	panic("no such slot")
}

func TestLedgerCounts(t *testing.T) {
	p := testPlan()
	// Updates 100..104 are the probe, 105..199 measured.
	l := newLedger(p, 100, 105, 100, 2, 10)
	l.startMeasured(time.Now().Add(-1500 * time.Millisecond))
	for s := range p.Subs() {
		l.addSub(p.subID(s), s)
	}
	for seq := int64(100); seq < 200; seq++ {
		if seq != 150 {
			l.ack(seq)
		}
	}
	now := time.Now()
	rec := func(b []byte) { l.record(b, now, 0) }
	rec(notification(p, "n1", subFor(p, 110, 0), 110))
	rec(notification(p, "n2", subFor(p, 110, 1), 110, 111)) // the second item is not owed to that subscription (maybe)
	rec(notification(p, "n1", subFor(p, 110, 0), 110))      // the same id again
	rec(notification(p, "n3", subFor(p, 110, 0), 110))      // the same content under another id
	rec(notification(p, "n4", subFor(p, 101, 0), 101))      // the probe
	rec(notification(p, "n5", subFor(p, 150, 0), 150))      // a write that was not acknowledged
	decoy := p.typeOf(p.entityOf(120))*notifySlots + 15
	rec(notification(p, "n6", decoy, 120))                // a decoy never fires
	rec(notification(p, "n7", subFor(p, 120, 0), 50, 99)) // state before the tracked updates
	rec(notification(p, "n8", subFor(p, 120, 0), 9999))   // an update that never was
	rec([]byte(`{"id":"x"`))
	rec([]byte(`{"id":"n9","type":"Notification","subscriptionId":"urn:other","notifiedAt":"2026-12-05T08:00:00Z","data":[]}`))
	rec([]byte(`{"id":"n10","type":"Other","subscriptionId":"urn:other","notifiedAt":"2026-12-05T08:00:00Z","data":[]}`))
	// keyValues: bare values.
	kv := fmt.Appendf(nil, `{"id":"n11","type":"Notification","subscriptionId":%q,"notifiedAt":"x","data":[{"id":%q,"seq":%d,"sentAt":%d}]}`,
		p.subID(subFor(p, 130, 2)), p.entityID(p.entityOf(130)), 130, now.Add(-3*time.Millisecond).UnixMicro())
	rec(kv)

	second := p.matchMask(111)&(1<<(subFor(p, 110, 1)%notifySlots)) != 0 && p.typeOf(p.entityOf(111)) == p.typeOf(p.entityOf(110))
	wantDelivered, wantUnexpected := int64(3), int64(2)
	if second {
		wantDelivered++
	} else {
		wantUnexpected++
	}
	if got := l.delivered[1].Load(); got != wantDelivered+1 { // + the unacknowledged one, until tallied
		t.Errorf("measured delivered %d, want %d", got, wantDelivered+1)
	}
	delivered, unacked := l.tally(105, 200)
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"delivered", delivered, wantDelivered}, {"unacked", unacked, 1}, {"probe", l.delivered[0].Load(), 1},
		{"messages", l.messages.Load(), 10}, {"dup ids", l.dupIDs.Load(), 1}, {"repeated", l.repeated.Load(), 1},
		{"unexpected", l.unexpected.Load(), wantUnexpected}, {"before", l.before.Load(), 2}, {"malformed", l.malformed.Load(), 3},
		{"owed", l.owed(105, 200), 94 * notifyMatch}, {"owed probe", l.owed(100, 105), 5 * notifyMatch},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	if h := l.latencies(); h.Count() != uint64(wantDelivered+1) || h.Min() < 2*time.Millisecond {
		t.Errorf("latencies: %d, min %v; want %d ≥ 2ms", h.Count(), h.Min(), wantDelivered+1)
	}
	if ps := l.perSecond(); len(ps) != 2 || ps[0] != 0 || ps[1] != wantDelivered+1 {
		t.Errorf("per second %v, want [0 %d]", ps, wantDelivered+1)
	}
	if s := l.sample.Load(); s == nil || !strings.Contains(*s, "not JSON") {
		t.Errorf("malformed sample %v", s)
	}
	var sum int64
	for _, n := range l.owedPerSub() {
		sum += n
	}
	if sum != 94*notifyMatch {
		t.Errorf("owed per subscription sums to %d", sum)
	}
}

// receiverServers are the suite's two receiver servers.
var receiverServers = []struct {
	name  string
	start func(int, *atomic.Pointer[ledger]) (*receivers, error)
}{{"lean", startLeanReceivers}, {"nethttp", startReceivers}}

func TestReceiversOverHTTP(t *testing.T) {
	for _, rs := range receiverServers {
		t.Run(rs.name, func(t *testing.T) { testReceiversOverHTTP(t, rs.start) })
	}
}

func testReceiversOverHTTP(t *testing.T, start func(int, *atomic.Pointer[ledger]) (*receivers, error)) {
	p := testPlan()
	l := newLedger(p, 0, 0, 1000, 3, 1)
	for s := range p.Subs() {
		l.addSub(p.subID(s), s)
	}
	for seq := range int64(1000) {
		l.ack(seq)
	}
	var lp atomic.Pointer[ledger]
	lp.Store(l)
	r, err := start(3, &lp)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p.Receivers = r.URIs
	// Every update's notifications, 4 senders, each notification to its
	// subscription's receiver; every 10th sent twice.
	client := NewClient(4, 10*time.Second)
	var wg sync.WaitGroup
	var failed atomic.Int64
	var next atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				seq := next.Add(1) - 1
				if seq >= 1000 {
					return
				}
				for nth := range notifyMatch {
					s := subFor(p, seq, nth)
					body := notification(p, fmt.Sprintf("n-%d-%d", seq, nth), s, seq)
					for range 1 + int(seq%10/9) {
						resp, err := client.Post(p.Receivers[s%len(p.Receivers)], "application/json", bytes.NewReader(body))
						if err != nil || resp.StatusCode != http.StatusNoContent {
							failed.Add(1)
						}
						if resp != nil {
							resp.Body.Close()
						}
					}
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d posts failed", failed.Load())
	}
	resp, err := client.Get(r.URIs[0])
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET a receiver: %v %v", err, resp)
	}
	r.Close()
	delivered, _ := l.tally(0, 1000)
	if delivered != 1000*notifyMatch || l.dupIDs.Load() != 100*notifyMatch || l.repeated.Load() != 0 || l.unexpected.Load() != 0 ||
		l.malformed.Load() != 1 {
		t.Errorf("delivered %d, dup ids %d, repeated %d, unexpected %d, malformed %d", delivered, l.dupIDs.Load(),
			l.repeated.Load(), l.unexpected.Load(), l.malformed.Load())
	}
	owed := l.owedPerSub()
	for s := range owed {
		if l.perSub[s].Load() != owed[s] {
			t.Errorf("subscription %d: %d delivered, %d owed", s, l.perSub[s].Load(), owed[s])
		}
	}
}

func TestPaceIsOpenLoop(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	seen := map[string]bool{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		seen[r.URL.Path] = true
		mu.Unlock()
		if r.URL.Path == "/r/7" {
			time.Sleep(100 * time.Millisecond) // a stall: the others go on
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ts.Close()
	srv := ts.URL
	var done atomic.Int64
	t0 := time.Now()
	res, err := pace(context.Background(), "paced", paceConfig{URL: srv, Rate: 400, N: 100, Workers: 4, Timeout: 5 * time.Second,
		Request: func(i int64, _ time.Time, buf []byte) (string, string, []byte) {
			return http.MethodPost, "/r/" + strconv.FormatInt(i, 10), append(buf, "{}"...)
		},
		OK: func(st int) bool { return st == http.StatusNoContent }, Done: func(int64) { done.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(t0)
	if res.Requests != 100 || res.Successes != 100 || done.Load() != 100 || len(seen) != 100 {
		t.Fatalf("requests %d, ok %d, done %d, distinct %d; want 100 each", res.Requests, res.Successes, done.Load(), len(seen))
	}
	// Request 99 is due at 247.5 ms: the run cannot end sooner, and the
	// requests are spread over that time, not sent at once.
	if elapsed < 240*time.Millisecond {
		t.Errorf("100 requests at 400/s took %v", elapsed)
	}
	mu.Lock()
	spread := arrivals[len(arrivals)-1].Sub(arrivals[0])
	mu.Unlock()
	if spread < 200*time.Millisecond {
		t.Errorf("arrivals spread over %v, want ≥ 200ms", spread)
	}
	// The stalled request is charged its 100 ms.
	if res.Latency.Max < 100 {
		t.Errorf("max latency %v ms, want ≥ 100", res.Latency.Max)
	}

	// A cancelled run stops early.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res, err = pace(ctx, "paced", paceConfig{URL: srv, Rate: 10, N: 1000, Workers: 2, Timeout: time.Second,
		Request: func(int64, time.Time, []byte) (string, string, []byte) { return http.MethodGet, "/x", nil }})
	if err == nil || res.Requests > 5 {
		t.Errorf("cancelled run: %v, %d requests", err, res.Requests)
	}
	if _, err := pace(context.Background(), "paced", paceConfig{URL: "http://example.com", Rate: 1, N: 1, Workers: 1, Timeout: time.Second}); err == nil {
		t.Error("a non-loopback target was accepted")
	}
}

func TestDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	if d := due(t0, 2000, 2000).Sub(t0); d != time.Second {
		t.Errorf("due(2000 at 2000/s) = %v", d)
	}
	if d := due(t0, 3, 1).Sub(t0); d != 333333333*time.Nanosecond {
		t.Errorf("due(1 at 3/s) = %v", d)
	}
}

// BenchmarkLedgerRecord is the receivers' CPU per notification, parsing
// and bookkeeping (the HTTP server's share comes on top).
func BenchmarkLedgerRecord(b *testing.B) {
	p := testPlan()
	l := newLedger(p, 0, 0, int64(b.N)+1, 1, 1)
	for s := range p.Subs() {
		l.addSub(p.subID(s), s)
	}
	bodies := make([][]byte, 1000)
	for i := range bodies {
		bodies[i] = notification(p, "n", subFor(p, int64(i), 0), int64(i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	now := time.Now()
	for i := range b.N {
		body := bodies[i%len(bodies)]
		// a fresh id each time, as the broker sends
		l.record(bytes.Replace(body, []byte(`"n"`), []byte(`"n`+strconv.Itoa(i)+`"`), 1), now, 0)
	}
}

func TestSteady(t *testing.T) {
	for _, c := range []struct {
		per  []int64
		d    time.Duration
		mean float64
		min  int64
	}{
		{[]int64{5, 20, 22, 18, 20, 3}, 5 * time.Second, 20, 18}, // first and last second left out
		{[]int64{5, 20, 22}, 2 * time.Second, 12.5, 5},           // too short to leave any out
		{[]int64{5, 20}, 5 * time.Second, 20, 20},                // nothing arrived later
		{nil, 5 * time.Second, 0, 0},
	} {
		if mean, least := steady(c.per, c.d); mean != c.mean || least != c.min {
			t.Errorf("steady(%v, %v) = %v, %v; want %v, %v", c.per, c.d, mean, least, c.mean, c.min)
		}
	}
}

// BenchmarkReceiversHTTP is the load tool's CPU per notification received
// over HTTP (keep-alive, 8 connections), sender included: the share of the
// machine the receivers take from the broker at the suite's rates.
func BenchmarkReceiversHTTP(b *testing.B) {
	for _, rs := range receiverServers {
		b.Run(rs.name, func(b *testing.B) { benchmarkReceiversHTTP(b, rs.start) })
	}
}

func benchmarkReceiversHTTP(b *testing.B, start func(int, *atomic.Pointer[ledger]) (*receivers, error)) {
	p := testPlan()
	l := newLedger(p, 0, 0, int64(b.N)+1, 4, 1)
	for s := range p.Subs() {
		l.addSub(p.subID(s), s)
	}
	var lp atomic.Pointer[ledger]
	lp.Store(l)
	r, err := start(4, &lp)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var next atomic.Int64
	cpu0, _ := procCPU(os.Getpid())
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			u := r.URIs[w%len(r.URIs)]
			c := newConn(strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/notify"), 10*time.Second)
			defer c.close()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				body := notification(p, "n"+strconv.FormatInt(i, 10), subFor(p, i, 0), i)
				c.do(http.MethodPost, "/notify", "application/json", body, func(int) bool { return true })
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if cpu1, err := procCPU(os.Getpid()); err == nil {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
	if got := l.messages.Load(); got != int64(b.N) {
		b.Fatalf("%d notifications recorded, want %d", got, b.N)
	}
}

func TestNotifySuiteCommandLine(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"notifysuite"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "-qala is required") {
		t.Errorf("without -qala: code %d, %q", code, errOut.String())
	}
	errOut.Reset()
	bin := filepath.Join(t.TempDir(), "qala")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code := Main([]string{"notifysuite", "-qala", bin, "-subs", "30"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "multiple of 20") {
		t.Errorf("-subs 30: code %d, %q", code, errOut.String())
	}
	errOut.Reset()
	if code := Main([]string{"notifysuite", "-qala", bin, "-short"}, &out, &errOut); code != 1 || !strings.Contains(out.String(), "exited before /health") {
		t.Errorf("a qala that does not start: code %d, %q %q", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "qala-bench notifysuite") && !strings.Contains(out.String(), "## Qala notification benchmark") {
		t.Errorf("no report: %q", out.String())
	}
}

func TestPaceCutoff(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
	}))
	defer ts.Close()
	t0 := time.Now()
	res, err := pace(context.Background(), "slow", paceConfig{URL: ts.URL, Rate: 1000, N: 100, Workers: 1, Timeout: 5 * time.Second,
		MaxDuration: 120 * time.Millisecond,
		Request:     func(int64, time.Time, []byte) (string, string, []byte) { return http.MethodGet, "/", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Cutoff || res.Due != 100 || res.Requests < 2 || res.Requests > 4 || time.Since(t0) > 2*time.Second {
		t.Errorf("cutoff %v, due %d, sent %d in %v; want a cut-off run of 2-4 requests", res.Cutoff, res.Due, res.Requests, time.Since(t0))
	}
}

func TestTimeline(t *testing.T) {
	if got := timeline([]int64{1000, 20000, 3}); got != "Delivered in each second from the stream's start: 1,000 20,000 3." {
		t.Errorf("short: %q", got)
	}
	long := make([]int64, 62)
	for i := range long {
		long[i] = 10
	}
	want := "Delivered in each 5 seconds from the stream's start:" + strings.Repeat(" 50", 12) + " 20."
	if got := timeline(long); got != want {
		t.Errorf("long: %q, want %q", got, want)
	}
}

// TestLeanReceiverWire: the lean receiver reads chunked bodies, honours
// Connection: close and HTTP/1.0, keeps a connection for several requests,
// and answers a malformed request with 400 and a close.
func TestLeanReceiverWire(t *testing.T) {
	p := testPlan()
	l := newLedger(p, 0, 0, 10, 1, 1)
	for s := range p.Subs() {
		l.addSub(p.subID(s), s)
	}
	for seq := range int64(10) {
		l.ack(seq)
	}
	var lp atomic.Pointer[ledger]
	lp.Store(l)
	r, err := startLeanReceivers(1, &lp)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	addr := strings.TrimSuffix(strings.TrimPrefix(r.URIs[0], "http://"), "/notify")
	body := func(seq int64) string {
		return string(notification(p, fmt.Sprintf("w-%d", seq), subFor(p, seq, 0), seq))
	}
	exchange := func(raw string) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(c) // until the receiver closes
		return string(out)
	}
	b0, b1, b2 := body(0), body(1), body(2)
	chunked := fmt.Sprintf("%x\r\n%s\r\n%x;ext=1\r\n%s\r\n0\r\nTrailer: x\r\n\r\n", 10, b1[:10], len(b1)-10, b1[10:])
	got := exchange("POST /notify HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(b0)) + "\r\n\r\n" + b0 +
		"POST /notify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked +
		"POST /notify HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " + strconv.Itoa(len(b2)) + "\r\n\r\n" + b2)
	if strings.Count(got, "HTTP/1.1 204 No Content\r\n\r\n") != 3 || len(got) != 3*len(resp204) {
		t.Errorf("three requests on one connection, the last with Connection: close: %q", got)
	}
	if got := exchange("POST /notify HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"); got != string(resp204) {
		t.Errorf("HTTP/1.0: %q (want one 204, then close)", got)
	}
	if got := exchange("garbage\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Errorf("malformed request line: %q", got)
	}
	if got := exchange("POST /notify HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"); !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Errorf("bad chunk size: %q", got)
	}
	if got := exchange("GET /notify HTTP/1.1\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 405") {
		t.Errorf("GET: %q", got)
	}
	r.Close()
	if d, _ := l.tally(0, 10); d != 3 {
		t.Errorf("delivered %d of the 3 notifications", d)
	}
}
