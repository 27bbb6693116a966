package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

const sdm = "https://smartdatamodels.org/dataModel.Environment/"

var benchTypes = []string{sdm + "AirQualityObserved", sdm + "WeatherObserved", sdm + "Streetlight",
	sdm + "ParkingSpot", sdm + "WasteContainer", sdm + "TrafficFlowObserved", sdm + "NoiseLevelObserved",
	sdm + "Device", sdm + "Building", sdm + "Vehicle"}

// sampleEntity returns a synthetic city entity of about 1.4 KB as JSON of the
// model (expanded IRIs, system timestamps on every attribute; ~1 KB compacted): the
// attribute kinds, metadata and value sizes of a typical sensor observation.
func sampleEntity(i int) *ngsild.Entity {
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	typ := benchTypes[i%len(benchTypes)]
	name := typ[strings.LastIndexByte(typ, '/')+1:]
	obs := func(v any, unit string) []*ngsild.Attr {
		return []*ngsild.Attr{{Type: ngsild.Property, Value: v, UnitCode: unit, ObservedAt: now, CreatedAt: now, ModifiedAt: now}}
	}
	lon := 71.3 + float64(i%1000)*0.0003
	lat := 51.1 + float64(i/1000%1000)*0.0002
	return &ngsild.Entity{
		ID:         fmt.Sprintf("urn:ngsi-ld:%s:astana-%07d", name, i),
		Types:      []string{typ},
		CreatedAt:  now,
		ModifiedAt: now,
		Attrs: map[string][]*ngsild.Attr{
			sdm + "temperature":      obs(float64(i%400)/10-5, "CEL"),
			sdm + "relativeHumidity": obs(float64(i%100)/100, "P1"),
			sdm + "NO2":              obs(float64(i%90)+0.5, "GQ"),
			sdm + "name":             {{Type: ngsild.Property, Value: fmt.Sprintf("%s station %d", name, i)}},
			sdm + "status":           {{Type: ngsild.VocabProperty, Value: sdm + "working"}},
			ngsild.IRILocation:       {{Type: ngsild.GeoProperty, Value: map[string]any{"type": "Point", "coordinates": []any{lon, lat}}}},
			sdm + "refDevice": {{Type: ngsild.Relationship, Object: fmt.Sprintf("urn:ngsi-ld:Device:dev-%07d", i),
				ObjectType: sdm + "Device"}},
			sdm + "address": {{Type: ngsild.Property, Value: map[string]any{
				"streetAddress": fmt.Sprintf("Kabanbay Batyr Ave %d", i%300), "addressLocality": "Astana", "addressCountry": "KZ"}}},
		},
	}
}

func TestSampleEntitySize(t *testing.T) {
	e := sampleEntity(123456)
	j, _ := json.Marshal(e)
	enc := encoder{syms: newSymbols()}
	b, err := enc.encode(e)
	if err != nil {
		t.Fatal(err)
	}
	if len(j) < 900 || len(j) > 1600 {
		t.Errorf("sample entity is %d bytes of JSON, want 1-1.5 KB", len(j))
	}
	t.Logf("sample entity: %d bytes JSON, %d bytes encoded", len(j), len(b))
}

func loadStore(b testing.TB, s *Store, n int) {
	b.Helper()
	for i := 0; i < n; i += 1000 {
		var changes []store.Change
		for k := i; k < min(i+1000, n); k++ {
			changes = append(changes, putChange(sampleEntity(k)))
		}
		if _, err := s.Write(context.Background(), store.DefaultTenant, changes); err != nil {
			b.Fatal(err)
		}
	}
}

func putChange(e *ngsild.Entity) store.Change {
	return store.Change{ID: e.ID, Op: store.OpReplace, Apply: func(*ngsild.Entity) (*ngsild.Entity, []string, error) {
		return e, nil, nil
	}}
}

// BenchmarkWriteSingle measures durable single-entity writes from 64
// concurrent writers sharing fsyncs.
func BenchmarkWriteSingle(b *testing.B) {
	b.Run("group-commit", func(b *testing.B) { benchWriteSingle(b, false) })
	b.Run("serial-sync", func(b *testing.B) { benchWriteSingle(b, true) })
}

