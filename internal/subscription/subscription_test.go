package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/notify"
	"github.com/qala-city/qala/internal/store"
)

const vocab = ngsild.DefaultVocab

func newRegistry(t testing.TB) *Registry {
	t.Helper()
	dir := t.TempDir()
	res, err := jsonld.New(jsonld.Config{Dir: dir + "/contexts"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(Options{Dir: dir + "/subs", Resolver: res, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// create parses body with the core context and adds it to the default tenant.
func create(t testing.TB, r *Registry, body string) *Subscription {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	s, err := Parse(doc, r.res.Core(), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if err := r.Create(t.Context(), "", s); err != nil {
		t.Fatal(err)
	}
	return s
}

func prop(v any, ds string) *ngsild.Attr {
	return &ngsild.Attr{Type: ngsild.Property, Value: v, DatasetID: ds, ModifiedAt: time.Now()}
}

func entity(typ string, attrs map[string][]*ngsild.Attr) *ngsild.Entity {
	return &ngsild.Entity{ID: "urn:ngsi-ld:" + typ + ":1", Types: []string{vocab + typ}, Attrs: attrs}
}

// TestTriggers checks notificationTrigger (clause 5.2.12) on each kind of
// change, with and without watchedAttributes.
func TestTriggers(t *testing.T) {
	a1 := prop(1.0, "")
	a2 := prop(2.0, "")
	fr := prop("fr", "urn:ngsi-ld:Dataset:fr")
	base := entity("Car", map[string][]*ngsild.Attr{vocab + "speed": {a1}, vocab + "name": {fr}})
	updated := entity("Car", map[string][]*ngsild.Attr{vocab + "speed": {a2}, vocab + "name": {fr}})
	appended := entity("Car", map[string][]*ngsild.Attr{vocab + "speed": {a1}, vocab + "name": {fr}, vocab + "fuel": {prop(3.0, "")}})
	dropped := entity("Car", map[string][]*ngsild.Attr{vocab + "speed": {a1}})
	instAdded := entity("Car", map[string][]*ngsild.Attr{vocab + "speed": {a1}, vocab + "name": {fr, prop("de", "urn:ngsi-ld:Dataset:de")}})
	evs := map[string]store.Event{
		"create":         {Before: nil, After: base, Attrs: []string{vocab + "name", vocab + "speed"}},
		"update speed":   {Before: base, After: updated, Attrs: []string{vocab + "speed"}},
		"append fuel":    {Before: base, After: appended, Attrs: []string{vocab + "fuel"}},
		"delete name":    {Before: base, After: dropped, Attrs: []string{vocab + "name"}},
		"add a dataset":  {Before: base, After: instAdded, Attrs: []string{vocab + "name"}},
		"delete dataset": {Before: instAdded, After: base, Attrs: []string{vocab + "name"}},
		"delete entity":  {Before: base, After: nil},
	}
	cases := []struct {
		trig, watched string
		fire          []string
	}{
		{"", "", []string{"create", "update speed", "append fuel", "add a dataset"}}, // default: attributeCreated, attributeUpdated
		{`"entityCreated"`, "", []string{"create"}},
		{`"entityUpdated"`, "", []string{"update speed", "append fuel", "delete name", "add a dataset", "delete dataset"}},
		{`"entityDeleted"`, "", []string{"delete entity"}},
		{`"attributeCreated"`, "", []string{"create", "append fuel", "add a dataset"}},
		{`"attributeUpdated"`, "", []string{"update speed"}},
		{`"attributeDeleted"`, "", []string{"delete name", "delete dataset", "delete entity"}},
		{`"attributeUpdated","attributeCreated"`, `"speed"`, []string{"create", "update speed"}},
		{`"attributeDeleted"`, `"fuel"`, nil},
		{`"entityDeleted"`, `"fuel"`, nil},
	}
	r := newRegistry(t)
	for i, tc := range cases {
		body := fmt.Sprintf(`{"id":"urn:ngsi-ld:Subscription:%d","type":"Subscription","entities":[{"type":"Car"}],"notification":{"endpoint":{"uri":"http://127.0.0.1:9/"}}`, i)
		if tc.trig != "" {
			body += `,"notificationTrigger":[` + tc.trig + `]`
		}
		if tc.watched != "" {
			body += `,"watchedAttributes":[` + tc.watched + `]`
		}
		s := create(t, r, body+"}")
		c := r.tenants[""].subs[s.ID]
		for name, ev := range evs {
			ev.Time = time.Now()
			want := false
			for _, f := range tc.fire {
				want = want || f == name
			}
			if got := c.matches(&ev, nil); got != want {
				t.Errorf("trigger [%s] watched [%s] on %s: fired %v, want %v", tc.trig, tc.watched, name, got, want)
			}
		}
	}
}

// TestNotificationIDIsDeterministic: a notification rendered again for the
// same event after a crash has the same id, so receivers can drop it.
func TestNotificationIDIsDeterministic(t *testing.T) {
	a, b := NotificationID("", "urn:ngsi-ld:Subscription:1", 42), NotificationID("", "urn:ngsi-ld:Subscription:1", 42)
	if a != b {
		t.Fatalf("%s != %s", a, b)
	}
	for _, other := range []string{NotificationID("", "urn:ngsi-ld:Subscription:1", 43), NotificationID("t", "urn:ngsi-ld:Subscription:1", 42), NotificationID("", "urn:ngsi-ld:Subscription:2", 42)} {
		if other == a {
			t.Errorf("different events share the id %s", a)
		}
	}
	// Stable across versions: an outbox or a replay from before an upgrade
	// renders the ids receivers have seen.
	for _, c := range []struct{ got, want string }{
		{a, "urn:ngsi-ld:Notification:bc0c4e103c5af41613724771fcacf455"},
		{NotificationID("tenant-a", "urn:ngsi-ld:Subscription:"+strings.Repeat("x", 300), 1<<60), "urn:ngsi-ld:Notification:475120eeffcde93b162cf95a73eb67b9"},
	} {
		if c.got != c.want {
			t.Errorf("id %s, want %s", c.got, c.want)
		}
	}
}

// nonMatching adds n subscriptions that cannot match a Car event (located
// at 71.4,51.1): other types, other watched attributes, areas elsewhere.
func nonMatching(t testing.TB, r *Registry, n int) {
	for i := range n {
		var body string
		switch i % 3 {
		case 0:
			body = fmt.Sprintf(`"entities":[{"type":"Bus%d"}]`, i)
		case 1:
			body = fmt.Sprintf(`"watchedAttributes":["attr%d"]`, i)
		default:
			body = fmt.Sprintf(`"entities":[{"type":"*"}],"geoQ":{"geometry":"Point","coordinates":[%g,10],"georel":"near;maxDistance==100"}`, float64(i%300)/2)
		}
		create(t, r, fmt.Sprintf(`{"id":"urn:ngsi-ld:Subscription:n%d","type":"Subscription",%s,"notification":{"endpoint":{"uri":"http://127.0.0.1:9/"}}}`, i, body))
	}
}

func carEvent(seq uint64) store.Event {
	loc := &ngsild.Attr{Type: ngsild.GeoProperty, Value: map[string]any{"type": "Point", "coordinates": []any{71.4, 51.1}}}
	before := entity("Car", map[string][]*ngsild.Attr{vocab + "speed": {prop(1.0, "")}, ngsild.IRILocation: {loc}})
	after := entity("Car", map[string][]*ngsild.Attr{vocab + "speed": {prop(2.0, "")}, ngsild.IRILocation: {loc}})
	return store.Event{Before: before, After: after, Attrs: []string{vocab + "speed"}, Seq: seq, Time: time.Now()}
}

// TestIndexSkipsNonMatching: the candidates of an event are the
// subscriptions that may match it, whatever the number of others.
func TestIndexSkipsNonMatching(t *testing.T) {
	r := newRegistry(t)
	create(t, r, `{"id":"urn:ngsi-ld:Subscription:cars","type":"Subscription","entities":[{"type":"Car"}],"notification":{"endpoint":{"uri":"http://127.0.0.1:9/"}}}`)
	nonMatching(t, r, 3000)
	ev := carEvent(1)
	var seen []string
	r.tenants[""].candidates(&ev, 1<<40, func(c *compiled) { seen = append(seen, c.ID) })
	if len(seen) != 1 || seen[0] != "urn:ngsi-ld:Subscription:cars" {
		t.Fatalf("candidates of a Car event: %v", seen)
	}
	msgs, _, err := r.match([]store.Event{ev}, time.Now(), nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("notifications: %d, %v", len(msgs), err)
	}
}

// BenchmarkMatch matches one change event with one matching subscription
// next to 10 or 10,000 that cannot match it: the cost must not grow with
// them.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("nonmatching=%d", n), func(b *testing.B) {
			r := newRegistry(b)
			create(b, r, `{"id":"urn:ngsi-ld:Subscription:cars","type":"Subscription","entities":[{"type":"Car"}],"notification":{"endpoint":{"uri":"http://127.0.0.1:9/"}}}`)
			nonMatching(b, r, n)
			evs := []store.Event{carEvent(0)}
			now := time.Now()
			cands := 0
			r.tenants[""].candidates(&evs[0], 1<<40, func(*compiled) { cands++ })
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				evs[0].Seq = uint64(i + 1)
				msgs, _, _ := r.match(evs, now, nil)
				if len(msgs) != 1 {
					b.Fatal(len(msgs))
				}
			}
			b.ReportMetric(float64(cands), "candidates/op")
		})
	}
}

// FuzzParse: any JSON body is a subscription or a BadRequestData problem,
// never a panic; what parses renders, and survives a patch of any fragment.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"Subscription","entities":[{"type":"Car"}],"notification":{"endpoint":{"uri":"http://x/"}}}`,
		`{"id":"urn:a:b","type":"Subscription","watchedAttributes":["a"],"q":"a>1;b==\"x\"","geoQ":{"geometry":"Point","coordinates":[1,2],"georel":"near;maxDistance==5"},"notification":{"format":"keyValues","pick":["id","a"],"endpoint":{"uri":"mqtt://h/t","accept":"application/geo+json","receiverInfo":[{"key":"k","value":"v"}]}}}`,
		`{"type":"Subscription","entities":[{"idPattern":".*","type":"(A;B),C"}],"timeInterval":5,"expiresAt":"2099-01-01T00:00:00Z","notification":{"endpoint":{"uri":"https://x/"}},"scopeQ":"/a/#","datasetId":"urn:x:y"}`,
	} {
		f.Add(s, `{"q":"b<3","throttling":1}`)
	}
	res, err := jsonld.New(jsonld.Config{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	ctx := res.Core()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body, frag string) {
		var doc, patch map[string]any
		if json.Unmarshal([]byte(body), &doc) != nil {
			return
		}
		s, err := Parse(doc, ctx, now)
		if err != nil {
			return
		}
		v := View{Sub: *s, sctx: ctx}
		if _, err := v.Render(ctx, now, true, nil).MarshalJSON(); err != nil {
			t.Fatalf("rendering %s: %v", body, err)
		}
		if json.Unmarshal([]byte(frag), &patch) == nil {
			if n, err := Patch(s, patch, ctx, now); err == nil {
				if _, err := compile(n, ctx); err != nil {
					t.Fatalf("a patched subscription does not compile: %v", err)
				}
			}
		}
	})
}

