package notify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// seen is what a receiver saw of one request.
type seen struct {
	Method, Host, RequestURI, Proto string
	ContentLength                   int64
	Header                          http.Header
	Body                            string
}

// recorder is a net/http test server that records requests and answers
// with handle (204 when nil), counting connections.
type recorder struct {
	srv    *httptest.Server
	conns  atomic.Int64 // opened
	open   atomic.Int64 // open now
	mu     sync.Mutex
	reqs   []seen
	handle func(w http.ResponseWriter, r *http.Request, n int)
}

func newRecorder(t *testing.T, tlsSrv bool, handle func(w http.ResponseWriter, r *http.Request, n int)) *recorder {
	rc := &recorder{handle: handle}
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, seen{r.Method, r.Host, r.RequestURI, r.Proto, r.ContentLength, r.Header, string(body)})
		n := len(rc.reqs)
		rc.mu.Unlock()
		if rc.handle != nil {
			rc.handle(w, r, n)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	rc.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			rc.conns.Add(1)
			rc.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			rc.open.Add(-1)
		}
	}
	if tlsSrv {
		rc.srv.EnableHTTP2 = true // the client asks for HTTP/1.1 by ALPN all the same
		rc.srv.StartTLS()
	} else {
		rc.srv.Start()
	}
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *recorder) requests() []seen {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]seen(nil), rc.reqs...)
}

// netHTTPSend sends m as the HTTP transport did with net/http before it
// had a client of its own: the reference for the headers.
func netHTTPSend(t *testing.T, m *Message) {
	req, err := http.NewRequest(http.MethodPost, m.Endpoint.URI, bytes.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	h := req.Header
	for _, kv := range m.Endpoint.ReceiverInfo {
		h.Set(kv.Key, kv.Value)
	}
	ct := m.ContentType
	if ct == "" {
		ct = "application/json"
	}
	h.Set("Content-Type", ct)
	if m.Link != "" {
		h.Set("Link", m.Link)
	}
	if m.Tenant != "" {
		h.Set("NGSILD-Tenant", m.Tenant)
	}
	h.Set("User-Agent", "qala-notify")
	c := &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c.CloseIdleConnections()
}

func send(t *testing.T, tr *httpTransport, m *Message) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return tr.Send(ctx, m)
}

// TestH1SameRequestAsNetHTTP: a receiver sees the very request net/http
// sent for the same message: method, Host, request-target, headers, body.
func TestH1SameRequestAsNetHTTP(t *testing.T) {
	rc := newRecorder(t, false, nil)
	base := strings.Replace(rc.srv.URL, "http://", "http://user:p%40ss@", 1)
	link := `<https://example.org/ctx.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`
	msgs := []*Message{
		{Endpoint: Endpoint{URI: rc.srv.URL}, Body: []byte(`{}`)},
		{Endpoint: Endpoint{URI: rc.srv.URL + "/n/a%20b?x=1&y=%2F#frag"}, ContentType: "application/ld+json", Link: link,
			Tenant: "city", Body: []byte(`{"id":"urn:n:1"}`)},
		{Endpoint: Endpoint{URI: rc.srv.URL + "/r", ReceiverInfo: []KeyValue{
			{"x-lower", "a"}, {"X-Dup", "first"}, {"x-dup", "second"}, {"Authorization", "Bearer t"},
			{"Content-Type", "text/plain"}, {"Link", "<x>"}, {"NGSILD-Tenant", "other"}, {"User-Agent", "me"},
			{"X-Spaces", "  v w \t"}, {"X-Empty", ""}}},
			Tenant: "t2", Body: bytes.Repeat([]byte("y"), 70000)},
		{Endpoint: Endpoint{URI: base + "/auth"}, Body: []byte("1")},
		{Endpoint: Endpoint{URI: base + "/auth", ReceiverInfo: []KeyValue{{"authorization", "Bearer wins"}}}, Body: []byte("2")},
		{Endpoint: Endpoint{URI: rc.srv.URL + "/nolink", ReceiverInfo: []KeyValue{{"Link", "<y>"}}}, Body: nil},
	}
	tr := newHTTPTransport(nil, 4)
	defer tr.Close()
	for i, m := range msgs {
		netHTTPSend(t, m)
		if st, err := send(t, tr, m); err != nil || st != 204 {
			t.Fatalf("message %d: %d %v", i, st, err)
		}
	}
	got := rc.requests()
	for i := range msgs {
		want, have := got[2*i], got[2*i+1]
		if diff := cmp.Diff(want, have); diff != "" {
			t.Errorf("message %d: net/http (-) and h1Client (+) differ:\n%s", i, diff)
		}
	}
}

