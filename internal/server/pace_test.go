package server

import (
	"context"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/store"
)

func TestYielding(t *testing.T) {
	const work = 50 * time.Millisecond
	var busy bool
	var starts []time.Time
	h := yielding(func(ctx context.Context, evs []store.Event) error {
		starts = append(starts, time.Now())
		time.Sleep(work)
		return nil
	}, func() bool { return busy })
	ctx := context.Background()
	run := func() time.Duration {
		starts = starts[:0]
		for range 3 {
			if err := h(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
		return starts[2].Sub(starts[0])
	}
	if d := run(); d >= 3*work {
		t.Errorf("idle: three batches of %v took %v; the consumer rested", work, d)
	}
	busy = true
	if d := run(); d < 4*work {
		t.Errorf("busy: three batches of %v took %v; the consumer did not rest", work, d)
	}
	// A cancelled context ends a rest.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := h(cctx, nil); err == nil {
		t.Error("a cancelled rest returned no error")
	}
}
