package notify

import (
	"net/http"
	"testing"
	"time"
)

// TestHold: messages to a healthy endpoint are delivered from memory
// before Enqueue returns and never written to the outbox; those an
// endpoint does not take within Options.Hold are in the outbox when
// Enqueue returns, the endpoint's next ones are written first, and after
// a restart every one of them arrives exactly once.
func TestHold(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiver(t, false)
	d := openTest(t, dir, Options{Hold: 2 * time.Second, Timeout: time.Minute, CloseGrace: 100 * time.Millisecond})
	var fast []*Message
	for range 50 {
		fast = append(fast, msg(rc.srv.URL+"/fast", "s"))
	}
	enqueue(t, d, fast...)
	if got := rc.distinct(); got != len(fast) {
		t.Fatalf("Enqueue returned with %d of %d delivered", got, len(fast))
	}
	if n := d.stored.Load(); n != 0 {
		t.Fatalf("%d messages written to the outbox, want 0", n)
	}

	hang := make(chan struct{})
	rc.setFail(func(r *http.Request, _ int64) int {
		select {
		case <-hang:
			return 0
		case <-r.Context().Done():
			return 503
		}
	})
	var slow []*Message
	for range 20 {
		slow = append(slow, msg(rc.srv.URL+"/slow", "s"))
	}
	start := time.Now()
	enqueue(t, d, slow[:10]...)
	if took := time.Since(start); took < 2*time.Second || took > 5*time.Second {
		t.Errorf("Enqueue took %v with Hold 2s", took)
	}
	if n := d.stored.Load(); n != 10 {
		t.Fatalf("outbox holds %d after Enqueue, want 10", n)
	}
	start = time.Now()
	enqueue(t, d, slow[10:]...)
	if took := time.Since(start); took > time.Second {
		t.Errorf("Enqueue to an endpoint behind took %v", took)
	}
	if n := d.stored.Load(); n != 20 {
		t.Fatalf("outbox holds %d after Enqueue, want 20", n)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	close(hang)
	d = openTest(t, dir, Options{})
	defer d.Close()
	rc.waitDistinct(t, len(fast)+len(slow), 10*time.Second)
	for _, m := range slow {
		if n := rc.count(m.ID); n != 1 {
			t.Errorf("%s delivered %d times", m.ID, n)
		}
	}
	waitFor(t, "the outbox to empty", 5*time.Second, func() bool { return d.stored.Load() == 0 })
}