// TestH1OwnHeaders: receiverInfo cannot take over the framing or the
// connection, nor smuggle a header.
func TestH1OwnHeaders(t *testing.T) {
	rc := newRecorder(t, false, nil)
	tr := newHTTPTransport(nil, 4)
	defer tr.Close()
	m := &Message{Endpoint: Endpoint{URI: rc.srv.URL, ReceiverInfo: []KeyValue{{"Host", "evil"}, {"Content-Length", "0"},
		{"Transfer-Encoding", "chunked"}, {"Connection", "close"}, {"Upgrade", "h2c"}}}, Body: []byte("body")}
	for range 2 {
		if st, err := send(t, tr, m); err != nil || st != 204 {
			t.Fatalf("%d %v", st, err)
		}
	}
	for _, r := range rc.requests() {
		if r.Host != rc.srv.Listener.Addr().String() || r.Body != "body" || r.Header.Get("Upgrade") != "" || r.Header.Get("Connection") != "" {
			t.Errorf("request %+v", r)
		}
	}
	if n := rc.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1 kept alive", n)
	}
	for _, ri := range [][]KeyValue{{{"X-A", "b\r\nX-Injected: 1"}}, {{"Bad Name", "v"}}, {{"", "v"}}} {
		_, err := send(t, tr, &Message{Endpoint: Endpoint{URI: rc.srv.URL, ReceiverInfo: ri}})
		if !IsPermanent(err) {
			t.Errorf("receiverInfo %q: %v, want a permanent error", ri, err)
		}
	}
	for _, uri := range []string{"http://", "http://h\x00/", "ftp://h/", "http://[::1/"} {
		if _, err := send(t, tr, &Message{Endpoint: Endpoint{URI: uri}}); !IsPermanent(err) {
			t.Errorf("URI %q: %v, want a permanent error", uri, err)
		}
	}
	if n := len(rc.requests()); n != 2 {
		t.Errorf("%d requests arrived, want 2", n)
	}
}

// TestH1Responses runs the client against net/http handlers that answer in
// every framing: the status is right, and the connection is kept exactly
// when the response allows it.
func TestH1Responses(t *testing.T) {
	for _, c := range []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request, n int)
		status int
		keep   bool
		retry  string
	}{
		{"no content", nil, 204, true, ""},
		{"content-length", func(w http.ResponseWriter, r *http.Request, n int) { io.WriteString(w, "hello") }, 200, true, ""},
		{"chunked", func(w http.ResponseWriter, r *http.Request, n int) {
			io.WriteString(w, "part 1")
			w.(http.Flusher).Flush()
			io.WriteString(w, strings.Repeat("part 2", 1000))
		}, 200, true, ""},
		{"chunked with trailer", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Trailer", "X-T")
			io.WriteString(w, "x")
			w.(http.Flusher).Flush()
			w.Header().Set("X-T", "v")
		}, 200, true, ""},
		{"connection close", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Connection", "close")
			w.WriteHeader(201)
		}, 201, false, ""},
		{"interim", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(103)
			w.WriteHeader(100)
			w.WriteHeader(202)
		}, 202, true, ""},
		{"huge chunked body", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Write(make([]byte, 1<<20))
		}, 200, false, ""},
		{"huge body", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Length", "1048576")
			w.Write(make([]byte, 1<<20))
		}, 200, false, ""},
		{"503", func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Retry-After", "7")
			http.Error(w, "later", http.StatusServiceUnavailable)
		}, 503, true, "7"},
		{"redirect", func(w http.ResponseWriter, r *http.Request, n int) {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}, 307, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := newRecorder(t, false, c.handle)
			cl := newH1Client(nil, 4)
			defer cl.Close()
			for i := range 3 {
				res := post(t, cl, rc.srv.URL)
				if res.status != c.status || res.keep != c.keep || res.retryAfter != c.retry {
					t.Fatalf("request %d: %+v, want status %d keep %v Retry-After %q", i, res, c.status, c.keep, c.retry)
				}
			}
			want := int64(1)
			if !c.keep {
				want = 3
			}
			if n := rc.conns.Load(); n != want {
				t.Errorf("%d connections, want %d", n, want)
			}
		})
	}
}

