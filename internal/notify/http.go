package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// httpTransport POSTs notifications (clause 7.2 of the HTTP binding: the
// Notification in the body, Content-Type, Link when the context is not
// embedded, NGSILD-Tenant for a non-default tenant, and every receiverInfo
// entry as a header) with h1Client, over HTTP/1.1. No proxy: notifications
// go to the URI as given. Redirects are not followed: a notification is
// not re-POSTed to wherever a 3xx points, and a 3xx is a failure.
type httpTransport struct {
	client *h1Client
}

func newHTTPTransport(tlsConf *tls.Config, perHost int) *httpTransport {
	return &httpTransport{client: newH1Client(tlsConf, perHost)}
}

// requests holds request buffers; one that grew past 64 KiB is let go.
var requests = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (t *httpTransport) Send(ctx context.Context, m *Message) (int, error) {
	tg, err := t.client.target(m.Endpoint.URI)
	if err != nil {
		return 0, Permanent(fmt.Errorf("endpoint %q: %w", m.Endpoint.URI, err))
	}
	bp := requests.Get().(*[]byte)
	req, err := appendRequest((*bp)[:0], tg, m)
	if err != nil {
		requests.Put(bp)
		return 0, Permanent(err)
	}
	resp, err := t.client.post(ctx, tg, req)
	if cap(req) <= 64<<10 {
		*bp = req
		requests.Put(bp)
	}
	if err != nil {
		return 0, err
	}
	if resp.status < 200 || resp.status > 299 {
		err := fmt.Errorf("endpoint answered %s", strings.TrimSpace(strconv.Itoa(resp.status)+" "+resp.reason))
		if resp.status == http.StatusTooManyRequests || resp.status == http.StatusServiceUnavailable {
			err = RetryAfter(err, parseRetryAfter(resp.retryAfter, time.Now()))
		}
		return resp.status, err
	}
	return resp.status, nil
}

func (t *httpTransport) Close() error {
	t.client.Close()
	return nil
}

// validHeader reports whether name is an RFC 9110 token and value has no
// control characters but tab.
func validHeader(name, value string) bool {
	return name != "" && validToken(name) && validValue(value)
}

func validToken[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

func validValue[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date
// (RFC 9110 section 10.2.3); 0 when absent or malformed.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 || n > 86400 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
