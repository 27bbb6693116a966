package notify

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// h1Client is the HTTP/1.1 client of the HTTP transport: a notification is
// one POST and its answer is a status, so the client keeps only what that
// needs. Connections are pooled per scheme://host:port and kept alive; a
// connection carries one request at a time (RFC 9112 section 9.3.2: no
// pipelining of non-idempotent requests); the request goes out in one write
// and the response is read by the sending goroutine itself, so an attempt
// costs no goroutine of its own.
//
// How many connections are open to a host is bounded by the caller: the
// Dispatcher lets at most MaxPerHost attempts at a time reach one receiver,
// and each holds at most one connection. At most maxIdle connections per
// host are kept idle, for at most h1IdleTimeout.
type h1Client struct {
	tls     *tls.Config // https; nil: the system roots
	maxIdle int         // idle connections kept per host
	dialer  net.Dialer

	mu      sync.Mutex
	targets map[string]*h1Target // by URI, a cache
	idle    map[string][]*h1Conn // by h1Target.key; the most recently used last
	sweep   *time.Timer          // closes connections idle too long; nil when there are none
	busy    map[*h1Conn]struct{} // connections carrying a request
	watch   *time.Timer          // watches the busy connections' contexts; nil when there are none
	closed  bool
}

const (
	h1IdleTimeout      = 30 * time.Second
	h1WatchInterval    = 50 * time.Millisecond // how soon a cancelled request notices
	h1HandshakeTimeout = 5 * time.Second
	h1MaxTargets       = 4096     // URIs whose parsing is cached
	h1MaxHeaderBytes   = 64 << 10 // status lines and headers of one response, 1xx included
	h1MaxDrain         = 64 << 10 // body bytes read to keep the connection; beyond, it is closed
)

func newH1Client(tlsConf *tls.Config, maxIdle int) *h1Client {
	return &h1Client{
		tls:     tlsConf,
		maxIdle: max(maxIdle, 1),
		dialer:  net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second},
		targets: map[string]*h1Target{},
		idle:    map[string][]*h1Conn{},
		busy:    map[*h1Conn]struct{}{},
	}
}

// h1Target is a notification URI taken apart once.
type h1Target struct {
	key  string      // the connection pool's: scheme://host:port
	addr string      // host:port to dial
	tls  *tls.Config // nil for http
	host string      // the Host header
	path string      // the request-target
	auth string      // Authorization from the URI's userinfo ("" for none), as net/http sends it
}

// target parses uri, or returns it from the cache.
func (c *h1Client) target(uri string) (*h1Target, error) {
	c.mu.Lock()
	t := c.targets[uri]
	c.mu.Unlock()
	if t != nil {
		return t, nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, err
	}
	t = &h1Target{host: strings.TrimSuffix(u.Host, ":"), path: escapeTarget(u.RequestURI())}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Hostname() == "" || !validHeader("Host", t.host) || strings.ContainsAny(t.host, " /") {
		return nil, fmt.Errorf("invalid host %q", u.Host)
	}
	port := u.Port()
	if port == "" {
		port = defaultPorts[scheme]
	}
	t.addr = net.JoinHostPort(u.Hostname(), port)
	t.key = scheme + "://" + t.addr
	if scheme == "https" {
		t.tls = &tls.Config{}
		if c.tls != nil {
			t.tls = c.tls.Clone()
		}
		if t.tls.ServerName == "" {
			t.tls.ServerName = u.Hostname()
		}
		t.tls.NextProtos = []string{"http/1.1"}
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		t.auth = "Basic " + basicAuth(u.User.Username(), pw)
	}
	c.mu.Lock()
	if len(c.targets) >= h1MaxTargets {
		clear(c.targets)
	}
	c.targets[uri] = t
	c.mu.Unlock()
	return t, nil
}