func post(t *testing.T, cl *h1Client, uri string) h1Response {
	t.Helper()
	res, err := postErr(cl, uri, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func postErr(cl *h1Client, uri string, timeout time.Duration) (h1Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tg, err := cl.target(uri)
	if err != nil {
		return h1Response{}, err
	}
	req, err := appendRequest(nil, tg, &Message{Body: []byte(`{"n":1}`)})
	if err != nil {
		return h1Response{}, err
	}
	return cl.post(ctx, tg, req)
}

// rawServer is a net/http server whose handler writes raw bytes on the
// hijacked connection, then closes it.
func rawServer(t *testing.T, raw string) *recorder {
	return newRecorder(t, false, func(w http.ResponseWriter, r *http.Request, n int) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		io.WriteString(conn, raw)
		conn.Close()
	})
}

// TestH1Malformed: garbage, HTTP/1.0 and truncated responses.
func TestH1Malformed(t *testing.T) {
	for _, c := range []struct {
		name, raw string
		status    int // 0: an error
	}{
		{"garbage", "SSH-2.0-OpenSSH\r\n\r\n", 0},
		{"http2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", 0},
		{"switching", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", 0},
		{"folding", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", 0},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", 0},
		{"truncated head", "HTTP/1.1 200 OK\r\nContent-Le", 0},
		{"huge header", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 70000) + "\r\n\r\n", 0},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nbody", 200},
		{"truncated body", "HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\nabc", 500},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := rawServer(t, c.raw)
			cl := newH1Client(nil, 4)
			defer cl.Close()
			res, err := postErr(cl, rc.srv.URL, 5*time.Second)
			if c.status == 0 {
				if err == nil {
					t.Fatalf("%q: %+v, want an error", c.raw, res)
				}
			} else if err != nil || res.status != c.status || res.keep {
				t.Fatalf("%q: %+v %v, want %d and the connection closed", c.raw, res, err, c.status)
			}
			if n := len(rc.requests()); n != 1 {
				t.Errorf("%d requests, want 1 (no retry after a response began)", n)
			}
		})
	}
}

// TestH1StaleConnection: a pooled connection the server closed while it
// was idle is replaced, and the notification sent once; a connection that
// dies with the request on it is retried once, not more.
func TestH1StaleConnection(t *testing.T) {
	rc := newRecorder(t, false, nil)
	cl := newH1Client(nil, 4)
	defer cl.Close()
	post(t, cl, rc.srv.URL)
	rc.srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond) // the FIN arrives
	if res := post(t, cl, rc.srv.URL); res.status != 204 {
		t.Fatalf("after the server closed the idle connection: %+v", res)
	}
	if n, c := len(rc.requests()), rc.conns.Load(); n != 2 || c != 2 {
		t.Errorf("%d requests on %d connections, want 2 on 2", n, c)
	}

	// The server takes every request after the first and closes the
	// connection without an answer.
	drop := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.WriteHeader(204)
			return
		}
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	})
	post(t, cl, drop.srv.URL)
	if _, err := postErr(cl, drop.srv.URL, 5*time.Second); err == nil {
		t.Fatal("no error from a server that never answers")
	}
	if n := len(drop.requests()); n != 3 {
		t.Errorf("%d requests, want 3: the first, the second and its one retry on a new connection", n)
	}
	// On a new connection, no retry.
	if _, err := postErr(cl, drop.srv.URL, 5*time.Second); err == nil {
		t.Fatal("no error from a server that never answers")
	}
	if n := len(drop.requests()); n != 4 {
		t.Errorf("%d requests, want 4: no retry on a new connection", n)
	}
}