func benchWriteSingle(b *testing.B, serialSync bool) {
	s := openTest(b, b.TempDir(), false)
	s.serialSync = serialSync
	defer s.Close()
	ents := make([]*ngsild.Entity, 4096)
	for i := range ents {
		ents[i] = sampleEntity(i)
	}
	var n atomic.Int64
	b.SetParallelism(64 / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			e := ents[i%int64(len(ents))].Clone()
			e.ID = "urn:ngsi-ld:W:" + strconv.FormatInt(i, 10)
			if _, err := s.Write(context.Background(), store.DefaultTenant, []store.Change{putChange(e)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkWriteBatch1000 measures durable writes of 1,000 entities per Write.
func BenchmarkWriteBatch1000(b *testing.B) {
	s := openTest(b, b.TempDir(), false)
	defer s.Close()
	ents := make([]*ngsild.Entity, 1000)
	for i := range ents {
		ents[i] = sampleEntity(i)
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		b.StopTimer() // building the entities is the caller's work
		changes := make([]store.Change, len(ents))
		for i, e := range ents {
			e = e.Clone()
			e.ID = fmt.Sprintf("urn:ngsi-ld:B:%d-%d", n, i)
			changes[i] = putChange(e)
		}
		b.StartTimer()
		if _, err := s.Write(context.Background(), store.DefaultTenant, changes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "entities/s")
}

func benchStore(b *testing.B, n int) *Store {
	s := openTest(b, b.TempDir(), true)
	b.Cleanup(func() { s.Close() })
	loadStore(b, s, n)
	return s
}

// BenchmarkGet measures parallel reads by id of 100k entities.
func BenchmarkGet(b *testing.B) {
	const n = 100_000
	s := benchStore(b, n)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = sampleEntity(i).ID
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), 1))
		for pb.Next() {
			if _, err := s.Get(context.Background(), store.DefaultTenant, ids[r.IntN(n)]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
}

// BenchmarkQueryType measures a type query with limit 20 and a count over
// 100k entities of 10 types.
func BenchmarkQueryType(b *testing.B) {
	s := benchStore(b, 100_000)
	for _, count := range []bool{false, true} {
		b.Run(fmt.Sprintf("count=%v", count), func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					q := store.Query{Types: []string{benchTypes[i%len(benchTypes)]}, Offset: i % 100, Limit: 20, Count: count}
					res, err := s.Query(context.Background(), store.DefaultTenant, q)
					if err != nil || len(res.Entities) != 20 {
						b.Errorf("query: %d entities, %v", len(res.Entities), err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}

// BenchmarkQueryFilter runs a Filter over every entity of one type (10k of
// 100k) with a count, the worst case of an unindexed q.
func BenchmarkQueryFilter(b *testing.B) {
	s := benchStore(b, 100_000)
	f := func(e *ngsild.Entity) bool {
		a := e.Instance(sdm+"temperature", "")
		v, _ := a.Value.(float64)
		return v > 30
	}
	for _, attrs := range [][]string{nil, {sdm + "temperature"}} {
		b.Run(fmt.Sprintf("filterAttrs=%d", len(attrs)), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				q := store.Query{Types: []string{benchTypes[0]}, Limit: 20, Count: true, Filter: f, FilterAttrs: attrs}
				res, err := s.Query(context.Background(), store.DefaultTenant, q)
				if err != nil || res.Count != 1000 {
					b.Fatalf("count %d, %v", res.Count, err)
				}
			}
			b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "candidates/s")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	syms := newSymbols()
	enc := encoder{syms: syms}
	data, err := enc.encode(sampleEntity(42))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := decodeEntity(syms, "urn:x", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	enc := encoder{syms: newSymbols()}
	e := sampleEntity(42)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := enc.encode(e); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMemory1M loads 1 million ~1 KB entities, reports heap and RSS, then
// reopens the store and reports the restart time. Set QALA_TEST_MEM1M=1
// (takes a minute or two and ~1 GiB of disk).
func TestMemory1M(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("QALA_TEST_MEM1M"))
	if n == 0 {
		t.Skip("set QALA_TEST_MEM1M=1 (or a number of entities) to run")
	}
	if n == 1 {
		n = 1_000_000
	}
	dir := t.TempDir()
	s := openTest(t, dir, true)
	start := time.Now()
	loadStore(t, s, n)
	t.Logf("loaded %d entities in %v", n, time.Since(start).Round(time.Millisecond))
	reportMemory(t, "after load")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = nil
	runtime.GC()
	start = time.Now()
	s = openTest(t, dir, true)
	defer s.Close()
	t.Logf("reopened (rebuilt indexes of %d entities) in %v", s.Count(context.Background())[store.DefaultTenant],
		time.Since(start).Round(time.Millisecond))
	reportMemory(t, "after reopen")
	res, err := s.Query(context.Background(), store.DefaultTenant, store.Query{Types: []string{benchTypes[3]}, Limit: 20, Count: true})
	if err != nil || res.Count != n/len(benchTypes) {
		t.Errorf("query after reopen: count %d, %v", res.Count, err)
	}
}

func reportMemory(t *testing.T, when string) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := "?"
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				rss = strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:"))
			}
		}
	}
	t.Logf("%s: heap in use %d MiB, heap objects %d, sys %d MiB, RSS %s", when,
		ms.HeapInuse>>20, ms.HeapObjects, ms.Sys>>20, rss)
}
