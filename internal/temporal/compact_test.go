package temporal

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
)

// blockReads returns the blocks pebble has looked up so far (cache hits
// and misses): what reading a chunk from an sstable costs.
func blockReads(s *Store) int64 {
	m := s.db.Metrics().BlockCache
	return m.Hits + m.Misses
}

// A compaction pass over windows of a few small chunks each, which it does
// not merge, reads nothing: their chunk counts are known from the writes.
// After a restart the counts are read once, then known again.
func TestCompactionPassReadsOnlyWhatItMerges(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: t0.Add(12 * time.Hour)}
	dir := t.TempDir()
	s := openTest(t, dir, c)
	const n = 200
	for w := range 3 {
		for i := range n {
			appendReadings(t, s, fmt.Sprintf("urn:ngsi-ld:Sensor:%d", i), tAttr,
				[]*ngsild.Attr{reading(float64(w), t0.Add(time.Duration(w)*time.Minute))})
		}
	}
	if got := s.PendingCompactions(); got != n {
		t.Fatalf("%d windows pending, want %d", got, n)
	}
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	before := blockReads(s)
	for range 3 {
		if merged, err := s.Compact(ctx, false); err != nil || merged != 0 {
			t.Fatalf("merged %d, %v; want 0", merged, err)
		}
	}
	if got := blockReads(s) - before; got != 0 {
		t.Errorf("passes over %d windows of 3 small chunks read %d blocks, want 0", n, got)
	}
	// What the old passes did for each window counts.
	if _, err := s.windowChunks(1, window(t0.UnixMilli())); err != nil {
		t.Fatal(err)
	}
	if blockReads(s) == before {
		t.Fatal("reading a window's chunks reads no block: the check above cannot fail")
	}
	// The 16th small chunk of a window: that window (only) is merged.
	for w := 3; w < smallBatch; w++ {
		appendReadings(t, s, "urn:ngsi-ld:Sensor:7", tAttr, []*ngsild.Attr{reading(float64(w), t0.Add(time.Duration(w)*time.Minute))})
	}
	if merged, err := s.Compact(ctx, false); err != nil || merged != 1 {
		t.Fatalf("merged %d, %v; want 1", merged, err)
	}
	si := seriesOf(t, s, "urn:ngsi-ld:Sensor:7", tAttr, "")
	if got := readAll(t, s, si, Query{}, 0); len(got.Instances) != smallBatch {
		t.Fatalf("%d instances after the merge, want %d", len(got.Instances), smallBatch)
	}

	// A restart: each last window is read once, then known.
	s.Close()
	s = openTest(t, dir, c)
	if got := s.PendingCompactions(); got != n {
		t.Fatalf("%d windows pending after a restart, want %d", got, n)
	}
	if _, err := s.Compact(ctx, false); err != nil {
		t.Fatal(err)
	}
	if got := s.PendingCompactions(); got != n-1 {
		t.Fatalf("%d windows pending after the first pass, want %d (the merged one holds one chunk)", got, n-1)
	}
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	before = blockReads(s)
	if merged, err := s.Compact(ctx, false); err != nil || merged != 0 {
		t.Fatalf("merged %d, %v; want 0", merged, err)
	}
	if got := blockReads(s) - before; got != 0 {
		t.Errorf("a pass after the restart's read read %d blocks, want 0", got)
	}
	// A write to a window whose counts were learnt keeps them known.
	appendReadings(t, s, "urn:ngsi-ld:Sensor:3", tAttr, []*ngsild.Attr{reading(9.0, t0.Add(time.Hour))})
	s.dirtyMu.Lock()
	cs := s.dirty[dirtyKey{s.cat.find(s.cat.entity("", "urn:ngsi-ld:Sensor:3"), sKey{tAttr, ""}).slot, window(t0.UnixMilli())}]
	s.dirtyMu.Unlock()
	if cs != (winCounts{chunks: 4, small: 4}) {
		t.Errorf("counts after a write %+v, want 4 small chunks", cs)
	}
	// The day seals: every window is merged, then nothing is pending.
	c.t = t0.Add(26 * time.Hour)
	if merged, err := s.Compact(ctx, false); err != nil || merged != n-1 {
		t.Fatalf("sealed: merged %d, %v; want %d", merged, err, n-1)
	}
	if got := s.PendingCompactions(); got != 0 {
		t.Fatalf("%d windows pending after sealing", got)
	}
}

// A background pass is bounded: past passMin windows and passSlice of
// work it leaves the rest to the next passes.
func TestCompactionPassIsBounded(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: t0.Add(12 * time.Hour)}
	dir := t.TempDir()
	s := openTest(t, dir, c)
	const n = 3 * passMin
	for i := range n {
		appendReadings(t, s, fmt.Sprintf("urn:ngsi-ld:Sensor:%d", i), tAttr, []*ngsild.Attr{reading(1.0, t0)})
	}
	s.Close()
	s = openTest(t, dir, c)
	// With no time slice, a pass looks at passMin windows only.
	s.passSlice = 0
	if got := s.PendingCompactions(); got != n {
		t.Fatalf("%d pending after a restart, want %d", got, n)
	}
	passes := 0
	for s.PendingCompactions() > 0 {
		if _, err := s.Compact(ctx, false); err != nil {
			t.Fatal(err)
		}
		passes++
		if passes > n {
			t.Fatal("passes never end")
		}
	}
	if passes != 3 {
		t.Fatalf("%d passes over %d windows, want 3", passes, n)
	}
}
