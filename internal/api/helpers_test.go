package api_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/qala-city/qala/internal/api"
	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/store"
	"github.com/qala-city/qala/internal/store/embedded"
	"github.com/qala-city/qala/internal/subscription"
	"github.com/qala-city/qala/internal/temporal"
)

// newTestServer starts the API in-process on 127.0.0.1 over a fresh embedded
// store, as a client sees it.
func newTestServer(t testing.TB) *httptest.Server {
	t.Helper()
	return newTestServerWith(t, nil)
}

// newTestServerWith is newTestServer with the API's configuration adjusted
// by edit.
func newTestServerWith(t testing.TB, edit func(*api.Config)) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	st, err := embedded.Open(embedded.Options{Dir: dir + "/store", NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	res, err := jsonld.New(jsonld.Config{Dir: dir + "/contexts", AllowPrivate: true, BaseURL: "http://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := temporal.Open(temporal.Options{Dir: dir + "/history", NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	subs, err := subscription.Open(subscription.Options{Dir: dir + "/subscriptions", Resolver: res, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	f := &store.Follower{Store: st, Name: "history", From: hist.Cursor(), Handle: hist.Handle}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx)
	}()
	cfg := api.Config{MaxBody: 1 << 20, MaxBatch: 100, MaxLimit: 100, TemporalLimit: 100,
		History: hist, Subscriptions: subs, HistorySync: func(ctx context.Context) error { return f.WaitFor(ctx, st.LastSeq()) }}
	if edit != nil {
		edit(&cfg)
	}
	srv.Config.Handler = api.New(cfg, st, res, nil, nil)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		hist.Close()
		subs.Close()
		st.Close()
	})
	return srv
}
