package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Transport sends notifications over one protocol. The Dispatcher picks a
// transport by the scheme of Message.Endpoint.URI (Options.Transports, plus
// the built-in HTTP transport for http and https).
//
// Contract: Send makes one attempt to deliver m and returns nil only when the
// receiver took it (HTTP: a 2xx response; MQTT: the publish completed at the
// QoS asked for). It must return when ctx is done (ctx carries the attempt's
// timeout). status is the protocol's status code when there was one (the
// HTTP status), else 0. An error wrapped with Permanent is not retried: the
// message goes straight to the dead letters (e.g. a malformed URI).
// Send is called concurrently, from up to Options.MaxInFlight goroutines per
// endpoint; it must not retain m after it returns. Close releases the
// transport's connections; it is called once, after the last Send returned.
type Transport interface {
	Send(ctx context.Context, m *Message) (status int, err error)
	Close() error
}

// permanentError marks an error no retry can fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the Dispatcher does not retry the attempt.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was wrapped with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// endpointKey is the identity of an endpoint's queue: the URI and the
// notifier settings (which select e.g. the MQTT connection). receiverInfo
// is per message and does not split queues.
func endpointKey(e *Endpoint) string {
	if len(e.NotifierInfo) == 0 {
		return e.URI
	}
	var b strings.Builder
	b.WriteString(e.URI)
	for _, kv := range e.NotifierInfo {
		b.WriteByte(0)
		b.WriteString(kv.Key)
		b.WriteByte('=')
		b.WriteString(kv.Value)
	}
	return b.String()
}

var defaultPorts = map[string]string{"http": "80", "https": "443", "mqtt": "1883", "mqtts": "8883"}

// endpointLabel is the endpoint as it appears in metrics and the admin
// API's filters: scheme://host:port, without path, query or credentials, so
// that label cardinality stays that of the receivers.
func endpointLabel(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "invalid"
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = defaultPorts[scheme]
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" {
		return scheme + "://" + host
	}
	return fmt.Sprintf("%s://%s:%s", scheme, host, port)
}

func schemeOf(uri string) string {
	i := strings.Index(uri, ":")
	if i <= 0 {
		return ""
	}
	return strings.ToLower(uri[:i])
}

// retryAfterError carries a receiver's request to wait before the next
// attempt (HTTP Retry-After with 429 or 503).
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter wraps err with how long the receiver asked to be left alone;
// the endpoint's backoff is at least that long (up to BackoffMax).
func RetryAfter(err error, d time.Duration) error {
	if err == nil || d <= 0 {
		return err
	}
	return &retryAfterError{err: err, after: d}
}

func retryAfterOf(err error) time.Duration {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.after
	}
	return 0
}
