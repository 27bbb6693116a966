package embedded

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
	"github.com/qala-city/qala/internal/store/storetest"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openTest(t testing.TB, dir string, noSync bool) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, Logger: quietLogger(), NoSync: noSync, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string) store.Store { return openTest(t, dir, false) })
}

func TestContractNoSync(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storetest.Run(t, func(t *testing.T, dir string) store.Store { return openTest(t, dir, true) })
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := Open(Options{Dir: t.TempDir(), Logger: quietLogger(), Registerer: reg, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Write(ctx, "m", []store.Change{putChange(sampleEntity(1)), putChange(sampleEntity(2))}); err != nil {
		t.Fatal(err)
	}
	_, _ = s.Get(ctx, "m", sampleEntity(1).ID)
	_, _ = s.Get(ctx, "m", "urn:missing")
	_, _ = s.Query(ctx, "m", store.Query{Limit: 1})
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Counter != nil:
				got[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				got[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				got[key] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"qala_store_operations_total,op=write,result=ok":      1,
		"qala_store_operations_total,op=get,result=ok":        1,
		"qala_store_operations_total,op=get,result=not_found": 1,
		"qala_store_operations_total,op=query,result=ok":      1,
		"qala_store_operation_duration_seconds,op=get":        2,
		"qala_store_write_group_size":                         1,
		"qala_store_entities,tenant=m":                        2,
		"qala_store_entities,tenant=":                         0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
}

// TestReadersDuringWrites runs readers against concurrent writers (for the
// race detector) and checks readers only ever see whole entities.
func TestReadersDuringWrites(t *testing.T) {
	s := openTest(t, t.TempDir(), true)
	defer s.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				e := sampleEntity(w*1000 + i%50)
				if _, err := s.Write(ctx, store.DefaultTenant, []store.Change{putChange(e)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var readers sync.WaitGroup
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := s.Query(ctx, store.DefaultTenant, store.Query{Types: benchTypes[:3], Limit: 10, Count: true})
				if err != nil {
					t.Error(err)
					return
				}
				for _, e := range res.Entities {
					if len(e.Attrs) != len(sampleEntity(0).Attrs) {
						t.Errorf("partial entity %s", e.ID)
					}
				}
				if _, err := s.Get(ctx, store.DefaultTenant, sampleEntity(1).ID); err != nil && err != store.ErrNotFound {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
}

func TestCacheNeverStale(t *testing.T) {
	ctx := context.Background()
	s, err := Open(Options{Dir: t.TempDir(), Logger: quietLogger(), NoSync: true, CacheEntries: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 100; i++ {
		e := sampleEntity(i % 20) // 20 ids in a cache of 16: evictions too
		e.Attrs["https://t/n"] = []*ngsild.Attr{{Type: ngsild.Property, Value: float64(i)}}
		if _, err := s.Write(ctx, "c", []store.Change{putChange(e)}); err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 2; k++ {
			got, err := s.Get(ctx, "c", e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v := got.Instance("https://t/n", "").Value; v != float64(i) {
				t.Fatalf("write %d: Get sees %v", i, v)
			}
		}
	}
	a, _ := s.Get(ctx, "c", sampleEntity(19).ID)
	b, _ := s.Get(ctx, "c", sampleEntity(19).ID)
	if a != b {
		t.Error("a hot entity was decoded twice")
	}
}