// TestH1Timeout: the attempt's context bounds the exchange with a server
// that does not answer, and its cancellation ends it at once.
func TestH1Timeout(t *testing.T) {
	release := make(chan struct{})
	rc := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request, n int) { <-release })
	defer close(release)
	cl := newH1Client(nil, 4)
	defer cl.Close()
	start := time.Now()
	_, err := postErr(cl, rc.srv.URL, 200*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v, want a deadline error", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v with a timeout of 200 ms", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	tg, _ := cl.target(rc.srv.URL)
	req, _ := appendRequest(nil, tg, &Message{})
	start = time.Now()
	if _, err := cl.post(ctx, tg, req); !errors.Is(err, context.Canceled) {
		t.Errorf("%v, want a cancellation", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v to notice the cancellation", el)
	}
	if n := len(rc.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	// A receiver that does not even accept: the dial is bounded too.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := postErr(cl, "http://"+ln.Addr().String(), 200*time.Millisecond); err == nil {
		t.Error("no error from a receiver that never reads")
	}
}

// TestH1TLS: https with the dispatcher's roots, over HTTP/1.1 by ALPN;
// an untrusted certificate fails the attempt before anything is sent.
func TestH1TLS(t *testing.T) {
	rc := newRecorder(t, true, nil)
	pool := x509.NewCertPool()
	pool.AddCert(rc.srv.Certificate())
	cl := newH1Client(&tls.Config{RootCAs: pool}, 4)
	defer cl.Close()
	for range 3 {
		if res := post(t, cl, rc.srv.URL+"/tls"); res.status != 204 || !res.keep {
			t.Fatalf("%+v", res)
		}
	}
	if r := rc.requests(); r[0].Proto != "HTTP/1.1" || r[0].RequestURI != "/tls" {
		t.Errorf("request %+v", r[0])
	}
	if n := rc.conns.Load(); n != 1 {
		t.Errorf("%d TLS connections, want 1 kept alive", n)
	}
	untrusted := newH1Client(nil, 4)
	defer untrusted.Close()
	if _, err := postErr(untrusted, rc.srv.URL, 5*time.Second); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("%v, want a certificate error", err)
	}
	if n := len(rc.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// TestH1Pool: the idle connections kept per host are bounded, and the
// sweep closes those idle too long.
func TestH1Pool(t *testing.T) {
	rc := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request, n int) {
		time.Sleep(20 * time.Millisecond)
		w.WriteHeader(204)
	})
	open := &rc.open
	cl := newH1Client(nil, 3)
	defer cl.Close()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { post(t, cl, rc.srv.URL) })
	}
	wg.Wait()
	tg, _ := cl.target(rc.srv.URL)
	cl.mu.Lock()
	idle := cl.idle[tg.key]
	for _, c := range idle {
		c.idleAt = time.Now().Add(-time.Hour)
	}
	cl.mu.Unlock()
	if len(idle) != 3 {
		t.Errorf("%d idle connections, want 3", len(idle))
	}
	waitFor(t, "the server to see the surplus connections closed", 5*time.Second, func() bool { return open.Load() == 3 })
	cl.closeIdle()
	waitFor(t, "the server to see the idle connections closed", 5*time.Second, func() bool { return open.Load() == 0 })
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if len(cl.idle) != 0 || cl.sweep != nil {
		t.Errorf("after the sweep: %d hosts, sweep %v", len(cl.idle), cl.sweep)
	}
}

