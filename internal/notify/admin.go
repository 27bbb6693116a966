package notify

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/problem"
)

// AdminPrefix is where AdminHandler expects to be mounted.
const AdminPrefix = "/admin/notifications"

// AdminHandler serves the operator's API for delivery, outside the NGSI-LD
// namespace (mount it at /admin/notifications and /admin/notifications/):
//
//	GET    /admin/notifications                              outbox, dead letter and endpoint counts
//	GET    /admin/notifications/endpoints                    per endpoint: queue depth, in flight, backoff, last error
//	GET    /admin/notifications/dead-letters?filter&limit&offset   dead letters, newest first
//	GET    /admin/notifications/dead-letters/{id}            one, with its headers and body
//	POST   /admin/notifications/dead-letters/{id}/replay     send it again
//	POST   /admin/notifications/dead-letters/replay?filter   send every matching one again
//	DELETE /admin/notifications/dead-letters/{id}            forget it
//	DELETE /admin/notifications/dead-letters?filter          forget every matching one
//
// The filter is subscription, tenant, endpoint (URI or scheme://host:port)
// and notificationId; replaying or deleting with no filter needs all=true.
// Errors are ProblemDetails (application/problem+json).
func (d *Dispatcher) AdminHandler() http.Handler {
	return http.HandlerFunc(d.serveAdmin)
}

func (d *Dispatcher) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if err := d.admin(w, r); err != nil {
		writeAdminError(w, err)
	}
}

func methodNotAllowed(r *http.Request, allowed string) error {
	return &problem.Error{Type: problem.MethodNotAllowed, Detail: r.Method + " is not allowed on " + r.URL.Path + " (allowed: " + allowed + ")"}
}

