package jsonld

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/qala-city/qala/internal/problem"
)

// errForbiddenAddress is returned by the dialer for an address the Resolver
// may not contact.
var errForbiddenAddress = errors.New("address is loopback, private or link-local")

// newClient returns the HTTP client for remote contexts. Its dialer checks
// every IP it actually connects to (after DNS resolution and on redirects),
// so a host name that resolves to a private address is refused too. No proxy
// is used: a proxy would hide the destination from that check.
func newClient(cfg Config) *http.Client {
	d := &net.Dialer{Timeout: cfg.FetchTimeout}
	if !cfg.AllowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, err)
			}
			if forbiddenIP(ap.Addr()) {
				return fmt.Errorf("dial %s: %w", address, errForbiddenAddress)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   cfg.FetchTimeout,
		ResponseHeaderTimeout: cfg.FetchTimeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// forbiddenIP reports addresses a broker must not fetch from on a client's
// behalf: loopback, private, link-local, unspecified, multicast and CGNAT.
func forbiddenIP(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsUnspecified() || a.IsMulticast() || cgnat.Contains(a)
}

// call is one in-flight fetch that concurrent callers for the same URL share.
type call struct {
	done chan struct{}
	doc  any
	err  error
}

// fetchOnce fetches u, collapsing concurrent fetches of one URL into one.
// The fetch runs with its own timeout, detached from the first caller's
// cancellation; each caller stops waiting when its own ctx ends.
func (r *Resolver) fetchOnce(ctx context.Context, u string) (any, error) {
	r.flightMu.Lock()
	c, ok := r.flight[u]
	if !ok {
		c = &call{done: make(chan struct{})}
		r.flight[u] = c
		go func() {
			c.doc, c.err = r.fetch(context.WithoutCancel(ctx), u)
			r.flightMu.Lock()
			delete(r.flight, u)
			r.flightMu.Unlock()
			close(c.done)
		}()
	}
	r.flightMu.Unlock()
	select {
	case <-c.done:
		return c.doc, c.err
	case <-ctx.Done():
		return nil, problem.New(problem.LdContextNotAvailable, "@context %s: %v", u, ctx.Err())
	}
}

// fetch retrieves a remote context document and returns its "@context".
func (r *Resolver) fetch(ctx context.Context, u string) (any, error) {
	pu, err := url.Parse(u)
	if err != nil || !pu.IsAbs() || pu.Host == "" {
		return nil, problem.BadData("invalid @context: %q is not an absolute URL", u)
	}
	if pu.Scheme != "http" && pu.Scheme != "https" {
		return nil, problem.New(problem.LdContextNotAvailable, "@context %s: only http and https URLs can be retrieved", u)
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, problem.BadData("invalid @context: %q: %v", u, err)
	}
	req.Header.Set("Accept", "application/ld+json, application/json;q=0.9")
	resp, err := r.client.Do(req)
	if err != nil {
		if errors.Is(err, errForbiddenAddress) {
			return nil, problem.New(problem.LdContextNotAvailable, "@context %s: refused to fetch from a loopback, private or link-local address", u)
		}
		return nil, problem.New(problem.LdContextNotAvailable, "@context %s cannot be retrieved: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, problem.New(problem.LdContextNotAvailable, "@context %s cannot be retrieved: HTTP status %d", u, resp.StatusCode)
	}
	if resp.ContentLength > r.cfg.MaxContextSize {
		return nil, problem.New(problem.LdContextNotAvailable, "@context %s is larger than %d bytes", u, r.cfg.MaxContextSize)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, r.cfg.MaxContextSize+1))
	if err != nil {
		return nil, problem.New(problem.LdContextNotAvailable, "@context %s cannot be retrieved: %v", u, err)
	}
	if int64(len(b)) > r.cfg.MaxContextSize {
		return nil, problem.New(problem.LdContextNotAvailable, "@context %s is larger than %d bytes", u, r.cfg.MaxContextSize)
	}
	return contextMember(u, b)
}
