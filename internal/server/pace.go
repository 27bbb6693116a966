package server

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/qala-city/qala/internal/store"
)

// requestGauge counts the NGSI-LD requests in flight.
type requestGauge struct{ n atomic.Int64 }

func (g *requestGauge) busy() bool { return g.n.Load() > 0 }

func (g *requestGauge) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.n.Add(1)
		defer g.n.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// maxYield bounds one rest of a yielding consumer.
const maxYield = 100 * time.Millisecond

// yielding returns handle such that, while busy reports requests in
// flight, each batch starts only after a rest as long as the previous
// batch took (at most maxYield): a consumer catching up on the change log
// (the history after a bulk load) then takes at most about half the CPU
// it could, and requests the rest. The rest comes before a batch, not
// after, so that readers waiting for the consumer's cursor are not kept
// waiting by it.
func yielding(handle func(context.Context, []store.Event) error, busy func() bool) func(context.Context, []store.Event) error {
	var last time.Duration
	return func(ctx context.Context, evs []store.Event) error {
		if rest := min(last, maxYield); rest > 0 && busy() {
			t := time.NewTimer(rest)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		start := time.Now()
		err := handle(ctx, evs)
		last = time.Since(start)
		return err
	}
}
