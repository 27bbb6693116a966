package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/qala-city/qala/internal/api"
	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
	"github.com/qala-city/qala/internal/store/embedded"
)

// TestPurgeBatchesAndEvents purges more entities than one store Write takes
// and checks that every deleted entity (and every entity whose attributes
// were dropped) emitted exactly one change event, in groups of at most 1,000.
func TestPurgeBatchesAndEvents(t *testing.T) {
	dir := t.TempDir()
	st, err := embedded.Open(embedded.Options{Dir: dir + "/store", NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	res, err := jsonld.New(jsonld.Config{Dir: dir + "/contexts", BaseURL: "http://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = api.New(api.Config{MaxBody: 1 << 20, MaxBatch: 100, MaxLimit: 100}, st, res, nil, nil)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})

	const vocab = "https://uri.etsi.org/ngsi-ld/default-context/"
	const nLamp, nBin = 2500, 1200
	var changes []store.Change
	add := func(id, typ string) {
		e := &ngsild.Entity{ID: id, Types: []string{vocab + typ}, Attrs: map[string][]*ngsild.Attr{
			vocab + "level": {{Type: ngsild.Property, Value: 1.0}},
			vocab + "name":  {{Type: ngsild.Property, Value: id}},
		}}
		changes = append(changes, store.Change{ID: id, Op: store.OpCreate,
			Apply: func(*ngsild.Entity) (*ngsild.Entity, []string, error) { return e, nil, nil }})
	}
	for i := range nLamp {
		add(fmt.Sprintf("urn:ngsi-ld:Lamp:%05d", i), "Lamp")
	}
	for i := range nBin {
		add(fmt.Sprintf("urn:ngsi-ld:Bin:%05d", i), "Bin")
	}
	if _, err := st.Write(context.Background(), store.DefaultTenant, changes); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var groups [][]store.Event
	cancel := st.Subscribe(func(evs []store.Event) {
		mu.Lock()
		groups = append(groups, evs)
		mu.Unlock()
	})
	defer cancel()
	take := func() [][]store.Event {
		mu.Lock()
		defer mu.Unlock()
		g := groups
		groups = nil
		return g
	}
	check := func(what string, op store.Operation, want int) {
		t.Helper()
		n := 0
		for _, g := range take() {
			if len(g) > 1000 {
				t.Errorf("%s: a group of %d events, want at most 1000", what, len(g))
			}
			for _, ev := range g {
				n++
				if ev.Op != op {
					t.Errorf("%s: event %s for %s, want %s", what, ev.Op, ev.Before.ID, op)
				}
			}
		}
		if n != want {
			t.Errorf("%s: %d events, want %d", what, n, want)
		}
	}

	resp, body := do(t, http.MethodDelete, srv.URL+"/ngsi-ld/v1/entities?type=Lamp", "", "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("purge Lamp: %d %s", resp.StatusCode, body)
	}
	check("purge Lamp", store.OpDelete, nLamp)

	resp, body = do(t, http.MethodDelete, srv.URL+"/ngsi-ld/v1/entities?type=Bin&keep=name", "", "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("purge Bin keep=name: %d %s", resp.StatusCode, body)
	}
	check("purge Bin keep=name", store.OpDeleteAttrs, nBin)

	// Purging again changes nothing and emits nothing.
	resp, _ = do(t, http.MethodDelete, srv.URL+"/ngsi-ld/v1/entities?type=Bin&keep=name", "", "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("purge Bin again: %d", resp.StatusCode)
	}
	check("purge Bin again", store.OpDeleteAttrs, 0)

	types, err := st.Types(context.Background(), store.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	if len(types) != 1 || types[0].Type != vocab+"Bin" || types[0].Entities != nBin ||
		len(types[0].Attrs) != 1 || types[0].Attrs[0].Name != vocab+"name" {
		t.Errorf("types after purge: %+v", types)
	}
}
