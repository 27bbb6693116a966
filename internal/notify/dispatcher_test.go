package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestDeliverHTTP checks the HTTP binding's request: POST of the body with
// Content-Type, Link, NGSILD-Tenant and receiverInfo headers (clause 7.2
// of the binding, receiverInfo of clause 5.2.15), and that a delivered
// message leaves the outbox.
func TestDeliverHTTP(t *testing.T) {
	rc := newReceiver(t, false)
	var mu sync.Mutex
	var attempts []Attempt
	d := openTest(t, t.TempDir(), Options{OnAttempt: func(a Attempt) {
		mu.Lock()
		attempts = append(attempts, a)
		mu.Unlock()
	}})
	defer d.Close()
	m := msg(rc.srv.URL+"/notify?x=1", "urn:ngsi-ld:Subscription:s1")
	m.Tenant = "city"
	m.ContentType = "application/ld+json"
	m.Link = `<https://example.org/ctx.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`
	m.Endpoint.ReceiverInfo = append(m.Endpoint.ReceiverInfo, KeyValue{Key: "Authorization", Value: "Bearer abc"})
	plain := msg(rc.srv.URL+"/notify?x=1", "urn:ngsi-ld:Subscription:s1")
	enqueue(t, d, m, plain)
	rc.waitDistinct(t, 2, 5*time.Second)
	waitFor(t, "the outbox to empty", 5*time.Second, func() bool { return d.stored.Load() == 0 })

	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i, r := range rc.reqs {
		if r.Method != "POST" || r.URL.Path != "/notify" || r.URL.RawQuery != "x=1" {
			t.Errorf("request %d: %s %s", i, r.Method, r.URL)
		}
		if r.Header.Get("X-Notification-Id") == m.ID {
			if r.Header.Get("Content-Type") != "application/ld+json" || r.Header.Get("Link") != m.Link ||
				r.Header.Get("NGSILD-Tenant") != "city" || r.Header.Get("Authorization") != "Bearer abc" {
				t.Errorf("headers of the tenant's notification: %v", r.Header)
			}
			if string(rc.bodies[i]) != string(m.Body) {
				t.Errorf("body %s, want %s", rc.bodies[i], m.Body)
			}
		} else {
			if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Link") != "" || r.Header.Get("NGSILD-Tenant") != "" {
				t.Errorf("headers of the default tenant's notification: %v", r.Header)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 2 {
		t.Fatalf("%d attempts reported, want 2", len(attempts))
	}
	for _, a := range attempts {
		if !a.OK || !a.Final || a.Status != 204 || a.Err != nil || a.Latency <= 0 {
			t.Errorf("attempt %+v", a)
		}
	}
}

func TestHTTPS(t *testing.T) {
	rc := newReceiver(t, true)
	pool := x509.NewCertPool()
	pool.AddCert(rc.srv.Certificate())
	d := openTest(t, t.TempDir(), Options{TLS: &tls.Config{RootCAs: pool}})
	defer d.Close()
	enqueue(t, d, msg(rc.srv.URL, "s"))
	rc.waitDistinct(t, 1, 5*time.Second)

	// Without the receiver's CA the certificate is refused: the attempt
	// fails (and is retried), nothing arrives.
	rc2 := newReceiver(t, true)
	failed := make(chan Attempt, 10)
	d2 := openTest(t, t.TempDir(), Options{OnAttempt: func(a Attempt) { failed <- a }, BackoffBase: time.Hour})
	defer d2.Close()
	enqueue(t, d2, msg(rc2.srv.URL, "s"))
	select {
	case a := <-failed:
		if a.OK || a.Err == nil || !strings.Contains(a.Err.Error(), "certificate") {
			t.Errorf("attempt to an untrusted certificate: %+v", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no attempt")
	}
	if rc2.n.Load() != 0 {
		t.Error("the untrusted receiver got a request")
	}
}

// TestIsolation puts a healthy endpoint next to one that hangs and one that
// refuses connections: Enqueue stays prompt and the healthy endpoint's
// notifications arrive while the others time out or back off.
func TestIsolation(t *testing.T) {
	healthy := newReceiver(t, false)
	hanging := newReceiver(t, false)
	release := make(chan struct{})
	defer close(release)
	hanging.setFail(func(r *http.Request, _ int64) int {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return 503
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusing := "http://" + ln.Addr().String() + "/n"
	ln.Close()

	d := openTest(t, t.TempDir(), Options{Timeout: 20 * time.Second, QueueBound: 50, MaxRetries: 100, BackoffBase: 50 * time.Millisecond})
	defer d.Close()
	const rounds = 40
	var slowest time.Duration
	for i := 0; i < rounds; i++ {
		var batch []*Message
		for j := 0; j < 10; j++ {
			batch = append(batch, msg(healthy.srv.URL, "healthy"), msg(hanging.srv.URL, "hanging"), msg(refusing, "refusing"))
		}
		start := time.Now()
		enqueue(t, d, batch...)
		slowest = max(slowest, time.Since(start))
		time.Sleep(5 * time.Millisecond)
	}
	// The healthy endpoint gets everything well before the hanging
	// endpoint's first attempt times out (20 s).
	healthy.waitDistinct(t, rounds*10, 15*time.Second)
	// Blocking on the hanging endpoint would take its 20 s timeout; the
	// margin is for fsync stalls of a busy machine (and -race).
	if slowest > 3*time.Second {
		t.Errorf("an Enqueue call took %v next to a hanging endpoint", slowest)
	}
	t.Logf("slowest Enqueue: %v", slowest)
	st, _ := d.stateOf(endpointLabel(hanging.srv.URL))
	if st.Queued != rounds*10 || st.InFlight == 0 {
		t.Errorf("hanging endpoint state %+v", st)
	}
	if st.InMemory > 50 {
		t.Errorf("hanging endpoint holds %d messages in memory, bound 50", st.InMemory)
	}
	st, _ = d.stateOf(endpointLabel(refusing))
	if st.Failures == 0 || st.LastError == "" || st.Queued != rounds*10 {
		t.Errorf("refusing endpoint state %+v", st)
	}
}

// TestRetryThenSuccess: failures are retried with backoff until the
// endpoint answers 2xx; each attempt is reported, the last as Final.
func TestRetryThenSuccess(t *testing.T) {
	rc := newReceiver(t, false)
	rc.setFail(func(_ *http.Request, n int64) int {
		if n <= 2 {
			return 500
		}
		return 0
	})
	reg := prometheus.NewRegistry()
	var mu sync.Mutex
	var attempts []Attempt
	d := openTest(t, t.TempDir(), Options{Registerer: reg, BackoffBase: 40 * time.Millisecond, OnAttempt: func(a Attempt) {
		mu.Lock()
		attempts = append(attempts, a)
		mu.Unlock()
	}})
	defer d.Close()
	start := time.Now()
	enqueue(t, d, msg(rc.srv.URL, "sub1"))
	rc.waitDistinct(t, 1, 5*time.Second)
	took := time.Since(start)
	// The receiver has it; the dispatcher learns so when the response is
	// in (and, the message being held in memory, the outbox never had it).
	waitFor(t, "the final attempt to be reported", 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(attempts) > 0 && attempts[len(attempts)-1].Final
	})
	waitFor(t, "the outbox to empty", 5*time.Second, func() bool { return d.stored.Load() == 0 })
	// Two backoffs: 20..40 ms then 40..80 ms.
	if took < 60*time.Millisecond {
		t.Errorf("delivered after %v: the retries did not back off", took)
	}
	mu.Lock()
	if len(attempts) != 3 || attempts[0].OK || attempts[0].Status != 500 || attempts[0].Final || attempts[1].OK || !attempts[2].OK || !attempts[2].Final {
		t.Errorf("attempts %+v", attempts)
	}
	mu.Unlock()
	label := endpointLabel(rc.srv.URL)
	if v := metricValue(t, reg, "qala_notify_retried_total", "sub1", label); v != 2 {
		t.Errorf("retried = %v", v)
	}
	if v := metricValue(t, reg, "qala_notify_failed_total", "sub1", label); v != 2 {
		t.Errorf("failed = %v", v)
	}
	if v := metricValue(t, reg, "qala_notify_sent_total", "sub1", label); v != 1 {
		t.Errorf("sent = %v", v)
	}
	if v := metricValue(t, reg, "qala_notify_delivery_latency_seconds", "", label); v != 1 {
		t.Errorf("latency observations = %v", v)
	}
	if v := metricValue(t, reg, "qala_notify_queue_depth", "", label); v != 0 {
		t.Errorf("queue depth = %v", v)
	}
}

// TestCooldown: an endpoint's cooldown replaces the default backoff.
func TestCooldown(t *testing.T) {
	rc := newReceiver(t, false)
	rc.setFail(func(_ *http.Request, n int64) int {
		if n == 1 {
			return 503
		}
		return 0
	})
	d := openTest(t, t.TempDir(), Options{BackoffBase: time.Millisecond})
	defer d.Close()
	m := msg(rc.srv.URL, "s")
	m.Endpoint.Cooldown = 300 * time.Millisecond
	start := time.Now()
	enqueue(t, d, m)
	rc.waitDistinct(t, 1, 5*time.Second)
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("retried after %v, before the cooldown of 300ms", took)
	}
}

func TestEnqueueAfterClose(t *testing.T) {
	d := openTest(t, t.TempDir(), Options{})
	d.Close()
	if err := d.Enqueue(context.Background(), []*Message{msg("http://127.0.0.1:1/", "s")}); err != ErrClosed {
		t.Errorf("Enqueue after Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestUnknownScheme: a message no transport can send is dead-lettered at
// once, not retried.
func TestUnknownScheme(t *testing.T) {
	var final Attempt
	done := make(chan struct{})
	d := openTest(t, t.TempDir(), Options{OnAttempt: func(a Attempt) { final = a; close(done) }})
	defer d.Close()
	enqueue(t, d, msg("gopher://example.org/", "s"))
	<-done
	if final.OK || !final.Final || !IsPermanent(final.Err) {
		t.Errorf("attempt %+v", final)
	}
	waitFor(t, "the dead letter", 2*time.Second, func() bool { return d.dead.len() == 1 })
}

// TestRetryAfter: a 503 with Retry-After holds the endpoint's next attempt
// back at least that long (RFC 9110 section 10.2.3).
func TestRetryAfter(t *testing.T) {
	first := true
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		f := first
		first = false
		mu.Unlock()
		if f {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	got := make(chan time.Time, 2)
	d := openTest(t, t.TempDir(), Options{BackoffBase: time.Millisecond, OnAttempt: func(a Attempt) { got <- a.At }})
	defer d.Close()
	enqueue(t, d, msg(srv.URL, "s"))
	t1, t2 := <-got, <-got
	if gap := t2.Sub(t1); gap < time.Second {
		t.Errorf("retried %v after a Retry-After of 1 s", gap)
	}
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{"": 0, "5": 5 * time.Second, "-1": 0, "x": 0,
		"Sat, 05 Dec 2026 08:00:30 GMT": 30 * time.Second, "Sat, 05 Dec 2026 07:00:00 GMT": 0} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}

// TestIdleQueueSweep: queues of endpoints no longer used are retired, and
// a message for a retired queue's endpoint gets a fresh queue.
func TestIdleQueueSweep(t *testing.T) {
	rc := newReceiver(t, false)
	d := openTest(t, t.TempDir(), Options{})
	defer d.Close()
	m := msg(rc.srv.URL, "s")
	enqueue(t, d, m)
	rc.waitDistinct(t, 1, 5*time.Second)
	waitFor(t, "the outbox to empty", 5*time.Second, func() bool { return d.stored.Load() == 0 })
	old := d.queueFor(&m.Endpoint)
	if n := d.sweep(time.Now()); n != 0 {
		t.Errorf("a queue active just now was retired")
	}
	if n := d.sweep(time.Now().Add(idleQueue + time.Second)); n != 1 {
		t.Fatalf("%d queues retired, want 1", n)
	}
	// An Enqueue that looked the queue up just before it was retired.
	m2 := msg(rc.srv.URL, "s")
	it := &item{seq: d.seq.Add(1), msg: m2}
	groups := d.reserveAll(map[*queue][]*item{old: {it}})
	for q := range groups {
		if q == old || q.gone {
			t.Fatal("reserved in a retired queue")
		}
		q.unreserve(groups[q])
	}
	enqueue(t, d, msg(rc.srv.URL, "s"))
	rc.waitDistinct(t, 2, 5*time.Second)
	if len(d.endpointStates()) != 1 {
		t.Errorf("endpoints %+v", d.endpointStates())
	}
}

// TestLive: a message whose subscription was deleted while it waited (here
// in a backoff after a failure, longer than Options.Hold) is dropped unsent
// (clause 5.8.5); the next subscription's message to the same endpoint is
// the first to arrive.
func TestLive(t *testing.T) {
	rc := newReceiver(t, false)
	rc.setFail(func(_ *http.Request, n int64) int {
		if n == 1 {
			return 503
		}
		return 0
	})
	var deleted sync.Map
	reg := prometheus.NewRegistry()
	d := openTest(t, t.TempDir(), Options{Registerer: reg, BackoffBase: 2 * time.Second, Live: func(m *Message) bool {
		_, gone := deleted.Load(m.Subscription)
		return !gone
	}})
	defer d.Close()
	stale := msg(rc.srv.URL, "urn:ngsi-ld:Subscription:old")
	enqueue(t, d, stale)
	waitFor(t, "the failed attempt", 5*time.Second, func() bool { return rc.n.Load() == 1 })
	deleted.Store(stale.Subscription, true)
	fresh := msg(rc.srv.URL, "urn:ngsi-ld:Subscription:new")
	enqueue(t, d, fresh)
	rc.waitDistinct(t, 1, 5*time.Second)
	waitFor(t, "the outbox to empty", 5*time.Second, func() bool { return d.stored.Load() == 0 })
	if rc.count(fresh.ID) != 1 || rc.count(stale.ID) != 0 || rc.n.Load() != 2 {
		t.Errorf("fresh %d, stale %d, requests %d", rc.count(fresh.ID), rc.count(stale.ID), rc.n.Load())
	}
	if v := metricValue(t, reg, "qala_notify_dropped_total", "", ""); v != 1 {
		t.Errorf("dropped = %v", v)
	}
}
