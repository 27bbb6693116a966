package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/qala-city/qala/internal/store"
)

// trimLog keeps the store's change log short: every interval it lets the
// store discard the events that every durable consumer (cursors) has
// processed — all published events when there is no consumer.
func trimLog(ctx context.Context, st store.Store, log *slog.Logger, interval time.Duration, cursors ...func() uint64) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		upto := st.LastSeq()
		for _, c := range cursors {
			upto = min(upto, c())
		}
		if err := st.TrimLog(ctx, upto); err != nil && ctx.Err() == nil {
			log.Warn("change log trim failed", "upto", upto, "err", err)
		}
	}
}
