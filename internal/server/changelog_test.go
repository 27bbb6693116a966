package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
	"github.com/qala-city/qala/internal/store/embedded"
)

// TestTrimLog checks that the change log is trimmed up to the slowest
// consumer's cursor, and no further.
func TestTrimLog(t *testing.T) {
	st, err := embedded.Open(embedded.Options{Dir: t.TempDir(), Logger: quietLogger(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 10 {
		id := "urn:ngsi-ld:T:" + string(rune('a'+i))
		_, err := st.Write(ctx, "", []store.Change{{ID: id, Op: store.OpCreate, Apply: func(*ngsild.Entity) (*ngsild.Entity, []string, error) {
			return &ngsild.Entity{ID: id, Types: []string{"https://example.org/T"}}, nil, nil
		}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	slow := func() uint64 { return 4 }
	fast := func() uint64 { return 9 }
	go trimLog(ctx, st, quietLogger(), 5*time.Millisecond, fast, slow)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := st.ReadLog(ctx, 3, 1)
		if errors.Is(err, store.ErrLogTrimmed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the log was not trimmed up to the slowest cursor")
		}
		time.Sleep(5 * time.Millisecond)
	}
	evs, err := st.ReadLog(ctx, 4, 100)
	if err != nil || len(evs) != 6 {
		t.Fatalf("events after the slowest cursor: %d, %v; want 6 kept", len(evs), err)
	}
}
