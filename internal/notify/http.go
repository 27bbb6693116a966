package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// httpTransport POSTs notifications (clause 7.2 of the HTTP binding: the
// Notification in the body, Content-Type, Link when the context is not
// embedded, NGSILD-Tenant for a non-default tenant, and every receiverInfo
// entry as a header).
type httpTransport struct {
	client *http.Client
}

func newHTTPTransport(tlsConf *tls.Config, perHost int) *httpTransport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:             nil, // notifications go to the URI as given
		DialContext:       dialer.DialContext,
		ForceAttemptHTTP2: true,
		// Several endpoints (URIs) often share a receiver (host:port), each
		// with up to MaxInFlight attempts: keep their connections alive.
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   max(256, perHost),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: 0,
		ResponseHeaderTimeout: 0, // the attempt's context bounds the whole exchange
		TLSClientConfig:       tlsConf,
		DisableCompression:    true,
	}
	return &httpTransport{client: &http.Client{
		Transport: tr,
		// A notification is not re-POSTed to wherever a redirect points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (t *httpTransport) Send(ctx context.Context, m *Message) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Endpoint.URI, bytes.NewReader(m.Body))
	if err != nil {
		return 0, Permanent(fmt.Errorf("endpoint %q: %w", m.Endpoint.URI, err))
	}
	h := req.Header
	for _, kv := range m.Endpoint.ReceiverInfo {
		if !validHeader(kv.Key, kv.Value) {
			return 0, Permanent(fmt.Errorf("receiverInfo %q cannot be sent as an HTTP header", kv.Key))
		}
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
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	// Drain (a little of) the body so that the connection is reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := fmt.Errorf("endpoint answered %s", resp.Status)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			err = RetryAfter(err, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()))
		}
		return resp.StatusCode, err
	}
	return resp.StatusCode, nil
}

func (t *httpTransport) Close() error {
	t.client.CloseIdleConnections()
	return nil
}

// validHeader reports whether name is an RFC 9110 token and value has no
// control characters but tab.
func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
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
