package jsonld

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/problem"
)

// contextServer serves remote contexts on 127.0.0.1 and counts the requests
// for each path.
type contextServer struct {
	*httptest.Server
	mu    sync.Mutex
	hits  map[string]int
	delay atomic.Int64 // nanoseconds to wait before answering
}

func newContextServer(t *testing.T) *contextServer {
	s := &contextServer{hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.mu.Lock()
		s.hits[req.URL.Path]++
		s.mu.Unlock()
		if d := time.Duration(s.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-req.Context().Done():
				return
			}
		}
		switch req.URL.Path {
		case "/ok.jsonld":
			if !strings.Contains(req.Header.Get("Accept"), "application/ld+json") {
				http.Error(w, "wants ld+json", http.StatusNotAcceptable)
				return
			}
			w.Header().Set("Content-Type", "application/ld+json")
			fmt.Fprint(w, `{"@context": {"ex": "http://example.org/", "Road": "ex:Road"}}`)
		case "/big.jsonld":
			fmt.Fprintf(w, `{"@context": {"pad": %q}}`, strings.Repeat("x", 4000))
		case "/bigchunked.jsonld":
			fmt.Fprint(w, `{"@context": {"pad": "`)
			w.(http.Flusher).Flush()
			fmt.Fprint(w, strings.Repeat("x", 4000)+`"}}`)
		case "/notjson.jsonld":
			fmt.Fprint(w, `<html>`)
		case "/nocontext.jsonld":
			fmt.Fprint(w, `{"x": 1}`)
		case "/bad.jsonld":
			fmt.Fprint(w, `{"@context": {"a": {"@id": "http://x/a", "@container": "@bag"}}}`)
		default:
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *contextServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func TestFetchAndCache(t *testing.T) {
	s := newContextServer(t)
	r := newTestResolver(t, Config{AllowPrivate: true})
	u := s.URL + "/ok.jsonld"
	for i := range 3 {
		c := mustResolve(t, r, []any{u, map[string]any{"n": fmt.Sprintf("http://example.org/n%d", i)}})
		if got := c.ExpandTerm("Road"); got != "http://example.org/Road" {
			t.Fatalf("Road = %q", got)
		}
	}
	if n := s.count("/ok.jsonld"); n != 1 {
		t.Errorf("server hit %d times, want 1 (cache)", n)
	}
	list := r.List(KindCached)
	if len(list) != 2 || list[1].URL != u || list[1].NumberOfHits != 3 {
		t.Errorf("List(Cached) = %+v", list)
	}
	// Delete with reload fetches again; without, removes from the cache.
	if err := r.Delete(context.Background(), u, true); err != nil {
		t.Fatal(err)
	}
	if n := s.count("/ok.jsonld"); n != 2 {
		t.Errorf("after reload server hit %d times, want 2", n)
	}
	if err := r.Delete(context.Background(), u, false); err != nil {
		t.Fatal(err)
	}
	mustResolve(t, r, u)
	if n := s.count("/ok.jsonld"); n != 3 {
		t.Errorf("after delete server hit %d times, want 3", n)
	}
}

func TestFetchErrors(t *testing.T) {
	s := newContextServer(t)
	r := newTestResolver(t, Config{AllowPrivate: true, MaxContextSize: 1000, FetchTimeout: 300 * time.Millisecond})
	for _, tc := range []struct {
		path string
		typ  problem.Type
		say  string
	}{
		{"/missing.jsonld", problem.LdContextNotAvailable, "404"},
		{"/big.jsonld", problem.LdContextNotAvailable, "larger than 1000"},
		{"/bigchunked.jsonld", problem.LdContextNotAvailable, "larger than 1000"},
		{"/notjson.jsonld", problem.LdContextNotAvailable, "not JSON"},
		{"/nocontext.jsonld", problem.BadRequestData, "@context"},
		{"/bad.jsonld", problem.BadRequestData, "container"},
	} {
		_, err := r.Resolve(context.Background(), s.URL+tc.path)
		if !problem.Is(err, tc.typ) || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("%s: %v, want %s naming %q", tc.path, err, tc.typ, tc.say)
		}
	}
	_, err := r.Resolve(context.Background(), "ftp://example.org/c.jsonld")
	if !problem.Is(err, problem.LdContextNotAvailable) {
		t.Errorf("ftp URL: %v", err)
	}
	_, err = r.Resolve(context.Background(), "relative.jsonld")
	if !problem.Is(err, problem.BadRequestData) {
		t.Errorf("relative URL: %v", err)
	}
}

func TestFetchTimeout(t *testing.T) {
	s := newContextServer(t)
	s.delay.Store(int64(2 * time.Second))
	r := newTestResolver(t, Config{AllowPrivate: true, FetchTimeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := r.Resolve(context.Background(), s.URL+"/ok.jsonld")
	if !problem.Is(err, problem.LdContextNotAvailable) {
		t.Errorf("slow server: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("timeout took %v", d)
	}
	if pe := problem.As(err); pe != nil && pe.HTTPStatus() != 504 {
		t.Errorf("status %d, want 504 (clause 5.5.2)", pe.HTTPStatus())
	}
}

func TestFetchCollapsesConcurrentRequests(t *testing.T) {
	s := newContextServer(t)
	s.delay.Store(int64(200 * time.Millisecond))
	r := newTestResolver(t, Config{AllowPrivate: true})
	u := s.URL + "/ok.jsonld"
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Distinct inline lists: no resolved-context cache hit can hide
			// the fetches.
			_, err := r.Resolve(context.Background(), []any{u, map[string]any{"n": fmt.Sprintf("http://example.org/n%d", i)}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.count("/ok.jsonld"); n != 1 {
		t.Errorf("20 concurrent resolutions made %d fetches, want 1", n)
	}
}

func TestFetchRefusesPrivateAddresses(t *testing.T) {
	s := newContextServer(t)
	r := newTestResolver(t, Config{FetchTimeout: time.Second})
	port := s.URL[strings.LastIndexByte(s.URL, ':'):]
	// "localhost" passes any check of the host string; the dialer checks the
	// resolved address.
	for _, u := range []string{s.URL + "/ok.jsonld", "http://localhost" + port + "/ok.jsonld"} {
		_, err := r.Resolve(context.Background(), u)
		if !problem.Is(err, problem.LdContextNotAvailable) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: %v", u, err)
		}
	}
	if n := s.count("/ok.jsonld"); n != 0 {
		t.Errorf("server was reached %d times", n)
	}
}

func TestForbiddenIP(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true}, {"10.1.2.3", true}, {"172.16.0.1", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"::1", true}, {"fe80::1", true}, {"fc00::1", true},
		{"0.0.0.0", true}, {"100.64.0.1", true}, {"::ffff:127.0.0.1", true},
		{"8.8.8.8", false}, {"2001:4860:4860::8888", false}, {"193.0.6.139", false},
	} {
		if got := forbiddenIP(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("forbiddenIP(%s) = %v", tc.ip, got)
		}
	}
}
