package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestKill9Notifications streams updates into a real `qala serve` process
// whose subscription notifies a slow receiver, and kills the process with
// SIGKILL while notifications are in flight. After a restart, the receiver
// gets a notification for every acknowledged update (at-least-once), and a
// notification it gets twice has the same id both times, so it can drop
// the copy.
func TestKill9Notifications(t *testing.T) {
	k := newKillRig(t)
	var mu sync.Mutex
	byValue := map[string]map[float64]string{} // counter → value → notification id
	dupDiffID := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		time.Sleep(40 * time.Millisecond) // slow enough to leave notifications in flight
		var n struct {
			ID   string           `json:"id"`
			Data []map[string]any `json:"data"`
		}
		if err := json.Unmarshal(b, &n); err != nil {
			t.Errorf("notification: %v", err)
		}
		mu.Lock()
		for _, d := range n.Data {
			id, _ := d["id"].(string)
			v, _ := d["n"].(float64)
			if byValue[id] == nil {
				byValue[id] = map[float64]string{}
			}
			if prev, ok := byValue[id][v]; ok && prev != n.ID {
				dupDiffID++
			}
			byValue[id][v] = n.ID
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	if st, err := k.send("POST", "/subscriptions", `{"type":"Subscription","entities":[{"type":"Counter"}],"watchedAttributes":["n"],
		"notification":{"format":"keyValues","attributes":["n"],"endpoint":{"uri":"`+recv.URL+`"}}}`); st != 201 {
		t.Fatalf("create subscription: %d %v", st, err)
	}
	const counters = 4
	for w := range counters {
		if st, err := k.send("POST", "/entities", fmt.Sprintf(`{"id":"urn:ngsi-ld:Counter:%d","type":"Counter","n":{"type":"Property","value":-1}}`, w)); st != 201 {
			t.Fatalf("create counter: %d %v", st, err)
		}
	}
	acked := make([]int, counters) // counter → values 0..acked-1 acknowledged
	k.streamAndKill(counters, 1500*time.Millisecond, func(w, v int) bool {
		if !k.setCounter(w, v) {
			return false
		}
		mu.Lock()
		acked[w] = v + 1
		mu.Unlock()
		return true
	})
	mu.Lock()
	before := 0
	for _, m := range byValue {
		before += len(m)
	}
	mu.Unlock()

	k.restart()
	missing := func() (n int, example string) {
		mu.Lock()
		defer mu.Unlock()
		for w := range counters {
			id := fmt.Sprintf("urn:ngsi-ld:Counter:%d", w)
			for v := range acked[w] {
				if _, ok := byValue[id][float64(v)]; !ok {
					n++
					example = fmt.Sprintf("%s n=%d", id, v)
				}
			}
		}
		return n, example
	}
	deadline := time.Now().Add(60 * time.Second)
	n, ex := missing()
	for n > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		n, ex = missing()
	}
	total := 0
	for _, a := range acked {
		total += a
	}
	if n > 0 {
		t.Fatalf("%d of %d acknowledged updates were never notified after kill -9 (e.g. %s)", n, total, ex)
	}
	if dupDiffID > 0 {
		t.Errorf("%d notifications of the same change came with different ids", dupDiffID)
	}
	if total < 100 {
		t.Fatalf("only %d updates acknowledged before the kill; the test proves nothing", total)
	}
	t.Logf("%d acknowledged updates, %d notified before the kill, all notified after the restart", total, before)
}
