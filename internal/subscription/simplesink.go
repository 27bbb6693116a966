package subscription

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/notify"
)

// SimpleSink is a stand-in notify.Sink until the delivery package's
// Dispatcher is wired: it POSTs each message over HTTP(S) synchronously, one
// attempt, no outbox (so it does NOT keep the Sink's durability promise for
// a crash mid-delivery), and reports each attempt to Record. MQTT endpoints
// fail. Tests use it as a plain, real HTTP notifier.
type SimpleSink struct {
	Client *http.Client
	Record func(notify.Attempt)
}

// Enqueue delivers msgs in order; a failed delivery is reported, not
// returned (it is not an outbox failure).
func (s *SimpleSink) Enqueue(ctx context.Context, msgs []*notify.Message) error {
	cl := s.Client
	if cl == nil {
		cl = http.DefaultClient
	}
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		a := notify.Attempt{Msg: m, Final: true}
		a.Status, a.Err = post(ctx, cl, m)
		a.OK = a.Err == nil && a.Status >= 200 && a.Status < 300
		a.At = time.Now()
		a.Latency = a.At.Sub(m.Created)
		if s.Record != nil {
			s.Record(a)
		}
	}
	return nil
}

type statusError int

func (e statusError) Error() string { return "endpoint answered " + http.StatusText(int(e)) }

func post(ctx context.Context, cl *http.Client, m *notify.Message) (int, error) {
	if !strings.HasPrefix(m.Endpoint.URI, "http://") && !strings.HasPrefix(m.Endpoint.URI, "https://") {
		return 0, errUnsupported
	}
	timeout := m.Endpoint.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Endpoint.URI, bytes.NewReader(m.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", m.ContentType)
	if m.Link != "" {
		req.Header.Set("Link", m.Link)
	}
	if m.Tenant != "" {
		req.Header["NGSILD-Tenant"] = []string{m.Tenant}
	}
	for _, kv := range m.Endpoint.ReceiverInfo {
		req.Header.Set(kv.Key, kv.Value)
	}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return resp.StatusCode, statusError(resp.StatusCode)
	}
	return resp.StatusCode, nil
}

type unsupported struct{}

func (unsupported) Error() string { return "SimpleSink delivers over http and https only" }

var errUnsupported error = unsupported{}
