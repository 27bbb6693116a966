package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeNotifyEnv makes the fake qala (see fakeQalaEnv) a small subscription
// broker: entities by batch upsert, PATCH attrs and batch update, POST
// /subscriptions, and notifications sent by one goroutine per endpoint,
// every 13th twice under the same id (at-least-once). Its matcher is the
// tests' own reading of the subscription JSON (fires), so a suite run
// against it checks the tool's plumbing end to end while Qala's
// subscriptions are not built.
const fakeNotifyEnv = "QALA_BENCH_FAKE_NOTIFY"

type fakeEntity struct {
	typ   string
	attrs map[string]json.RawMessage
}

type fakeBroker struct {
	mu       sync.Mutex
	entities map[string]*fakeEntity
	subs     []*subJSON
	queues   map[string]chan []byte
	sent     int
	perSub   map[string]int64 // timesSent
	wg       sync.WaitGroup
}

func fakeNotifyBroker(listen string) error {
	b := &fakeBroker{entities: map[string]*fakeEntity{}, queues: map[string]chan []byte{}, perSub: map[string]int64{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("POST /ngsi-ld/v1/entityOperations/upsert", func(w http.ResponseWriter, r *http.Request) {
		var es []map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&es); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range es {
			var id, typ string
			json.Unmarshal(e["id"], &id)
			json.Unmarshal(e["type"], &typ)
			delete(e, "id")
			delete(e, "type")
			b.entities[id] = &fakeEntity{typ: typ, attrs: e}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PATCH /ngsi-ld/v1/entities/{id}/attrs", func(w http.ResponseWriter, r *http.Request) {
		var attrs map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&attrs); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := b.update(r.PathValue("id"), attrs); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /ngsi-ld/v1/entityOperations/update", func(w http.ResponseWriter, r *http.Request) {
		var es []map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&es); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, e := range es {
			var id string
			json.Unmarshal(e["id"], &id)
			delete(e, "id")
			delete(e, "type")
			if err := b.update(id, e); err != nil {
				http.Error(w, err.Error(), http.StatusMultiStatus)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /ngsi-ld/v1/subscriptions", func(w http.ResponseWriter, r *http.Request) {
		var s subJSON
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil || len(s.Entities) != 1 {
			http.Error(w, fmt.Sprint("bad subscription ", err), http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		// The broker picks its own ids, as it may (clause 5.8.1).
		s.ID = fmt.Sprintf("urn:ngsi-ld:Subscription:fake-%d", len(b.subs))
		b.subs = append(b.subs, &s)
		if b.queues[s.Notification.Endpoint.URI] == nil {
			q := make(chan []byte, 1<<16)
			b.queues[s.Notification.Endpoint.URI] = q
			b.wg.Go(func() { deliver(s.Notification.Endpoint.URI, q) })
		}
		w.Header().Set("Location", "/ngsi-ld/v1/subscriptions/"+s.ID)
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /ngsi-ld/v1/subscriptions/{id}", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, s := range b.subs {
			if s.ID == r.PathValue("id") {
				fmt.Fprintf(w, `{"id":%q,"type":"Subscription","status":"active","notification":{"timesSent":%d}}`, s.ID, b.perSub[s.ID])
				return
			}
		}
		http.NotFound(w, r)
	})
	srv := &http.Server{Addr: listen, Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	b.mu.Lock()
	for _, q := range b.queues {
		close(q)
	}
	b.mu.Unlock()
	b.wg.Wait()
	return nil
}

// update merges attrs into entity id and queues the notifications it fires.
func (b *fakeBroker) update(id string, attrs map[string]json.RawMessage) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entities[id]
	if e == nil {
		return fmt.Errorf("no entity %s", id)
	}
	var changed []string
	for k, v := range attrs {
		e.attrs[k] = v
		changed = append(changed, k)
	}
	values := map[string]any{}
	for k, v := range e.attrs {
		var p struct{ Value any }
		json.Unmarshal(v, &p)
		values[k] = p.Value
	}
	data, _ := json.Marshal(e.attrs)
	entity := fmt.Sprintf(`{"id":%q,"type":%q,%s`, id, e.typ, data[1:])
	for _, s := range b.subs {
		ok, err := fires(s, e.typ, changed, values)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		b.sent++
		b.perSub[s.ID]++
		body := fmt.Appendf(nil, `{"id":"urn:ngsi-ld:Notification:%d","type":"Notification","subscriptionId":%q,"notifiedAt":%q,"data":[%s]}`,
			b.sent, s.ID, time.Now().UTC().Format(time.RFC3339Nano), entity)
		q := b.queues[s.Notification.Endpoint.URI]
		q <- body
		if b.sent%13 == 0 {
			q <- body
		}
	}
	return nil
}

func deliver(uri string, q chan []byte) {
	client := NewClient(1, 10*time.Second)
	for body := range q {
		resp, err := client.Post(uri, "application/json", bytes.NewReader(body))
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake broker:", err)
			continue
		}
		resp.Body.Close()
	}
}

func TestNotifySuiteAgainstFakeBroker(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeQalaEnv, "1")
	t.Setenv(fakeNotifyEnv, "1")
	for _, batch := range []int{1, 4} {
		var log bytes.Buffer
		cfg := DefaultNotifyConfig(true)
		cfg.Qala, cfg.Log = self, &log
		cfg.Subs, cfg.Entities, cfg.Rate, cfg.Duration, cfg.Batch, cfg.Workers, cfg.Receivers = 40, 40, 400, 500*time.Millisecond, batch, 4, 2
		cfg.StallTimeout, cfg.DrainTimeout = 5*time.Second, 10*time.Second
		rep, err := RunNotifySuite(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%v\nlog:\n%s", err, log.String())
		}
		if len(rep.Errors) > 0 {
			t.Fatalf("failed steps: %q\nlog:\n%s", rep.Errors, log.String())
		}
		owed := int64(200 * notifyMatch)
		if rep.Owed != owed || rep.Delivered != owed || rep.ProbeGot != 2*notifyMatch || rep.SubsWhole != 40 ||
			rep.Unexpected != 0 || rep.Malformed != 0 || rep.Repeated != 0 || rep.DupIDs == 0 {
			t.Errorf("batch %d: owed %d, delivered %d, probe %d, complete %d, unexpected %d, malformed %d (%s), repeated %d, dup ids %d",
				batch, rep.Owed, rep.Delivered, rep.ProbeGot, rep.SubsWhole, rep.Unexpected, rep.Malformed, rep.BadSample, rep.Repeated, rep.DupIDs)
		}
		for _, r := range []*paceResult{rep.WriteNoSubs, rep.WriteSubs} {
			if r == nil || r.Requests != uint64(200/batch) || r.Errors != 0 {
				t.Fatalf("batch %d: write run %+v", batch, r)
			}
		}
		var sum int64
		for _, n := range rep.Seconds {
			sum += n
		}
		if bc := rep.Broker; bc == nil || bc.Status["active"] != 40 || bc.TimesSent != owed+2*notifyMatch {
			t.Errorf("batch %d: broker counts %+v", batch, bc)
		}
		if sum != owed || rep.QalaCPU[1] <= 0 || rep.ToolCPU[1] <= 0 {
			t.Errorf("batch %d: per second %v (sum %d), cores %v %v", batch, rep.Seconds, sum, rep.QalaCPU, rep.ToolCPU)
		}
		if rep.PerSecond <= 0 || rep.E2E.P99 <= 0 || rep.E2E.P50 > rep.E2E.P99 {
			t.Errorf("batch %d: %v/s, e2e %+v", batch, rep.PerSecond, rep.E2E)
		}
		var md bytes.Buffer
		rep.Markdown(&md)
		for _, want := range []string{"| delivered / owed | 2,000 / 2,000 (100.000 %) | 100 % | yes |",
			"| subscriptions that got all they were owed | 40 / 40 | all | yes |",
			"| notifications/s delivered while the stream ran", "≥ 20,000 (offered 4,000)", "Delivered in each second", "| write latency without subscriptions p50 / p99 |",
			"| write latency with subscriptions p50 / p99 |", "| qala | update-subs | 4 |"} {
			if !strings.Contains(md.String(), want) {
				t.Errorf("markdown lacks %q:\n%s", want, md.String())
			}
		}
		if t.Failed() {
			t.Logf("log:\n%s", log.String())
		}
	}
}
