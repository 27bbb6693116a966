package server

import (
	"github.com/qala-city/qala/internal/notify"
	"github.com/qala-city/qala/internal/subscription"
)

// newSink returns the notify.Sink of the subscription pipeline.
//
// Until the delivery package's Dispatcher (notify.Open) is wired, this is
// subscription.SimpleSink: synchronous HTTP(S) POSTs, no outbox.
func newSink(subs *subscription.Registry) notify.Sink {
	return &subscription.SimpleSink{Record: subs.Record}
}
