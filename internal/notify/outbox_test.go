package notify

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMain lets the test binary act as a process that enqueues
// notifications when re-executed by TestKill9.
func TestMain(m *testing.M) {
	if dir := os.Getenv("QALA_NOTIFY_CHILD_DIR"); dir != "" {
		os.Exit(killChild(dir, os.Getenv("QALA_NOTIFY_CHILD_URI")))
	}
	os.Exit(m.Run())
}

// killChild enqueues batches of notifications to uri until killed and
// prints the id of every message Enqueue acknowledged.
func killChild(dir, uri string) int {
	// A short Hold: most messages are written to the outbox after being
	// held in memory (the rest, once the queue is behind, before).
	d, err := Open(Options{Dir: dir, Logger: quietLogger(), MaxInFlight: 2, QueueBound: 100, Hold: time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	for b := 0; ; b++ {
		if b == 300 { // enough: wait for the kill
			select {}
		}
		var ms []*Message
		for i := 0; i < 20; i++ {
			m := msg(uri, fmt.Sprintf("sub%d", i%3))
			m.ID = fmt.Sprintf("urn:ngsi-ld:Notification:k%d-%d", b, i)
			m.Endpoint.ReceiverInfo = []KeyValue{{Key: "X-Notification-Id", Value: m.ID}}
			ms = append(ms, m)
		}
		if err := d.Enqueue(context.Background(), ms); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, m := range ms {
			fmt.Fprintln(out, m.ID)
		}
		out.Flush()
	}
}

// TestKill9 kills (SIGKILL) a process that is enqueueing notifications to a
// slow receiver, so that many are in the outbox or in flight, then opens
// its outbox again: every notification Enqueue acknowledged arrives
// (at-least-once; duplicates are recognised by id).
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a process")
	}
	rc := newReceiver(t, false)
	rc.setFail(func(*http.Request, int64) int {
		time.Sleep(2 * time.Millisecond)
		return 0
	})
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "QALA_NOTIFY_CHILD_DIR="+dir, "QALA_NOTIFY_CHILD_URI="+rc.srv.URL+"/n")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	var amu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			amu.Lock()
			acked = append(acked, sc.Text())
			amu.Unlock()
		}
	}()
	// Kill once a good part of the child's 6,000 messages are acknowledged
	// (most of them still undelivered: the receiver takes ~1,000/s).
	waitFor(t, "2,000 acknowledged messages", 20*time.Second, func() bool {
		amu.Lock()
		defer amu.Unlock()
		return len(acked) >= 2000
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	cmd.Wait()
	before := rc.distinct()
	if len(acked) < 200 || before >= len(acked) {
		t.Fatalf("%d acknowledged, %d delivered before the kill: the test proves nothing", len(acked), before)
	}

	rc.setFail(func(*http.Request, int64) int { return 0 })
	d := openTest(t, dir, Options{})
	defer d.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		missing := 0
		for _, id := range acked {
			if rc.count(id) == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged notifications never arrived after kill -9", missing, len(acked))
		}
		time.Sleep(20 * time.Millisecond)
	}
	rc.mu.Lock()
	dups := 0
	for _, n := range rc.got {
		dups += n - 1
	}
	rc.mu.Unlock()
	waitFor(t, "the outbox to empty", 10*time.Second, func() bool { return d.stored.Load() == 0 })
	t.Logf("%d acknowledged, %d delivered before the kill, all delivered after restart (%d duplicates, dropped by id)", len(acked), before, dups)
}

// downEndpoint holds a port whose "receiver" hangs up on every connection
// (so that no other process can take the port meanwhile); closing it frees
// the port for serveOn.
func downEndpoint(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln
}

// serveOn starts rc's handler on addr.
func serveOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// TestOutboxReload: messages for an endpoint that is down stay in the
// outbox across a restart and are delivered, exactly once each, when it
// comes up; the reopened dispatcher loads them a few at a time.
func TestOutboxReload(t *testing.T) {
	dir := t.TempDir()
	downA, downB := downEndpoint(t), downEndpoint(t)
	addrA, addrB := downA.Addr().String(), downB.Addr().String()
	d := openTest(t, dir, Options{BackoffBase: time.Hour})
	var ids []string
	for b := 0; b < 10; b++ {
		var ms []*Message
		for i := 0; i < 50; i++ {
			addr := addrA
			if i%5 == 0 {
				addr = addrB
			}
			m := msg("http://"+addr+"/n", "s")
			ids = append(ids, m.ID)
			ms = append(ms, m)
		}
		enqueue(t, d, ms...)
	}
	waitFor(t, "the first attempts to fail", 5*time.Second, func() bool {
		a, _ := d.stateOf("http://" + addrA)
		b, _ := d.stateOf("http://" + addrB)
		return a.Failures > 0 && b.Failures > 0
	})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	rc := newReceiver(t, false)
	downA.Close()
	downB.Close()
	serveOn(t, addrA, rc.srv.Config.Handler)
	serveOn(t, addrB, rc.srv.Config.Handler)
	d = openTest(t, dir, Options{QueueBound: 16})
	defer d.Close()
	// What Open loaded: d.stored falls as soon as the queues deliver.
	if d.loaded != 500 {
		t.Errorf("reopened outbox held %d, want 500", d.loaded)
	}
	maxMem := 0
	var mu sync.Mutex
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, s := range d.endpointStates() {
				mu.Lock()
				maxMem = max(maxMem, s.InMemory)
				mu.Unlock()
			}
			time.Sleep(time.Millisecond)
		}
	}()
	rc.waitDistinct(t, 500, 10*time.Second)
	close(stop)
	for _, id := range ids {
		if n := rc.count(id); n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	waitFor(t, "the outbox to empty", 5*time.Second, func() bool { return d.stored.Load() == 0 })
	mu.Lock()
	if maxMem > 16 {
		t.Errorf("%d messages of one endpoint in memory, bound 16", maxMem)
	}
	mu.Unlock()
}

