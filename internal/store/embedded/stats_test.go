package embedded

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/store"
)

// BenchmarkTypes measures Types and Attributes over 100k entities of
// benchTypes: their cost must not depend on the number of entities.
func BenchmarkTypes(b *testing.B) {
	s := benchStore(b, 100_000)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Types(ctx, store.DefaultTenant); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Attributes(ctx, store.DefaultTenant); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStats1M loads a million entities of benchTypes, checks and times Types
// and Attributes (the answers behind /types?details=true and /attributes),
// then again after a restart, which rebuilds the statistics in the index
// scan. Set QALA_BENCH_1M=1 (or a number of entities) to run.
func TestStats1M(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("QALA_BENCH_1M"))
	if n == 0 {
		t.Skip("set QALA_BENCH_1M=1 (or a number of entities) to run")
	}
	if n == 1 {
		n = 1_000_000
	}
	dir := t.TempDir()
	s := openTest(t, dir, true)
	start := time.Now()
	loadStore(t, s, n)
	t.Logf("loaded %d entities in %v", n, time.Since(start).Round(time.Millisecond))
	check := func(when string) {
		ctx := context.Background()
		start := time.Now()
		types, err := s.Types(ctx, store.DefaultTenant)
		tt := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		attrs, err := s.Attributes(ctx, store.DefaultTenant)
		ta := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: Types %v (%d types), Attributes %v (%d attributes)", when, tt, len(types), ta, len(attrs))
		if len(types) != len(benchTypes) {
			t.Errorf("%s: %d types, want %d", when, len(types), len(benchTypes))
		}
		total := 0
		for _, ts := range types {
			total += ts.Entities
		}
		if total != n {
			t.Errorf("%s: types count %d entities, want %d", when, total, n)
		}
		for _, a := range attrs {
			if a.Entities != n {
				t.Errorf("%s: attribute %s on %d entities, want %d", when, a.Name, a.Entities, n)
			}
		}
		if tt+ta > 50*time.Millisecond {
			t.Errorf("%s: Types+Attributes took %v, want ≤ 50 ms", when, tt+ta)
		}
	}
	check("after load")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	s = openTest(t, dir, true)
	defer s.Close()
	t.Logf("reopened in %v", time.Since(start).Round(time.Millisecond))
	check("after reopen")
}
