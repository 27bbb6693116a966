package jsonld

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"
)

func newTestResolver(t testing.TB, cfg Config) *Resolver {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func mustResolve(t testing.TB, r *Resolver, raw any) *Context {
	t.Helper()
	c, err := r.Resolve(context.Background(), raw)
	if err != nil {
		t.Fatalf("Resolve(%v): %v", raw, err)
	}
	return c
}

func readJSON(t testing.TB, name string) any {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// offlineTransport fails every request: tests that must not touch the network
// install it and fail when it is used.
type offlineTransport struct{ t testing.TB }

func (o offlineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if o.t != nil {
		o.t.Errorf("unexpected network request to %s", req.URL)
	}
	return nil, errors.New("offline")
}

func offline(t testing.TB, r *Resolver) *Resolver {
	r.client = &http.Client{Transport: offlineTransport{t}}
	return r
}