type flakySink struct {
	fail int
	got  [][]*notify.Message
}

func (s *flakySink) Enqueue(_ context.Context, msgs []*notify.Message) error {
	s.got = append(s.got, msgs)
	if s.fail > 0 {
		s.fail--
		return errors.New("outbox full")
	}
	return nil
}

// TestHandleRetriesSameNotification: when the sink does not take the
// notifications, the cursor stays, and the events offered again render the
// same notifications (same ids), throttling included.
func TestHandleRetriesSameNotification(t *testing.T) {
	r := newRegistry(t)
	create(t, r, `{"id":"urn:ngsi-ld:Subscription:cars","type":"Subscription","entities":[{"type":"Car"}],"throttling":60,"notification":{"endpoint":{"uri":"http://127.0.0.1:9/"}}}`)
	if err := r.SetCursor(6); err != nil {
		t.Fatal(err)
	}
	sink := &flakySink{fail: 1}
	p := &Pipeline{Reg: r, Sink: sink}
	evs := []store.Event{carEvent(7)}
	if err := p.Handle(t.Context(), evs); err == nil {
		t.Fatal("Handle succeeded though the sink failed")
	}
	if cur, _ := r.Cursor(); cur != 6 {
		t.Fatalf("cursor moved to %d past events the sink did not take", cur)
	}
	if err := p.Handle(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if cur, _ := r.Cursor(); cur != 7 {
		t.Fatalf("cursor %d after the sink took the notifications, want 7", cur)
	}
	if len(sink.got) != 2 || len(sink.got[1]) != 1 || sink.got[0][0].ID != sink.got[1][0].ID {
		t.Fatalf("retried notifications: %v", sink.got)
	}
}

// BenchmarkFanOut matches one change event that 1,000 subscriptions
// select, rendering 1,000 notifications.
func BenchmarkFanOut(b *testing.B) {
	r := newRegistry(b)
	for i := range 1000 {
		create(b, r, fmt.Sprintf(`{"id":"urn:ngsi-ld:Subscription:f%d","type":"Subscription","entities":[{"type":"Car"}],"q":"speed>0","notification":{"endpoint":{"uri":"http://127.0.0.1:9/%d"}}}`, i, i))
	}
	evs := []store.Event{carEvent(0)}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		evs[0].Seq = uint64(i + 1)
		msgs, _, _ := r.match(evs, now, nil)
		if len(msgs) != 1000 {
			b.Fatal(len(msgs))
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "notifications/s")
}

// TestSharedRendering: subscriptions with the same representation share
// the rendering of an event's data; each notification keeps its own id and
// subscriptionId, and a different representation renders its own.
func TestSharedRendering(t *testing.T) {
	r := newRegistry(t)
	for i, f := range []string{"keyValues", "keyValues", "normalized"} {
		create(t, r, fmt.Sprintf(`{"id":"urn:ngsi-ld:Subscription:%d","type":"Subscription","entities":[{"type":"Car"}],"notification":{"format":%q,"endpoint":{"uri":"http://127.0.0.1:9/"}}}`, i, f))
	}
	msgs, _, err := r.match([]store.Event{carEvent(5)}, time.Now(), nil)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("%d notifications, %v", len(msgs), err)
	}
	bodies := map[string]map[string]any{}
	for _, m := range msgs {
		var b map[string]any
		if err := json.Unmarshal(m.Body, &b); err != nil {
			t.Fatalf("%s: %v", m.Body, err)
		}
		if b["subscriptionId"] != m.Subscription || b["id"] != m.ID {
			t.Errorf("envelope of %s: %v", m.Subscription, b)
		}
		bodies[m.Subscription] = b
	}
	d0, _ := json.Marshal(bodies["urn:ngsi-ld:Subscription:0"]["data"])
	d1, _ := json.Marshal(bodies["urn:ngsi-ld:Subscription:1"]["data"])
	d2, _ := json.Marshal(bodies["urn:ngsi-ld:Subscription:2"]["data"])
	if string(d0) != string(d1) || string(d0) == string(d2) || !strings.Contains(string(d0), `"speed":2`) {
		t.Errorf("data: keyValues %s / %s, normalized %s", d0, d1, d2)
	}
}