// FuzzReadResponse: any bytes from a receiver never panic the parser, an
// accepted response has a final status, and a connection said to be
// reusable sits exactly at the end of the response.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nX-T: v\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: <x>\r\n\r\nHTTP/1.1 503 Busy\r\nRetry-After: 3\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nbody",
		"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200\nContent-Length: 0\n\n",
		"HTTP/1.1 429 \r\nRetry-After: Sat, 05 Dec 2026 08:00:30 GMT\r\n\r\n",
		"HTTP/1.1 999 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		br := bufio.NewReaderSize(r, 64)
		res, err := readResponse(br)
		if err != nil {
			return
		}
		if res.status < 200 || res.status > 599 {
			t.Fatalf("final status %d", res.status)
		}
		if res.retryAfter != "" && res.status != 429 && res.status != 503 {
			t.Fatalf("Retry-After kept for %d", res.status)
		}
		if !res.keep || r.Len()+br.Buffered() > 0 {
			return
		}
		// Reusable and all consumed: the next response is read as sent.
		br.Reset(strings.NewReader("HTTP/1.1 204 No Content\r\n\r\n"))
		if next, err := readResponse(br); err != nil || next.status != 204 || !next.keep {
			t.Fatalf("the response after: %+v %v", next, err)
		}
	})
}

// FuzzAppendRequest: whatever receiverInfo holds, the request written is
// one well-formed HTTP/1.1 request carrying exactly the headers meant and
// the body, or the message is refused.
func FuzzAppendRequest(f *testing.F) {
	f.Add("X-Id", "urn:1", "city", "/p?q=1", []byte(`{}`))
	f.Add("x-a", " b\tc ", "", "/", []byte{})
	f.Add("X-A", "b\r\nX-B: c", "", "/", []byte("\r\n\r\n"))
	f.Add("Content-Length", "0", "t", "/a%20b", []byte("abc"))
	f.Fuzz(func(t *testing.T, key, value, tenant, path string, body []byte) {
		tg, err := newH1Client(nil, 1).target("http://h:1/" + path)
		if err != nil {
			return
		}
		m := &Message{Tenant: tenant, Link: "<l>", Endpoint: Endpoint{ReceiverInfo: []KeyValue{{key, value}}}, Body: body}
		b, err := appendRequest(nil, tg, m)
		if err != nil {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		got, _ := io.ReadAll(req.Body)
		if req.Method != "POST" || req.Host != "h:1" || !bytes.Equal(got, body) || req.Header.Get("Link") != "<l>" ||
			req.Header.Get("NGSILD-Tenant") != trimOWS(tenant) || req.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%q read as %+v", b, req)
		}
		k := http.CanonicalHeaderKey(key)
		if !ownHeader(k) && k != "Link" && (k != "Ngsild-Tenant" || tenant == "") && req.Header.Get(k) != trimOWS(value) {
			t.Fatalf("%q: %s is %q, want %q", b, k, req.Header.Get(k), value)
		}
	})
}

// BenchmarkH1Send: one notification POSTed to a net/http receiver, 16 at
// a time; the sender's share shows in a CPU profile.
//
//	go test -run '^$' -bench BenchmarkH1Send -cpuprofile cpu.out ./internal/notify/
func BenchmarkH1Send(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	tr := newHTTPTransport(nil, 64)
	defer tr.Close()
	m := &Message{ID: "urn:ngsi-ld:Notification:1", Endpoint: Endpoint{URI: srv.URL + "/notify",
		ReceiverInfo: []KeyValue{{"X-Id", "1"}}}, ContentType: "application/json", Body: bytes.Repeat([]byte("x"), 400)}
	b.SetParallelism(8)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if _, err := tr.Send(ctx, m); err != nil {
				b.Error(err)
			}
			cancel()
		}
	})
	// Sender and receiver: the figure that does not depend on the load.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// TestEscapeTarget: what url.Parse leaves in a query that a request-target
// cannot hold is percent-encoded; everything else is sent as written.
func TestEscapeTarget(t *testing.T) {
	for in, want := range map[string]string{
		"/p?q=1":    "/p?q=1",
		"/?a b":     "/?a%20b",
		"/?x=\x7f":  "/?x=%7F",
		"/?é":       "/?%C3%A9",
		"/a%20b?c":  "/a%20b?c",
		"/?t=\tz\n": "/?t=%09z%0A",
	} {
		if got := escapeTarget(in); got != want {
			t.Errorf("escapeTarget(%q) = %q, want %q", in, got, want)
		}
	}
}
