package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// eventsEqual compares events as the log must reproduce them.
var eventsEqual = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b *ngsild.Entity) bool {
		if a == nil || b == nil {
			return a == b
		}
		return cmp.Equal(a, b, cmpopts.EquateEmpty(), cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) }))
	}),
}

// testLog checks the change log: ReadLog gives back the very events the
// subscribers got, with their Seq, also after a reopen; LastSeq follows the
// published events; TrimLog discards a prefix and ReadLog says so.
func testLog(t *testing.T, open opener, reopen reopener) {
	ctx := context.Background()
	s := open()
	if got := s.LastSeq(); got != 0 {
		t.Fatalf("LastSeq of a new store = %d, want 0", got)
	}
	if evs, err := s.ReadLog(ctx, 0, 10); err != nil || len(evs) != 0 {
		t.Fatalf("ReadLog of a new store = %d events, %v; want none", len(evs), err)
	}
	rec, cancel := record(s)
	id := "urn:ngsi-ld:E:log"
	mustWrite(t, s, "lg", create(richEntity(id)))
	mustWrite(t, s, "lg", setAttr(id, attrLevel, 7.0), create(newEntity("urn:ngsi-ld:E:other", typeB, attrLevel, 1.0)))
	mustWrite(t, s, store.DefaultTenant, create(newEntity("urn:ngsi-ld:E:dflt", typeA)))
	mustWrite(t, s, "lg", del(id))
	live := rec.events()
	cancel()
	if len(live) != 5 {
		t.Fatalf("subscriber got %d events, want 5", len(live))
	}
	if got := s.LastSeq(); got != live[4].Seq {
		t.Errorf("LastSeq = %d, want the last event's Seq %d", got, live[4].Seq)
	}
	check := func(s store.Store, when string) {
		t.Helper()
		got, err := s.ReadLog(ctx, 0, 100)
		if err != nil {
			t.Fatalf("%s: ReadLog: %v", when, err)
		}
		if d := cmp.Diff(live, got, eventsEqual); d != "" {
			t.Errorf("%s: ReadLog differs from the live events (-live +log):\n%s", when, d)
		}
		part, err := s.ReadLog(ctx, live[1].Seq, 2)
		if err != nil || len(part) != 2 || part[0].Seq != live[2].Seq || part[1].Seq != live[3].Seq {
			t.Errorf("%s: ReadLog(after %d, max 2) = %v, %v; want events %d and %d", when, live[1].Seq, seqs(part), err, live[2].Seq, live[3].Seq)
		}
		if rest, err := s.ReadLog(ctx, live[4].Seq, 10); err != nil || len(rest) != 0 {
			t.Errorf("%s: ReadLog after the last event = %v, %v; want none", when, seqs(rest), err)
		}
	}
	check(s, "before reopen")
	s = reopen(s)
	check(s, "after reopen")
	if got := s.LastSeq(); got != live[4].Seq {
		t.Errorf("LastSeq after reopen = %d, want %d", got, live[4].Seq)
	}

	if err := s.TrimLog(ctx, live[2].Seq); err != nil {
		t.Fatalf("TrimLog: %v", err)
	}
	if _, err := s.ReadLog(ctx, live[0].Seq, 10); !errors.Is(err, store.ErrLogTrimmed) {
		t.Errorf("ReadLog below the trimmed point: err = %v, want ErrLogTrimmed", err)
	}
	if evs, err := s.ReadLog(ctx, live[2].Seq, 10); err != nil || len(evs) != 2 {
		t.Errorf("ReadLog from the trimmed point = %v, %v; want the last 2 events", seqs(evs), err)
	}
	s = reopen(s)
	if _, err := s.ReadLog(ctx, 0, 10); !errors.Is(err, store.ErrLogTrimmed) {
		t.Errorf("after reopen, ReadLog below the trimmed point: err = %v, want ErrLogTrimmed", err)
	}
	if evs, err := s.ReadLog(ctx, live[2].Seq, 10); err != nil || len(evs) != 2 {
		t.Errorf("after reopen, ReadLog from the trimmed point = %v, %v; want the last 2 events", seqs(evs), err)
	}
	// A new event continues the Seq.
	mustWrite(t, s, "lg", create(newEntity(id, typeA)))
	if got := s.LastSeq(); got != live[4].Seq+1 {
		t.Errorf("LastSeq after one more write = %d, want %d", got, live[4].Seq+1)
	}
}

func seqs(evs []store.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq
	}
	return out
}

// testFollower checks that a Follower hands its consumer every event after
// the consumer's cursor exactly once and in order, whether the events were
// written before it started, while it runs with a buffer too small to hold
// them, or while the consumer fails and is retried.
func testFollower(t *testing.T, open opener, _ reopener) {
	s := open()
	const before, during = 50, 400
	for i := range before {
		mustWrite(t, s, "fl", create(newEntity(idf("urn:ngsi-ld:F:%d", i), typeA, attrLevel, float64(i))))
	}
	var mu sync.Mutex
	var got []uint64
	failures := 3
	f := &store.Follower{
		Store: s, Name: "test", From: 10, Batch: 7, Buffer: 16,
		Handle: func(ctx context.Context, evs []store.Event) error {
			mu.Lock()
			defer mu.Unlock()
			if len(got) > 100 && failures > 0 {
				failures--
				return errors.New("consumer down")
			}
			for _, ev := range evs {
				got = append(got, ev.Seq)
			}
			return nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range during / 4 {
				mustWrite(t, s, "fl", setAttr(idf("urn:ngsi-ld:F:%d", (w*13+i)%before), attrLevel, float64(i)))
			}
		}()
	}
	wg.Wait()
	last := s.LastSeq()
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := f.WaitFor(wctx, last); err != nil {
		t.Fatalf("WaitFor(%d): %v (cursor %d)", last, err, f.Cursor())
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if uint64(len(got)) != last-10 {
		t.Fatalf("consumer got %d events, want %d (Seq 11..%d)", len(got), last-10, last)
	}
	for i, seq := range got {
		if seq != uint64(11+i) {
			t.Fatalf("event %d has Seq %d, want %d: events lost, doubled or out of order", i, seq, 11+i)
		}
	}
	if failures != 0 {
		t.Errorf("the consumer's failures were not retried (%d left)", failures)
	}
}
