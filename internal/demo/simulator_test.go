package demo

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// recordingWriter is the tests' own receiver: it records every call and can be told to fail.
type recordingWriter struct {
	mu      sync.Mutex
	upserts [][]map[string]any
	updates [][]map[string]any
	tenants []string
	fail    error
}

func (w *recordingWriter) Upsert(_ context.Context, tenant string, docs []map[string]any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tenants = append(w.tenants, tenant)
	if w.fail != nil {
		return w.fail
	}
	w.upserts = append(w.upserts, docs)
	return nil
}

func (w *recordingWriter) Update(_ context.Context, tenant string, docs []map[string]any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tenants = append(w.tenants, tenant)
	w.updates = append(w.updates, docs)
	return w.fail
}

func TestLoad(t *testing.T) {
	c := newCity(t, 1)
	w := &recordingWriter{}
	n, err := Load(context.Background(), w, "astana", c, testTime)
	if err != nil {
		t.Fatal(err)
	}
	if n != c.Len() {
		t.Errorf("Load wrote %d entities, city has %d", n, c.Len())
	}
	total := 0
	for i, b := range w.upserts {
		if len(b) > BatchSize || (len(b) < BatchSize && i != len(w.upserts)-1) {
			t.Errorf("batch %d has %d documents; want %d except the last", i, len(b), BatchSize)
		}
		total += len(b)
	}
	if total != n {
		t.Errorf("batches hold %d documents, Load reported %d", total, n)
	}
	for _, tn := range w.tenants {
		if tn != "astana" {
			t.Fatalf("tenant %q, want astana", tn)
		}
	}
	// The loaded documents are the city at that instant.
	var all []map[string]any
	for _, b := range w.upserts {
		all = append(all, b...)
	}
	if !bytes.Equal(mustJSON(t, all), mustJSON(t, c.Entities(testTime))) {
		t.Error("loaded documents differ from Entities")
	}

	failing := &recordingWriter{fail: errors.New("disk full")}
	if n, err := Load(context.Background(), failing, "", c, testTime); err == nil || n != 0 {
		t.Errorf("Load on a failing writer = %d, %v; want 0 and an error", n, err)
	}
}

func TestUpdates(t *testing.T) {
	c := newCity(t, 1)
	if u := c.Updates(testTime, testTime); u != nil {
		t.Errorf("Updates over an empty interval = %d documents, want none", len(u))
	}
	full := map[string]map[string]any{}
	for _, e := range c.Entities(testTime) {
		full[e["id"].(string)] = e
	}
	kinds := map[string]int{}
	now := testTime
	for range 12 { // one minute in 5-second ticks
		next := now.Add(DefaultInterval)
		docs := c.Updates(now, next)
		if len(docs) == 0 {
			t.Fatalf("no updates between %v and %v", now, next)
		}
		for _, d := range docs {
			id := d["id"].(string)
			e, ok := full[id]
			if !ok {
				t.Fatalf("update for unknown entity %s", id)
			}
			if d["type"] != e["type"] || d["@context"] == nil {
				t.Errorf("%s: update lacks type or @context: %v", id, d)
			}
			for name := range d {
				if _, ok := e[name]; !ok {
					t.Errorf("%s: update attribute %q is not an attribute of the entity", id, name)
				}
			}
			checkNormalized(t, id, d)
			kinds[d["type"].(string)]++
		}
		now = next
	}
	for _, typ := range []string{"Vehicle", "TrafficFlowObserved", "AirQualityObserved", "WeatherObserved"} {
		if kinds[typ] == 0 {
			t.Errorf("no %s updates in a minute", typ)
		}
	}
	// Every periodic sensor reports once a minute.
	if kinds["TrafficFlowObserved"] != numTraffic || kinds["AirQualityObserved"] != numAirQuality {
		t.Errorf("in one minute: %d traffic and %d air-quality reports, want %d and %d",
			kinds["TrafficFlowObserved"], kinds["AirQualityObserved"], numTraffic, numAirQuality)
	}
	// Deterministic: the same interval gives the same documents.
	a := mustJSON(t, c.Updates(testTime, testTime.Add(time.Minute)))
	b := mustJSON(t, c.Updates(testTime, testTime.Add(time.Minute)))
	if !bytes.Equal(a, b) {
		t.Error("Updates is not deterministic")
	}
}

func TestUpdatesAtSunset(t *testing.T) {
	c := newCity(t, 1)
	_, set := sunTimes(local(2026, 6, 21, 12, 0))
	docs := c.Updates(set.Add(-time.Hour), set.Add(time.Hour))
	on := 0
	for _, d := range docs {
		if d["type"] == "Streetlight" && d["powerState"].(map[string]any)["value"] == "on" {
			on++
		}
	}
	if on < numStreetlights*9/10 {
		t.Errorf("%d streetlights reported switching on around sunset, want nearly all %d", on, numStreetlights)
	}
}

func TestSimulatorRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCity(t, 1)
		w := &recordingWriter{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		s := &Simulator{City: c, Writer: w, Tenant: "city"}
		go func() { done <- s.Run(ctx) }()
		time.Sleep(3*DefaultInterval + time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run returned %v", err)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.upserts) != 0 || len(w.updates) < 3 {
			t.Fatalf("%d upserts and %d update batches after 3 ticks; want 0 and at least 3", len(w.upserts), len(w.updates))
		}
		for _, tn := range w.tenants {
			if tn != "city" {
				t.Fatalf("tenant %q, want city", tn)
			}
		}
	})
}

func TestSimulatorSurvivesWriteErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &recordingWriter{fail: errors.New("entity not found")}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		s := &Simulator{City: newCity(t, 1), Writer: w, Interval: time.Second, Logger: slog.New(slog.DiscardHandler)}
		go func() { done <- s.Run(ctx) }()
		time.Sleep(10*time.Second + time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run returned %v", err)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.updates) < 10 {
			t.Errorf("%d update calls in 10 ticks with a failing writer; want the simulator to carry on", len(w.updates))
		}
	})
}
