package notify

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// adminServer serves d's admin API the way the server mounts it.
func adminServer(t *testing.T, d *Dispatcher) string {
	mux := http.NewServeMux()
	h := d.AdminHandler()
	mux.Handle("/admin/notifications", h)
	mux.Handle("/admin/notifications/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/admin/notifications"
}

func call(t *testing.T, method, u string, out any) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s: %d with Content-Type %q", method, u, resp.StatusCode, ct)
		}
		var p struct{ Type, Title, Detail string }
		if err := json.Unmarshal(b, &p); err != nil || p.Type == "" || p.Detail == "" {
			t.Errorf("%s %s: problem body %s", method, u, b)
		}
	}
	if out != nil && resp.StatusCode < 300 && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, u, err, b)
		}
	}
	return resp.StatusCode, resp.Header
}

// TestDeadLetterReplay: messages that exhaust their retries become dead
// letters; the admin API lists (filtered), shows, replays and deletes them,
// and a replayed message is delivered once the endpoint recovers.
func TestDeadLetterReplay(t *testing.T) {
	rc := newReceiver(t, false)
	rc.setFail(func(*http.Request, int64) int { return 500 })
	other := newReceiver(t, false)
	other.setFail(func(*http.Request, int64) int { return 404 })
	d := openTest(t, t.TempDir(), Options{MaxRetries: 2, BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond})
	defer d.Close()
	admin := adminServer(t, d)

	var ms []*Message
	for i := 0; i < 5; i++ {
		m := msg(rc.srv.URL+"/hook", "urn:ngsi-ld:Subscription:a")
		if i == 4 {
			m.Tenant = "t1"
			m.Subscription = "urn:ngsi-ld:Subscription:b"
		}
		ms = append(ms, m)
	}
	enqueue(t, d, ms...)
	enqueue(t, d, msg(other.srv.URL, "urn:ngsi-ld:Subscription:c"))
	waitFor(t, "6 dead letters", 10*time.Second, func() bool { return d.dead.len() == 6 })
	if d.stored.Load() != 0 {
		t.Errorf("outbox holds %d after dead-lettering", d.stored.Load())
	}
	if got := rc.n.Load(); got != 15 {
		t.Errorf("%d attempts, want 5 messages x 3 attempts", got)
	}

	var list []DeadLetter
	st, h := call(t, "GET", admin+"/dead-letters", &list)
	if st != 200 || len(list) != 6 || h.Get("X-Total-Count") != "6" {
		t.Fatalf("list: %d %d %v", st, len(list), h)
	}
	if list[0].NotificationID != "urn:ngsi-ld:Notification:"+strings.TrimPrefix(list[0].NotificationID, "urn:ngsi-ld:Notification:") || list[0].Attempts != 3 {
		t.Errorf("newest dead letter %+v", list[0])
	}
	for q, want := range map[string]int{
		"subscription=urn:ngsi-ld:Subscription:a": 4,
		"tenant=t1": 1,
		"tenant=":   5,
		"endpoint=" + url.QueryEscape(endpointLabel(other.srv.URL)): 1,
		"endpoint=" + url.QueryEscape(rc.srv.URL+"/hook"):           5,
		"notificationId=" + url.QueryEscape(ms[2].ID):               1,
		"limit=2":          2,
		"limit=2&offset=5": 1,
	} {
		list = nil
		if st, _ := call(t, "GET", admin+"/dead-letters?"+q, &list); st != 200 || len(list) != want {
			t.Errorf("?%s: %d, %d dead letters, want %d", q, st, len(list), want)
		}
	}

	// One, in full.
	call(t, "GET", admin+"/dead-letters?notificationId="+url.QueryEscape(ms[4].ID), &list)
	var one DeadLetter
	if st, _ := call(t, "GET", admin+"/dead-letters/"+list[0].ID, &one); st != 200 {
		t.Fatal(st)
	}
	if one.Tenant != "t1" || one.LastStatus != 500 || !strings.Contains(one.LastError, "500") || one.ContentType != "application/json" ||
		one.Body == nil || len(one.ReceiverInfo) != 1 {
		t.Errorf("dead letter %+v", one)
	}

	// Bad requests are ProblemDetails.
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/dead-letters?limit=0", 400},
		{"GET", "/dead-letters?limit=x", 400},
		{"GET", "/dead-letters?offset=-1", 400},
		{"GET", "/dead-letters?colour=red", 400},
		{"GET", "/dead-letters?tenant=a&tenant=b", 400},
		{"GET", "/dead-letters/123", 404},
		{"GET", "/dead-letters/abc", 404},
		{"GET", "/dead-letters/" + one.ID + "?x=1", 400},
		{"GET", "/nothing", 404},
		{"PUT", "/dead-letters", 405},
		{"GET", "/dead-letters/replay", 405},
		{"GET", "/dead-letters/" + one.ID + "/replay", 405},
		{"POST", "/dead-letters/replay", 400}, // no filter, no all=true
		{"DELETE", "/dead-letters", 400},
		{"POST", "/endpoints", 405},
	} {
		if st, _ := call(t, c.method, admin+c.path, nil); st != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, st, c.status)
		}
	}

	// Replay one after the endpoint recovers.
	rc.setFail(func(*http.Request, int64) int { return 0 })
	var res map[string]int
	if st, _ := call(t, "POST", admin+"/dead-letters/"+one.ID+"/replay", &res); st != 200 || res["replayed"] != 1 {
		t.Fatalf("replay one: %d %v", st, res)
	}
	rc.waitDistinct(t, 1, 5*time.Second)
	if rc.count(ms[4].ID) != 1 {
		t.Errorf("replayed notification %s not delivered", ms[4].ID)
	}
	if st, _ := call(t, "POST", admin+"/dead-letters/"+one.ID+"/replay", nil); st != 404 {
		t.Errorf("replaying a replayed dead letter: %d", st)
	}
	// Replay the rest of subscription a.
	if st, _ := call(t, "POST", admin+"/dead-letters/replay?subscription=urn:ngsi-ld:Subscription:a", &res); st != 200 || res["replayed"] != 4 {
		t.Fatalf("replay by filter: %d %v", st, res)
	}
	rc.waitDistinct(t, 5, 5*time.Second)
	waitFor(t, "the outbox to empty", 5*time.Second, func() bool { return d.stored.Load() == 0 })
	// Delete the last one.
	if st, _ := call(t, "DELETE", admin+"/dead-letters?subscription=urn:ngsi-ld:Subscription:c", &res); st != 200 || res["deleted"] != 1 {
		t.Fatalf("delete by filter: %d %v", st, res)
	}
	if d.dead.len() != 0 {
		t.Errorf("%d dead letters left", d.dead.len())
	}
	var eps []EndpointState
	if st, _ := call(t, "GET", admin+"/endpoints", &eps); st != 200 || len(eps) != 2 {
		t.Fatalf("endpoints: %d %+v", st, eps)
	}
	var sum map[string]int
	if st, _ := call(t, "GET", admin, &sum); st != 200 || sum["endpoints"] != 2 || sum["outbox"] != 0 || sum["deadLetters"] != 0 {
		t.Errorf("summary %d %v", st, sum)
	}
}

// TestDeadLetterBound: beyond the bound the oldest dead letters go; the
// kept ones survive a restart.
func TestDeadLetterBound(t *testing.T) {
	dir := t.TempDir()
	d := openTest(t, dir, Options{MaxRetries: -1, DeadLetterBound: 3})
	var ms []*Message
	for i := 0; i < 5; i++ {
		m := msg("gopher://x/", "s")
		ms = append(ms, m)
		enqueue(t, d, m) // one per call: dead-lettered in order
		waitFor(t, "a dead letter", 2*time.Second, func() bool {
			metas, _ := d.dead.matching(&Filter{NotificationID: m.ID}, 0, 1)
			return len(metas) == 1
		})
	}
	d.Close()
	d = openTest(t, dir, Options{DeadLetterBound: 3})
	defer d.Close()
	metas, total := d.dead.matching(&Filter{}, 0, -1)
	if total != 3 || metas[0].ID != ms[4].ID || metas[2].ID != ms[2].ID {
		t.Errorf("kept %d dead letters: %+v", total, metas)
	}
}
