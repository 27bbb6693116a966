package notify

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestConcurrentSpillExactlyOnce drives the spill and load paths hard:
// concurrent Enqueue callers, small memory bounds, a flaky and a slow
// endpoint next to healthy ones. Without a crash, every message is
// delivered exactly once (a 500 is not a delivery), and the outbox and the
// per-subscription counts end at zero.
func TestConcurrentSpillExactlyOnce(t *testing.T) {
	healthy := newReceiver(t, false)
	flaky := newReceiver(t, false)
	flaky.setFail(func(*http.Request, int64) int {
		if rand.IntN(10) < 3 {
			return 500
		}
		return 0
	})
	slow := newReceiver(t, false)
	slow.setFail(func(*http.Request, int64) int {
		time.Sleep(time.Millisecond)
		return 0
	})
	d := openTest(t, t.TempDir(), Options{QueueBound: 8, MaxInFlight: 4, MaxRetries: 1000, BackoffBase: time.Millisecond,
		BackoffMax: 5 * time.Millisecond, NoSync: true})
	defer d.Close()
	uris := []string{healthy.srv.URL + "/a", healthy.srv.URL + "/b", flaky.srv.URL, slow.srv.URL}
	const callers, calls, per = 4, 50, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				var ms []*Message
				for j := 0; j < per; j++ {
					m := msg(uris[rand.IntN(len(uris))], "sub"+string(rune('a'+j%3)))
					ms = append(ms, m)
				}
				if err := d.Enqueue(t.Context(), ms); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, m := range ms {
					ids = append(ids, m.ID)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	total := callers * calls * per
	waitFor(t, "every message delivered", 30*time.Second, func() bool {
		return healthy.distinct()+flaky.distinct()+slow.distinct() == total
	})
	waitFor(t, "the outbox to empty", 5*time.Second, func() bool { return d.stored.Load() == 0 })
	for _, id := range ids {
		if n := healthy.count(id) + flaky.count(id) + slow.count(id); n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	d.bySub.Range(func(k, v any) bool {
		if n := d.subDepth(k.(string)).Load(); n != 0 {
			t.Errorf("subscription %v: depth %d after delivery", k, n)
		}
		return true
	})
	for _, s := range d.endpointStates() {
		if s.Queued != 0 || s.InMemory != 0 {
			t.Errorf("endpoint state after delivery: %+v", s)
		}
	}
}

// TestBacklogHeapBounded: 160 MB of notifications for an endpoint that
// takes nothing stay in the outbox, not in the heap.
func TestBacklogHeapBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 160 MB")
	}
	gate := make(chan struct{})
	rc := newReceiver(t, false)
	rc.setFail(func(r *http.Request, _ int64) int {
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		return 503
	})
	defer close(gate)
	d := openTest(t, t.TempDir(), Options{QueueBound: 100, NoSync: true, Timeout: time.Minute, CloseGrace: 10 * time.Millisecond})
	defer d.Close()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	body := bytes.Repeat([]byte("x"), 4096)
	for b := 0; b < 400; b++ {
		ms := make([]*Message, 100)
		for i := range ms {
			ms[i] = &Message{ID: fmt.Sprint(b, "-", i), Subscription: "s", Endpoint: Endpoint{URI: rc.srv.URL}, Body: body}
		}
		enqueue(t, d, ms...)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	st, _ := d.stateOf(endpointLabel(rc.srv.URL))
	t.Logf("backlog of %d (160 MB): heap grew %d MB, %d in memory", st.Queued, grown>>20, st.InMemory)
	if st.Queued != 40000 || st.InMemory > 100 {
		t.Errorf("state %+v", st)
	}
	if grown > 64<<20 {
		t.Errorf("heap grew %d MB for a 160 MB backlog", grown>>20)
	}
}