// TestBoundedBacklog: an endpoint that takes nothing for a while gets a
// backlog far beyond its memory bound; the rest waits in the outbox and all
// of it arrives, in order of arrival per endpoint, exactly once.
func TestBoundedBacklog(t *testing.T) {
	gate := make(chan struct{})
	rc := newReceiver(t, false)
	var order []string
	var omu sync.Mutex
	rc.setFail(func(r *http.Request, _ int64) int {
		<-gate
		omu.Lock()
		order = append(order, r.Header.Get("X-Notification-Id"))
		omu.Unlock()
		return 0
	})
	reg := prometheus.NewRegistry()
	d := openTest(t, t.TempDir(), Options{QueueBound: 10, MaxInFlight: 1, NoSync: true, Registerer: reg})
	defer d.Close()
	var ids []string
	for b := 0; b < 40; b++ {
		var ms []*Message
		for i := 0; i < 50; i++ {
			m := msg(rc.srv.URL, "s")
			ids = append(ids, m.ID)
			ms = append(ms, m)
		}
		enqueue(t, d, ms...)
		st, _ := d.stateOf(endpointLabel(rc.srv.URL))
		if st.InMemory > 10 {
			t.Fatalf("%d messages in memory, bound 10", st.InMemory)
		}
	}
	waitFor(t, "the first attempt", 5*time.Second, func() bool { return rc.n.Load() == 1 })
	st, _ := d.stateOf(endpointLabel(rc.srv.URL))
	if st.Queued != 2000 || !st.Spilled || st.InFlight != 1 || st.InMemory > 10 {
		t.Errorf("state with a backlog: %+v", st)
	}
	label := endpointLabel(rc.srv.URL)
	if v := metricValue(t, reg, "qala_notify_subscription_queue_depth", "s", label); v != 2000 {
		t.Errorf("subscription queue depth %v, want 2000", v)
	}
	if v := metricValue(t, reg, "qala_notify_queue_depth", "", label); v != 2000 {
		t.Errorf("endpoint queue depth %v, want 2000", v)
	}
	close(gate)
	rc.waitDistinct(t, 2000, 20*time.Second)
	waitFor(t, "the subscription's queue to empty", 5*time.Second, func() bool {
		return metricValue(t, reg, "qala_notify_subscription_queue_depth", "s", label) == 0
	})
	omu.Lock()
	defer omu.Unlock()
	if len(order) != 2000 {
		t.Fatalf("%d deliveries, want 2000", len(order))
	}
	for i, id := range ids {
		if order[i] != id {
			t.Fatalf("delivery %d is %s, want %s (%s)", i, order[i], id, strings.Join(order[max(0, i-2):i+2], " "))
		}
	}
}

// TestCloseWithHangingEndpoint: Close does not wait for an endpoint that
// hangs beyond its grace; the message stays in the outbox and is delivered
// after the next Open.
func TestCloseWithHangingEndpoint(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiver(t, false)
	hang := make(chan struct{})
	rc.setFail(func(r *http.Request, _ int64) int {
		select {
		case <-hang:
			return 0
		case <-r.Context().Done():
			return 503
		}
	})
	d := openTest(t, dir, Options{Timeout: time.Minute, CloseGrace: 200 * time.Millisecond})
	m := msg(rc.srv.URL, "s")
	enqueue(t, d, m)
	waitFor(t, "the attempt to start", 5*time.Second, func() bool { return rc.n.Load() == 1 })
	start := time.Now()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close took %v with a hanging endpoint", took)
	}
	close(hang)
	d = openTest(t, dir, Options{})
	defer d.Close()
	rc.waitDistinct(t, 1, 5*time.Second)
	if rc.count(m.ID) != 1 {
		t.Errorf("delivered %d times", rc.count(m.ID))
	}
}

// TestLiveAfterRestart: messages reloaded from the outbox whose
// subscription was deleted while the process was down are not sent.
func TestLiveAfterRestart(t *testing.T) {
	dir := t.TempDir()
	down := downEndpoint(t)
	addr := down.Addr().String()
	d := openTest(t, dir, Options{BackoffBase: time.Hour})
	gone, kept := msg("http://"+addr+"/n", "urn:ngsi-ld:Subscription:gone"), msg("http://"+addr+"/n", "urn:ngsi-ld:Subscription:kept")
	enqueue(t, d, gone, kept)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, false)
	down.Close()
	serveOn(t, addr, rc.srv.Config.Handler)
	d = openTest(t, dir, Options{Live: func(m *Message) bool { return m.Subscription != gone.Subscription }})
	defer d.Close()
	rc.waitDistinct(t, 1, 5*time.Second)
	waitFor(t, "the outbox to empty", 5*time.Second, func() bool { return d.stored.Load() == 0 })
	if rc.count(kept.ID) != 1 || rc.count(gone.ID) != 0 {
		t.Errorf("kept %d, gone %d", rc.count(kept.ID), rc.count(gone.ID))
	}
}
