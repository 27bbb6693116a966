package notify

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// receiver is a real HTTP notification receiver that records what it got.
type receiver struct {
	srv *httptest.Server
	// fail, when set, decides the status of a request (0: 204).
	fail    atomic.Pointer[func(r *http.Request, n int64) int]
	n       atomic.Int64 // requests
	mu      sync.Mutex
	got     map[string]int // X-Notification-Id (the message id, as receiverInfo) -> deliveries
	reqs    []*http.Request
	bodies  [][]byte
	arrived chan string
}

func newReceiver(t testing.TB, tlsSrv bool) *receiver {
	rc := &receiver{got: map[string]int{}, arrived: make(chan string, 1<<16)}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.n.Add(1)
		body, _ := io.ReadAll(r.Body)
		if f := rc.fail.Load(); f != nil {
			if st := (*f)(r, n); st != 0 {
				w.WriteHeader(st)
				return
			}
		}
		id := r.Header.Get("X-Notification-Id")
		rc.mu.Lock()
		rc.got[id]++
		if len(rc.reqs) < 1000 {
			rc.reqs = append(rc.reqs, r)
			rc.bodies = append(rc.bodies, body)
		}
		rc.mu.Unlock()
		select {
		case rc.arrived <- id:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})
	if tlsSrv {
		rc.srv = httptest.NewTLSServer(h)
	} else {
		rc.srv = httptest.NewServer(h)
	}
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) setFail(f func(r *http.Request, n int64) int) { rc.fail.Store(&f) }

func (rc *receiver) count(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.got[id]
}

func (rc *receiver) distinct() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

// waitDistinct waits until the receiver has n distinct notifications.
func (rc *receiver) waitDistinct(t testing.TB, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for rc.distinct() < n {
		if time.Now().After(deadline) {
			t.Fatalf("receiver %s got %d distinct notifications, want %d", rc.srv.URL, rc.distinct(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openTest(t testing.TB, dir string, o Options) *Dispatcher {
	t.Helper()
	o.Dir = dir
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	d, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var msgCounter atomic.Int64

// msg makes a notification for uri; the receiver knows it by the
// X-Notification-Id receiverInfo header.
func msg(uri, sub string) *Message {
	id := fmt.Sprintf("urn:ngsi-ld:Notification:%d", msgCounter.Add(1))
	return &Message{
		ID: id, Subscription: sub, ContentType: "application/json",
		Endpoint: Endpoint{URI: uri, ReceiverInfo: []KeyValue{{Key: "X-Notification-Id", Value: id}}},
		Body:     []byte(`{"id":"` + id + `","type":"Notification","subscriptionId":"` + sub + `","data":[]}`),
		Created:  time.Now(),
	}
}

func enqueue(t testing.TB, d *Dispatcher, msgs ...*Message) {
	t.Helper()
	if err := d.Enqueue(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (d *Dispatcher) stateOf(label string) (EndpointState, bool) {
	for _, s := range d.endpointStates() {
		if s.Endpoint == label {
			return s, true
		}
	}
	return EndpointState{}, false
}

// metricValue reads a counter, gauge or histogram (its count) from reg by
// subscription ("" for none) and endpoint labels.
func metricValue(t testing.TB, reg *prometheus.Registry, name, sub, endpoint string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if (l.GetName() == "subscription" && l.GetValue() != sub) || (l.GetName() == "endpoint" && l.GetValue() != endpoint) {
					continue metrics
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}