func (d *Dispatcher) admin(w http.ResponseWriter, r *http.Request) error {
	rest, ok := strings.CutPrefix(r.URL.Path, AdminPrefix)
	if !ok {
		return problem.NotFound("no resource at %s", r.URL.Path)
	}
	rest = strings.Trim(rest, "/")
	parts := strings.Split(rest, "/")
	if rest == "" {
		parts = nil
	}
	switch {
	case len(parts) == 0:
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			return methodNotAllowed(r, "GET")
		}
		writeAdminJSON(w, http.StatusOK, map[string]any{
			"outbox": d.stored.Load(), "deadLetters": d.dead.len(), "endpoints": len(d.endpointStates())})
		return nil
	case parts[0] == "endpoints" && len(parts) == 1:
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			return methodNotAllowed(r, "GET")
		}
		writeAdminJSON(w, http.StatusOK, d.endpointStates())
		return nil
	case parts[0] != "dead-letters" || len(parts) > 3:
		return problem.NotFound("no resource at %s", r.URL.Path)
	}
	q, err := parseListQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	switch {
	case len(parts) == 1: // the collection
		switch r.Method {
		case http.MethodGet:
			metas, total := d.dead.matching(&q.Filter, q.Offset, q.Limit)
			out := make([]DeadLetter, len(metas))
			for i, m := range metas {
				out[i] = m.view()
			}
			w.Header().Set("X-Total-Count", strconv.Itoa(total))
			writeAdminJSON(w, http.StatusOK, out)
			return nil
		case http.MethodDelete:
			if q.empty() && !q.All {
				return problem.BadData("give a filter (subscription, tenant, endpoint, notificationId) or all=true to delete every dead letter")
			}
			metas, _ := d.dead.matching(&q.Filter, 0, -1)
			n, err := d.drop(metas)
			if err != nil {
				return err
			}
			writeAdminJSON(w, http.StatusOK, map[string]int{"deleted": n})
			return nil
		}
		w.Header().Set("Allow", "GET, DELETE")
		return methodNotAllowed(r, "GET, DELETE")
	case len(parts) == 2 && parts[1] == "replay":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			return methodNotAllowed(r, "POST")
		}
		if q.empty() && !q.All {
			return problem.BadData("give a filter (subscription, tenant, endpoint, notificationId) or all=true to replay every dead letter")
		}
		metas, _ := d.dead.matching(&q.Filter, 0, -1)
		// Oldest first, as they were first sent.
		sort.Slice(metas, func(i, j int) bool { return metas[i].Seq < metas[j].Seq })
		n, err := d.replay(metas)
		if err != nil {
			return err
		}
		writeAdminJSON(w, http.StatusOK, map[string]int{"replayed": n})
		return nil
	}
	// One dead letter.
	if r.URL.RawQuery != "" {
		return problem.BadData("no query parameters on a single dead letter")
	}
	seq, err := strconv.ParseUint(parts[1], 10, 64)
	var m *deadMeta
	if err == nil {
		m = d.dead.get(seq)
	}
	if m == nil {
		return problem.NotFound("no dead letter %q", parts[1])
	}
	if len(parts) == 3 {
		if parts[2] != "replay" {
			return problem.NotFound("no resource at %s", r.URL.Path)
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			return methodNotAllowed(r, "POST")
		}
		n, err := d.replay([]*deadMeta{m})
		if err != nil {
			return err
		}
		if n == 0 {
			return problem.NotFound("no dead letter %q", parts[1])
		}
		writeAdminJSON(w, http.StatusOK, map[string]int{"replayed": n})
		return nil
	}
	switch r.Method {
	case http.MethodGet:
		rec, err := d.readDead(m.Seq)
		if errors.Is(err, ErrClosed) {
			return err
		}
		if err != nil {
			return problem.NotFound("no dead letter %q", parts[1])
		}
		v := metaOf(m.Seq, rec).view()
		v.ContentType, v.Link, v.ReceiverInfo = rec.Msg.ContentType, rec.Msg.Link, rec.Msg.Endpoint.ReceiverInfo
		if json.Valid(rec.Msg.Body) {
			v.Body = json.RawMessage(rec.Msg.Body)
		} else if len(rec.Msg.Body) > 0 {
			v.Body = string(rec.Msg.Body)
		}
		writeAdminJSON(w, http.StatusOK, v)
		return nil
	case http.MethodDelete:
		n, err := d.drop([]*deadMeta{m})
		if err != nil {
			return err
		}
		if n == 0 {
			return problem.NotFound("no dead letter %q", parts[1])
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Allow", "GET, DELETE")
	return methodNotAllowed(r, "GET, DELETE")
}

// EndpointState is an endpoint's delivery state in the admin API.
type EndpointState struct {
	Endpoint      string     `json:"endpoint"` // scheme://host:port
	URI           string     `json:"uri"`      // credentials redacted
	Queued        int        `json:"queued"`   // waiting, in memory or only in the outbox
	InMemory      int        `json:"inMemory"`
	InFlight      int        `json:"inFlight"`
	Spilled       bool       `json:"spilled"` // some wait only in the outbox
	Failures      int        `json:"consecutiveFailures"`
	BackoffUntil  *time.Time `json:"backoffUntil,omitempty"`
	LastError     string     `json:"lastError,omitempty"`
	LastErrorAt   *time.Time `json:"lastErrorAt,omitempty"`
	LastSuccessAt *time.Time `json:"lastSuccessAt,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "invalid"
	}
	return u.Redacted()
}

// endpointStates lists the endpoints' states, by endpoint then URI.
func (d *Dispatcher) endpointStates() []EndpointState {
	d.qmu.RLock()
	qs := make([]*queue, 0, len(d.queues))
	for _, q := range d.queues {
		qs = append(qs, q)
	}
	d.qmu.RUnlock()
	out := make([]EndpointState, 0, len(qs))
	now := time.Now()
	for _, q := range qs {
		q.mu.Lock()
		s := EndpointState{Endpoint: q.label, URI: redact(q.uri), Queued: q.stored, InMemory: len(q.pending), InFlight: q.inflight,
			Spilled: q.spilled, Failures: q.failures, LastError: q.lastErr, LastErrorAt: timePtr(q.lastErrAt), LastSuccessAt: timePtr(q.lastOKAt)}
		if q.backoffUntil.After(now) {
			s.BackoffUntil = timePtr(q.backoffUntil)
		}
		q.mu.Unlock()
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Endpoint != out[j].Endpoint {
			return out[i].Endpoint < out[j].Endpoint
		}
		return out[i].URI < out[j].URI
	})
	return out
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func writeAdminError(w http.ResponseWriter, err error) {
	pe := problem.As(err)
	if pe == nil {
		if errors.Is(err, ErrClosed) {
			pe = problem.New(problem.ServiceUnavailable, "the server is shutting down")
		} else {
			pe = problem.New(problem.InternalError, "%v", err)
		}
	}
	problem.Write(w, pe)
}
