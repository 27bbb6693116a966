package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/geo"
)

// receiver is a real HTTP endpoint on 127.0.0.1 that keeps what it is sent.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []received
}

type received struct {
	header http.Header
	body   map[string]any
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("receiver: notification is not a JSON object: %v: %s", err, b)
		}
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), m})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// data returns the entities of every notification received, in order.
func (r *receiver) data() []map[string]any {
	var out []map[string]any
	for _, n := range r.all() {
		for _, d := range n.body["data"].([]any) {
			out = append(out, d.(map[string]any))
		}
	}
	return out
}

type testServer struct {
	t    *testing.T
	s    *Server
	base string
	stop func()
}

func startServer(t *testing.T, cfg Config) *testServer {
	s, err := New(cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	ts := &testServer{t: t, s: s, base: "http://" + s.Addr()}
	stopped := false
	ts.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("server did not stop")
		}
	}
	t.Cleanup(ts.stop)
	return ts
}

// do sends a request and fails the test unless the status is want.
func (ts *testServer) do(method, path, tenant, body string, want int) []byte {
	ts.t.Helper()
	req, _ := http.NewRequest(method, ts.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tenant != "" {
		req.Header.Set("NGSILD-Tenant", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		ts.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	return b
}

// settle waits until the subscription pipeline has handled every write so
// far, and the receivers have stopped receiving.
func (ts *testServer) settle(rs ...*receiver) {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.s.subFollower.WaitFor(ctx, ts.s.store.LastSeq()); err != nil {
		ts.t.Fatal(err)
	}
	// Delivery is asynchronous (the outbox): wait until nothing new has
	// arrived for three looks in a row.
	last, stable := -1, 0
	for ctx.Err() == nil && stable < 3 {
		n := 0
		for _, r := range rs {
			n += len(r.all())
		}
		if n == last {
			stable++
		} else {
			stable = 0
		}
		last = n
		time.Sleep(150 * time.Millisecond)
	}
}

// offsetEast returns the point d metres east of p along its parallel.
func offsetEast(p geo.Pos, d float64) geo.Pos {
	return geo.Pos{Lon: p.Lon + d/(geo.EarthRadius*math.Cos(p.Lat*math.Pi/180))*180/math.Pi, Lat: p.Lat}
}

func airSensor(id string, p geo.Pos, pm float64) string {
	return fmt.Sprintf(`{"id":"urn:ngsi-ld:AirQualityObserved:%s","type":"AirQualityObserved","pm25":{"type":"Property","value":%g},`+
		`"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[%.9f,%.9f]}}}`, id, pm, p.Lon, p.Lat)
}

func setPM(ts *testServer, id string, pm float64) {
	ts.do("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:"+id+"/attrs", "", fmt.Sprintf(`{"pm25":{"type":"Property","value":%g}}`, pm), 204)
}

func ids(ds []map[string]any) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprint(d["id"]))
	}
	return out
}