// escapeTarget percent-encodes the bytes a request-target cannot hold
// (RFC 9112 section 3.2: no blanks, controls or non-ASCII), which url.Parse
// leaves in a query: "/?a b" is sent as "/?a%20b".
func escapeTarget(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// post sends the request req (head and body, as appendRequest made it) to t
// and reads the response. A connection that was idle in the pool may have
// been closed by the server meanwhile: when such a connection fails before
// any byte of the response arrived, the request is sent once more on a new
// connection (the receiver deduplicates by notification id, should the
// first copy have arrived after all).
func (c *h1Client) post(ctx context.Context, t *h1Target, req []byte) (h1Response, error) {
	for try := 0; ; try++ {
		conn, err := c.get(ctx, t, try > 0)
		if err != nil {
			return h1Response{}, c.fail(ctx, t, err)
		}
		reused := conn.reused
		res, fresh, err := conn.roundTrip(ctx, req)
		if err == nil && res.keep {
			c.put(conn)
		} else {
			c.drop(conn)
		}
		if err == nil {
			return res, nil
		}
		if !fresh || !reused || try > 0 || ctx.Err() != nil {
			return h1Response{}, c.fail(ctx, t, err)
		}
	}
}

// fail says where err happened, and makes a deadline the context's.
func (c *h1Client) fail(ctx context.Context, t *h1Target, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Done() != nil {
		// Connection deadlines come from ctx (its deadline, or the
		// past when it was cancelled): ctx is done, or about to be.
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("post %s: %w", t.key, err)
}

// h1Conn is a pooled connection.
type h1Conn struct {
	net.Conn
	key    string
	ctx    context.Context // of the request it carries; nil when idle
	reused bool            // it served a request before
	idleAt time.Time       // when it went back to the pool
}

// get takes an idle connection to t, or dials one (always when fresh),
// for a request of ctx.
func (c *h1Client) get(ctx context.Context, t *h1Target, fresh bool) (*h1Conn, error) {
	if !fresh {
		c.mu.Lock()
		idle := c.idle[t.key]
		var conn *h1Conn
		if n := len(idle); n > 0 {
			conn = idle[n-1]
			idle[n-1] = nil
			c.idle[t.key] = idle[:n-1]
			if time.Since(conn.idleAt) < h1IdleTimeout {
				c.busyLocked(conn, ctx)
				c.mu.Unlock()
				return conn, nil
			}
		}
		c.mu.Unlock()
		if conn != nil {
			conn.Close() // and the older ones go with the next sweep
		}
	}
	nc, err := c.dialer.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	if t.tls != nil {
		tc := tls.Client(nc, t.tls)
		hctx, cancel := context.WithTimeout(ctx, h1HandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	conn := &h1Conn{Conn: nc, key: t.key}
	c.mu.Lock()
	c.busyLocked(conn, ctx)
	c.mu.Unlock()
	return conn, nil
}

// busyLocked marks conn as carrying a request of ctx. c.mu is held.
//
// Cancellation is watched here rather than with a context.AfterFunc per
// request, which costs more than the rest of the request's bookkeeping:
// every h1WatchInterval, the connections whose context is done get a
// deadline in the past, which fails their pending write or read. (A
// context's deadline is the connection's, and needs no watching.)
func (c *h1Client) busyLocked(conn *h1Conn, ctx context.Context) {
	conn.ctx = ctx
	c.busy[conn] = struct{}{}
	if c.watch == nil {
		c.watch = time.AfterFunc(h1WatchInterval, c.watchBusy)
	}
}

func (c *h1Client) watchBusy() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := range c.busy {
		if conn.ctx.Err() != nil {
			conn.SetDeadline(time.Unix(1, 0))
		}
	}
	c.watch = nil
	if len(c.busy) > 0 {
		c.watch = time.AfterFunc(h1WatchInterval, c.watchBusy)
	}
}

// drop closes a connection that carried a request.
func (c *h1Client) drop(conn *h1Conn) {
	c.mu.Lock()
	delete(c.busy, conn)
	conn.ctx = nil
	c.mu.Unlock()
	conn.Close()
}

// put returns conn to the pool, or closes it when the pool is full.
func (c *h1Client) put(conn *h1Conn) {
	conn.reused = true
	conn.idleAt = time.Now()
	c.mu.Lock()
	delete(c.busy, conn)
	conn.ctx = nil
	idle := c.idle[conn.key]
	if c.closed || len(idle) >= c.maxIdle {
		c.mu.Unlock()
		conn.Close()
		return
	}
	c.idle[conn.key] = append(idle, conn)
	if c.sweep == nil {
		c.sweep = time.AfterFunc(h1IdleTimeout, c.closeIdle)
	}
	c.mu.Unlock()
}

// closeIdle closes the connections idle for longer than h1IdleTimeout, and
// comes back while some are left.
func (c *h1Client) closeIdle() {
	var old []*h1Conn
	now := time.Now()
	c.mu.Lock()
	for key, idle := range c.idle {
		n := 0 // the oldest come first
		for n < len(idle) && now.Sub(idle[n].idleAt) >= h1IdleTimeout {
			n++
		}
		old = append(old, idle[:n]...)
		if n == len(idle) {
			delete(c.idle, key)
			continue
		}
		c.idle[key] = append(idle[:0], idle[n:]...)
		clear(idle[len(idle)-n:])
	}
	c.sweep = nil
	if len(c.idle) > 0 && !c.closed {
		c.sweep = time.AfterFunc(h1IdleTimeout/2, c.closeIdle)
	}
	c.mu.Unlock()
	for _, conn := range old {
		conn.Close()
	}
}

// Close closes the idle connections; those in use are closed when their
// request is done.
func (c *h1Client) Close() {
	c.mu.Lock()
	c.closed = true
	idle := c.idle
	c.idle = map[string][]*h1Conn{}
	if c.sweep != nil {
		c.sweep.Stop()
		c.sweep = nil
	}
	if c.watch != nil {
		c.watch.Stop()
		c.watch = nil
	}
	c.mu.Unlock()
	for _, conns := range idle {
		for _, conn := range conns {
			conn.Close()
		}
	}
}

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// roundTrip writes req and reads the response, within ctx. fresh reports
// that no byte of a response was read, so that the request may be sent
// again on another connection. After an error, conn must be closed.
func (conn *h1Conn) roundTrip(ctx context.Context, req []byte) (res h1Response, fresh bool, err error) {
	dl, _ := ctx.Deadline()
	if err := conn.SetDeadline(dl); err != nil {
		return res, true, err
	}
	if _, err := conn.Write(req); err != nil {
		return res, !errors.Is(err, os.ErrDeadlineExceeded), err
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(conn)
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	if _, err := br.Peek(1); err != nil {
		return res, !errors.Is(err, os.ErrDeadlineExceeded), err
	}
	res, err = readResponse(br)
	if br.Buffered() > 0 {
		res.keep = false // the server sent more than the response
	}
	return res, false, err
}