// TestSmartCityNotifications runs the city's guards end to end over HTTP:
// a PM2.5 threshold near a school (q + geoQ near, watchedAttributes), a car
// park that fills (showChanges, ld+json), a throttled waste container, a
// periodic report of failed streetlights (timeInterval), deletions
// (entityDeleted) and a tenant that sees only its own changes. Each
// receiver must get exactly the notifications the subscriptions ask for.
func TestSmartCityNotifications(t *testing.T) {
	ts := startServer(t, testConfig(t))
	school := geo.Pos{Lon: 71.43, Lat: 51.13}
	air, parking, waste, lights, deleted, other := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)

	// PM2.5 above 35 within 500 m of the school (clause 5.2.12: q and geoQ
	// on the entity after the change; only changes of pm25 count).
	ts.do("POST", "/ngsi-ld/v1/subscriptions", "", fmt.Sprintf(`{"id":"urn:ngsi-ld:Subscription:school-air","type":"Subscription",
		"entities":[{"type":"AirQualityObserved"}],"watchedAttributes":["pm25"],"q":"pm25>35",
		"geoQ":{"geometry":"Point","coordinates":[%g,%g],"georel":"near;maxDistance==500"},
		"notification":{"attributes":["pm25"],"format":"keyValues","endpoint":{"uri":"%s/air","accept":"application/json"}}}`, school.Lon, school.Lat, air.srv.URL), 201)
	ts.do("POST", "/ngsi-ld/v1/subscriptions", "", `{"id":"urn:ngsi-ld:Subscription:parking-full","type":"Subscription",
		"entities":[{"type":"OffStreetParking"}],"q":"availableSpotNumber==0","notificationTrigger":["attributeUpdated"],
		"notification":{"attributes":["availableSpotNumber"],"showChanges":true,"endpoint":{"uri":"`+parking.srv.URL+`","accept":"application/ld+json"}}}`, 201)
	ts.do("POST", "/ngsi-ld/v1/subscriptions", "", `{"id":"urn:ngsi-ld:Subscription:waste","type":"Subscription",
		"entities":[{"type":"WasteContainer"}],"q":"fillingLevel>=0.9","throttling":3,
		"notification":{"format":"keyValues","endpoint":{"uri":"`+waste.srv.URL+`"}}}`, 201)
	ts.do("POST", "/ngsi-ld/v1/subscriptions", "", `{"id":"urn:ngsi-ld:Subscription:lights","type":"Subscription",
		"entities":[{"type":"Streetlight"}],"q":"powerState==\"failed\"","timeInterval":1,
		"notification":{"format":"keyValues","attributes":["powerState"],"endpoint":{"uri":"`+lights.srv.URL+`"}}}`, 201)
	ts.do("POST", "/ngsi-ld/v1/subscriptions", "", `{"id":"urn:ngsi-ld:Subscription:gone","type":"Subscription",
		"entities":[{"type":"Streetlight"}],"notificationTrigger":["entityDeleted"],
		"notification":{"endpoint":{"uri":"`+deleted.srv.URL+`"}}}`, 201)
	ts.do("POST", "/ngsi-ld/v1/subscriptions", "tenant2", `{"id":"urn:ngsi-ld:Subscription:school-air","type":"Subscription",
		"entities":[{"type":"AirQualityObserved"}],"notification":{"format":"keyValues","endpoint":{"uri":"`+other.srv.URL+`"}}}`, 201)

	// Sensors: at 200 m, 490 m and 510 m east of the school (the sphere
	// decides: 490 m is inside, 510 m outside), and one 2 km away.
	ts.do("POST", "/ngsi-ld/v1/entities", "", airSensor("near", offsetEast(school, 200), 20), 201)
	ts.do("POST", "/ngsi-ld/v1/entities", "", airSensor("edge-in", offsetEast(school, 490), 20), 201)
	ts.do("POST", "/ngsi-ld/v1/entities", "", airSensor("edge-out", offsetEast(school, 510), 20), 201)
	ts.do("POST", "/ngsi-ld/v1/entities", "", airSensor("far", offsetEast(school, 2000), 90), 201)
	setPM(ts, "near", 40)     // notified
	setPM(ts, "edge-in", 60)  // notified
	setPM(ts, "edge-out", 60) // outside
	setPM(ts, "far", 95)      // outside
	ts.do("POST", "/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:near/attrs", "",
		`{"temperature":{"type":"Property","value":3}}`, 204) // not a watched attribute
	setPM(ts, "near", 50) // notified
	setPM(ts, "near", 10) // below the threshold

	// The car park fills, then frees a spot, then fills again.
	ts.do("POST", "/ngsi-ld/v1/entities", "", `{"id":"urn:ngsi-ld:OffStreetParking:central","type":"OffStreetParking","availableSpotNumber":{"type":"Property","value":2}}`, 201)
	for _, n := range []int{1, 0, 1, 0} {
		ts.do("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:OffStreetParking:central/attrs", "", fmt.Sprintf(`{"availableSpotNumber":{"type":"Property","value":%d}}`, n), 204)
	}

	// The waste container reports full three times within the throttling
	// window: one notification.
	wasteStart := time.Now()
	ts.do("POST", "/ngsi-ld/v1/entities", "", `{"id":"urn:ngsi-ld:WasteContainer:w1","type":"WasteContainer","fillingLevel":{"type":"Property","value":0.95}}`, 201)
	for _, f := range []float64{0.96, 0.97} {
		ts.do("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:WasteContainer:w1/attrs", "", fmt.Sprintf(`{"fillingLevel":{"type":"Property","value":%g}}`, f), 204)
	}

	// A tenant's own sensor.
	ts.do("POST", "/ngsi-ld/v1/entities", "tenant2", airSensor("t2", school, 5), 201)

	ts.settle(air, parking, waste, deleted, other)

	// Delivery to one endpoint runs several attempts at once, so the
	// notifications may arrive in any order: compare them as a set.
	var got []string
	for _, d := range air.data() {
		if d["temperature"] != nil || d["type"] != "AirQualityObserved" || len(d) != 3 {
			t.Errorf("air notification %v: want id, type and pm25 only (keyValues, attributes)", d)
		}
		got = append(got, fmt.Sprintf("%v=%v", d["id"], d["pm25"]))
	}
	slices.Sort(got)
	if want := []string{"urn:ngsi-ld:AirQualityObserved:edge-in=60", "urn:ngsi-ld:AirQualityObserved:near=40", "urn:ngsi-ld:AirQualityObserved:near=50"}; !slices.Equal(got, want) {
		t.Errorf("school air notifications %v, want %v", got, want)
	}
	for _, n := range air.all() {
		b := n.body
		if b["type"] != "Notification" || b["subscriptionId"] != "urn:ngsi-ld:Subscription:school-air" || !strings.HasPrefix(fmt.Sprint(b["id"]), "urn:ngsi-ld:Notification:") || b["notifiedAt"] == nil {
			t.Errorf("not a Notification (clause 5.3.1): %v", b)
		}
		if ct := n.header.Get("Content-Type"); ct != "application/json" || !strings.Contains(n.header.Get("Link"), "json-ld#context") || b["@context"] != nil {
			t.Errorf("application/json notification: Content-Type %q, Link %q, @context %v", ct, n.header.Get("Link"), b["@context"])
		}
	}

	pd := parking.data()
	if len(pd) != 2 {
		t.Fatalf("car park notifications: %v, want the two times it filled", pd)
	}
	for _, d := range pd {
		spots, _ := d["availableSpotNumber"].(map[string]any)
		if spots["value"] != 0.0 || spots["previousValue"] != 1.0 {
			t.Errorf("car park full: %v, want value 0 with previousValue 1 (showChanges)", d)
		}
	}
	for _, n := range parking.all() {
		if n.header.Get("Content-Type") != "application/ld+json" || n.body["@context"] == nil || n.header.Get("Link") != "" {
			t.Errorf("application/ld+json notification: Content-Type %q, @context %v, Link %q", n.header.Get("Content-Type"), n.body["@context"], n.header.Get("Link"))
		}
	}

	if wd := waste.data(); len(wd) != 1 || wd[0]["fillingLevel"] != 0.95 {
		t.Errorf("waste notifications within the throttling window: %v, want only the first", wd)
	}
	time.Sleep(time.Until(wasteStart.Add(3200 * time.Millisecond))) // past the window: notified again
	ts.do("PATCH", "/ngsi-ld/v1/entities/urn:ngsi-ld:WasteContainer:w1/attrs", "", `{"fillingLevel":{"type":"Property","value":0.99}}`, 204)

	// Streetlights: two work, one fails; the periodic report lists the
	// failed one each second. Then it is deleted.
	for i, st := range []string{"on", "failed", "on"} {
		ts.do("POST", "/ngsi-ld/v1/entities", "", fmt.Sprintf(`{"id":"urn:ngsi-ld:Streetlight:%d","type":"Streetlight","powerState":{"type":"Property","value":%q}}`, i, st), 201)
	}
	time.Sleep(3 * time.Second)
	ts.do("DELETE", "/ngsi-ld/v1/entities/urn:ngsi-ld:Streetlight:1", "", "", 204)
	ts.settle(waste, deleted)

	if wd := waste.data(); len(wd) != 2 || wd[1]["fillingLevel"] != 0.99 {
		t.Errorf("waste notifications: %v, want a second one after the window", wd)
	}
	reports := lights.all()
	if len(reports) < 2 {
		t.Errorf("periodic streetlight reports: %d in 3 s, want at least 2 (timeInterval 1)", len(reports))
	}
	for _, n := range reports {
		d := n.body["data"].([]any)
		if len(d) != 1 || d[0].(map[string]any)["id"] != "urn:ngsi-ld:Streetlight:1" || d[0].(map[string]any)["powerState"] != "failed" {
			t.Errorf("periodic report: %v, want exactly the failed streetlight", d)
		}
	}
	dd := deleted.data()
	if len(dd) != 1 || dd[0]["id"] != "urn:ngsi-ld:Streetlight:1" || dd[0]["deletedAt"] == nil {
		t.Errorf("entityDeleted notifications: %v, want Streetlight:1 with deletedAt", dd)
	}
	if len(dd) == 1 && len(dd[0]) != 3 {
		t.Errorf("a deleted entity is notified as id, type and deletedAt (ETSI TP 046_21): %v", dd[0])
	}

	od := other.all()
	if len(od) != 1 || od[0].header.Get("NGSILD-Tenant") != "tenant2" || ids(other.data())[0] != "urn:ngsi-ld:AirQualityObserved:t2" {
		t.Errorf("tenant2 notifications: %v, want only its own sensor, with NGSILD-Tenant", od)
	}

	// The status counts what was delivered (clause 5.2.14).
	// The status follows the delivery attempts (asynchronously).
	var n map[string]any
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var sub map[string]any
		json.Unmarshal(ts.do("GET", "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:school-air", "", "", 200), &sub)
		n = sub["notification"].(map[string]any)
		if n["timesSent"] == 3.0 || time.Now().After(deadline) {
			break
		}
	}
	if n["timesSent"] != 3.0 || n["status"] != "ok" || n["lastSuccess"] == nil || n["lastNotification"] == nil {
		t.Errorf("status after three deliveries: %v", n)
	}
}

// TestSubscriptionsSurviveRestart: subscriptions and their status counters
// are in the data directory (clause 5.8: a subscription lasts until deleted
// or expired), tenants apart, and notify again after a restart.
func TestSubscriptionsSurviveRestart(t *testing.T) {
	cfg := testConfig(t)
	r := newReceiver(t)
	ts := startServer(t, cfg)
	for _, tenant := range []string{"", "t2"} {
		ts.do("POST", "/ngsi-ld/v1/subscriptions", tenant, `{"id":"urn:ngsi-ld:Subscription:lamp","type":"Subscription",
			"entities":[{"type":"Streetlight"}],"q":"powerState==\"off\"",
			"notification":{"format":"keyValues","endpoint":{"uri":"`+r.srv.URL+`"}}}`, 201)
	}
	ts.do("PATCH", "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:lamp", "t2", `{"q":"powerState==\"on\""}`, 204)
	ts.do("POST", "/ngsi-ld/v1/entities", "", `{"id":"urn:ngsi-ld:Streetlight:1","type":"Streetlight","powerState":{"type":"Property","value":"off"}}`, 201)
	ts.settle(r)
	ts.stop()
	if n := len(r.all()); n != 1 {
		t.Fatalf("before the restart: %d notifications, want 1", n)
	}

	cfg.Listen = "127.0.0.1:0"
	ts = startServer(t, cfg)
	var sub map[string]any
	json.Unmarshal(ts.do("GET", "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:lamp", "", "", 200), &sub)
	if sub["q"] != `powerState=="off"` || sub["notification"].(map[string]any)["timesSent"] != 1.0 {
		t.Errorf("after the restart: %v", sub)
	}
	json.Unmarshal(ts.do("GET", "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:lamp", "t2", "", 200), &sub)
	if sub["q"] != `powerState=="on"` {
		t.Errorf("tenant t2's subscription after the restart: %v", sub)
	}
	ts.do("POST", "/ngsi-ld/v1/entities", "", `{"id":"urn:ngsi-ld:Streetlight:2","type":"Streetlight","powerState":{"type":"Property","value":"off"}}`, 201)
	ts.settle(r)
	if got := ids(r.data()); !slices.Equal(got, []string{"urn:ngsi-ld:Streetlight:1", "urn:ngsi-ld:Streetlight:2"}) {
		t.Errorf("notifications across the restart: %v (none lost, none repeated)", got)
	}
	ts.do("DELETE", "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:lamp", "", "", 204)
	ts.stop()
	cfg.Listen = "127.0.0.1:0"
	ts = startServer(t, cfg)
	ts.do("GET", "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:lamp", "", "", 404)
	ts.do("GET", "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:lamp", "t2", "", 200)
}

// TestPeriodicAcrossRestart: a periodic subscription (timeInterval, clause
// 5.8.1) keeps its rhythm across a restart: the server does not notify at
// once on start when the last notification was less than an interval ago.
func TestPeriodicAcrossRestart(t *testing.T) {
	cfg := testConfig(t)
	r := newReceiver(t)
	ts := startServer(t, cfg)
	ts.do("POST", "/ngsi-ld/v1/entities", "", `{"id":"urn:ngsi-ld:Streetlight:1","type":"Streetlight","powerState":{"type":"Property","value":"off"}}`, 201)
	ts.do("POST", "/ngsi-ld/v1/subscriptions", "", `{"id":"urn:ngsi-ld:Subscription:report","type":"Subscription",
		"entities":[{"type":"Streetlight"}],"timeInterval":3600,
		"notification":{"format":"keyValues","endpoint":{"uri":"`+r.srv.URL+`"}}}`, 201)
	deadline := time.Now().Add(10 * time.Second)
	for len(r.all()) < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(r.all()); n != 1 {
		t.Fatalf("first periodic notification: %d, want 1", n)
	}
	ts.settle(r)
	ts.stop()

	cfg.Listen = "127.0.0.1:0"
	ts = startServer(t, cfg)
	time.Sleep(1500 * time.Millisecond) // several periodic ticks (200 ms)
	if n := len(r.all()); n != 1 {
		t.Errorf("after a restart within the hour: %d notifications, want still 1", n)
	}
	// Changing the interval keeps the reference point: 1 s after the last
	// notification is long past, so the next one is due at once.
	ts.do("PATCH", "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:report", "", `{"timeInterval":1}`, 204)
	deadline = time.Now().Add(10 * time.Second)
	for len(r.all()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(r.all()); n < 2 {
		t.Errorf("after timeInterval 1: %d notifications, want a second one", n)
	}
}

// TestNotificationRepresentations: the notification's data follows the
// subscription's format, lang, pick and endpoint.accept (clause 5.3.1,
// 5.2.14): GeoJSON as a FeatureCollection, concise, a language picked.
func TestNotificationRepresentations(t *testing.T) {
	ts := startServer(t, testConfig(t))
	geoR, conciseR := newReceiver(t), newReceiver(t)
	ts.do("POST", "/ngsi-ld/v1/subscriptions", "", `{"type":"Subscription","entities":[{"type":"Park"}],
		"notification":{"format":"keyValues","endpoint":{"uri":"`+geoR.srv.URL+`","accept":"application/geo+json"}}}`, 201)
	ts.do("POST", "/ngsi-ld/v1/subscriptions", "", `{"type":"Subscription","entities":[{"type":"Park"}],"lang":"fr",
		"notification":{"format":"concise","pick":["id","name"],"endpoint":{"uri":"`+conciseR.srv.URL+`"}}}`, 201)
	ts.do("POST", "/ngsi-ld/v1/entities", "", `{"id":"urn:ngsi-ld:Park:1","type":"Park",
		"name":{"type":"LanguageProperty","languageMap":{"fr":"Parc central","en":"Central park"}},
		"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[71.4,51.1]}}}`, 201)
	ts.settle(geoR, conciseR)

	g := geoR.all()
	if len(g) != 1 {
		t.Fatalf("GeoJSON notifications: %d", len(g))
	}
	fc, _ := g[0].body["data"].(map[string]any)
	feats, _ := fc["features"].([]any)
	if fc["type"] != "FeatureCollection" || len(feats) != 1 || g[0].header.Get("Content-Type") != "application/geo+json" {
		t.Errorf("GeoJSON notification data: %v (%s)", g[0].body, g[0].header.Get("Content-Type"))
	} else if f := feats[0].(map[string]any); f["id"] != "urn:ngsi-ld:Park:1" || f["geometry"].(map[string]any)["type"] != "Point" {
		t.Errorf("feature: %v", f)
	}
	c := conciseR.data()
	if len(c) != 1 || len(c[0]) != 2 || c[0]["id"] != "urn:ngsi-ld:Park:1" {
		t.Fatalf("concise notification with pick id,name: %v", c)
	}
	if name, _ := c[0]["name"].(map[string]any); name["value"] != "Parc central" || name["lang"] != "fr" {
		t.Errorf("name with lang=fr: %v", c[0]["name"])
	}
}

// TestNotificationJoin: join=flat adds the linked entities to the data,
// join=inline puts each under its relationship (clause 4.5.23, 5.2.14).
func TestNotificationJoin(t *testing.T) {
	ts := startServer(t, testConfig(t))
	flat, inline := newReceiver(t), newReceiver(t)
	ts.do("POST", "/ngsi-ld/v1/entities", "", `{"id":"urn:ngsi-ld:City:Astana","type":"City","name":{"type":"Property","value":"Astana"}}`, 201)
	ts.do("POST", "/ngsi-ld/v1/subscriptions", "", `{"type":"Subscription","entities":[{"type":"Building"}],
		"notification":{"format":"keyValues","join":"flat","endpoint":{"uri":"`+flat.srv.URL+`"}}}`, 201)
	ts.do("POST", "/ngsi-ld/v1/subscriptions", "", `{"type":"Subscription","entities":[{"type":"Building"}],
		"notification":{"join":"inline","endpoint":{"uri":"`+inline.srv.URL+`"}}}`, 201)
	ts.do("POST", "/ngsi-ld/v1/entities", "", `{"id":"urn:ngsi-ld:Building:b1","type":"Building",
		"locatedAt":{"type":"Relationship","object":"urn:ngsi-ld:City:Astana"}}`, 201)
	ts.settle(flat, inline)
	if got := ids(flat.data()); !slices.Equal(got, []string{"urn:ngsi-ld:Building:b1", "urn:ngsi-ld:City:Astana"}) {
		t.Errorf("join=flat data: %v", flat.data())
	}
	d := inline.data()
	if len(d) != 1 {
		t.Fatalf("join=inline data: %v", d)
	}
	rel, _ := d[0]["locatedAt"].(map[string]any)
	if linked, _ := rel["entity"].(map[string]any); linked["id"] != "urn:ngsi-ld:City:Astana" || rel["object"] != "urn:ngsi-ld:City:Astana" {
		t.Errorf("join=inline relationship: %v", rel)
	}
}

// TestDeadEndpointIsolation: a subscription whose endpoint hangs, and one
// whose endpoint refuses connections, do not hold up the notifications of
// a healthy one, nor the writes.
func TestDeadEndpointIsolation(t *testing.T) {
	ts := startServer(t, testConfig(t))
	healthy := newReceiver(t)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	refused := freePort(t) // nothing listens there
	for i, uri := range []string{hang.URL, "http://" + refused, healthy.srv.URL} {
		ts.do("POST", "/ngsi-ld/v1/subscriptions", "", fmt.Sprintf(`{"id":"urn:ngsi-ld:Subscription:%d","type":"Subscription",
			"entities":[{"type":"Streetlight"}],"notification":{"format":"keyValues","endpoint":{"uri":"%s"}}}`, i, uri), 201)
	}
	const n = 200
	start := time.Now()
	for i := range n {
		ts.do("POST", "/ngsi-ld/v1/entities", "", fmt.Sprintf(`{"id":"urn:ngsi-ld:Streetlight:%d","type":"Streetlight","powerState":{"type":"Property","value":"on"}}`, i), 201)
	}
	writes := time.Since(start)
	deadline := time.Now().Add(10 * time.Second)
	for len(healthy.all()) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := len(healthy.all()); got != n {
		t.Fatalf("healthy endpoint got %d of %d notifications next to a hanging and a refusing one", got, n)
	}
	t.Logf("%d writes in %v; the healthy endpoint had all %d notifications %v after the first write", n, writes.Round(time.Millisecond), n, time.Since(start).Round(time.Millisecond))

	// The subscription whose endpoint refuses reads status "failed" (its
	// last attempt failed, clause 5.2.12 and notification.status of
	// 5.2.14); the healthy one stays "active".
	statuses := func(id string) (sub, notif string) {
		var v struct {
			Status       string `json:"status"`
			Notification struct {
				Status string `json:"status"`
			} `json:"notification"`
		}
		if err := json.Unmarshal(ts.do("GET", "/ngsi-ld/v1/subscriptions/"+id, "", "", 200), &v); err != nil {
			t.Fatal(err)
		}
		return v.Status, v.Notification.Status
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		sub, notif := statuses("urn:ngsi-ld:Subscription:1")
		if sub == "failed" && notif == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refused endpoint: status %q, notification.status %q; want failed, failed", sub, notif)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sub, notif := statuses("urn:ngsi-ld:Subscription:2"); sub != "active" || notif != "ok" {
		t.Errorf("healthy endpoint: status %q, notification.status %q; want active, ok", sub, notif)
	}
}

// TestLinkedEntityQ: q may follow a relationship to the entity it points
// at (clause 4.9 of v1.9, "rel{attr}"): the vehicle connected to the
// low-battery device notifies, the other does not.
func TestLinkedEntityQ(t *testing.T) {
	ts := startServer(t, testConfig(t))
	r := newReceiver(t)
	ts.do("POST", "/ngsi-ld/v1/entities", "", `{"id":"urn:ngsi-ld:Device:low","type":"Device","batteryLevel":{"type":"Property","value":0.3}}`, 201)
	ts.do("POST", "/ngsi-ld/v1/entities", "", `{"id":"urn:ngsi-ld:Device:full","type":"Device","batteryLevel":{"type":"Property","value":0.95}}`, 201)
	ts.do("POST", "/ngsi-ld/v1/subscriptions", "", `{"type":"Subscription","entities":[{"type":"Vehicle"}],"q":"isConnectedTo{batteryLevel}<0.5",
		"notification":{"format":"keyValues","endpoint":{"uri":"`+r.srv.URL+`"}}}`, 201)
	for _, d := range []string{"full", "low"} {
		ts.do("POST", "/ngsi-ld/v1/entities", "", `{"id":"urn:ngsi-ld:Vehicle:`+d+`","type":"Vehicle","isConnectedTo":{"type":"Relationship","object":"urn:ngsi-ld:Device:`+d+`"}}`, 201)
	}
	ts.settle(r)
	if got := ids(r.data()); !slices.Equal(got, []string{"urn:ngsi-ld:Vehicle:low"}) {
		t.Errorf("notified for %v, want only the vehicle on the low-battery device", got)
	}
}
