package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qala-city/qala/internal/jsondec"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/store"
)

// handlerFunc is the shape of every operation: it reads the call and returns a
// response or an error. Errors are rendered as ProblemDetails by ServeHTTP and
// nowhere else.
type handlerFunc func(c *call) (*response, error)

// call is one request on its way through a handler.
type call struct {
	r      *http.Request
	api    *API
	route  *route
	params map[string]string
	query  url.Values
	tenant string
	// version is the NGSI-LD version the client prefers (Prefer:
	// ngsi-ld=<major.minor>, clause 4.3.6.8 of v1.9), hasVersion whether
	// it gave one: a successful response says Preference-Applied.
	version    ngsild.Version
	hasVersion bool

	pick, omit *proj // set by renderOptions
}

// response is what a handler returns. body is encoded as JSON unless it is
// []byte or a streamBody; a nil body sends no content.
type response struct {
	// geometryProperty is the expanded GeoProperty of a GeoJSON response.
	geometryProperty string

	status      int
	header      http.Header
	body        any
	contentType string
	// release, when set, is called once the body is written (it recycles
	// the body's buffer).
	release func()
}

// errBody is a body that failed to encode: writeResponse answers an
// InternalError as for any body it cannot encode.
type errBody struct{ err error }

// setHeader sets a response header. NGSILD-* names keep the spelling of the
// spec rather than Go's canonical form (clients must not care, some do).
// streamBody is a body written in pieces (large query results), without a
// Content-Length.
type streamBody func(w io.Writer) error

func (r *response) setHeader(k, v string) {
	if r.header == nil {
		r.header = make(http.Header)
	}
	if strings.HasPrefix(k, "NGSILD-") {
		r.header[k] = []string{v}
		return
	}
	r.header.Set(k, v)
}

const tenantHeader = "NGSILD-Tenant"

// ServeHTTP routes the request, runs its handler and renders the result.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	routeName := "unmatched"
	status := 0
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { // a stream that failed half-way: drop the connection
				panic(v)
			}
			a.log.Error("panic in handler", "route", routeName, "panic", v, "stack", string(debug.Stack()))
			status = a.writeError(w, r, problem.New(problem.InternalError, "internal error"), nil)
		}
		a.metrics.observe(routeName, r.Method, status, time.Since(start))
	}()
	if a.cors(w, r) {
		status = http.StatusNoContent
		return
	}
	ro, params, allowed, err := a.router.match(r)
	if err != nil {
		status = a.writeError(w, r, err, allowed)
		return
	}
	routeName = ro.name
	c := &call{r: r, api: a, route: ro, params: params}
	resp, err := a.prepare(c)
	if err == nil {
		resp, err = ro.handler(c)
	}
	if err != nil {
		status = a.writeError(w, r, err, nil)
		return
	}
	if c.hasVersion && resp != nil {
		resp.setHeader("Preference-Applied", "ngsi-ld="+c.version.String())
	}
	status = a.writeResponse(w, r, c, resp)
}

// prepare checks what every operation shares: query parameters, tenant.
func (a *API) prepare(c *call) (*response, error) {
	q, err := parseQuery(c.r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	for k := range q {
		if !contains(c.route.params, k) {
			return nil, problem.Invalid("unknown query parameter %q for %s %s", k, c.route.method, c.route.pattern)
		}
	}
	c.query = q
	c.version, c.hasVersion = preferredVersion(c)
	c.tenant = c.r.Header.Get(tenantHeader)
	if c.tenant != "" {
		if err := validTenant(c.tenant); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func validTenant(t string) error {
	if len(t) > 256 {
		return problem.BadData("NGSILD-Tenant is longer than 256 characters")
	}
	for _, r := range t {
		if r < 0x21 || r > 0x7e || strings.ContainsRune(`"<>\^{|}`+"`", r) {
			return problem.BadData("NGSILD-Tenant %q holds a character that is not allowed", t)
		}
	}
	return nil
}

// readTenant fails with NonexistentTenant when the call names a tenant that
// has never been written to.
func (c *call) readTenant() error {
	if c.tenant == store.DefaultTenant || c.api.store.HasTenant(c.r.Context(), c.tenant) {
		return nil
	}
	return problem.New(problem.NonexistentTenant, "tenant %q does not exist", c.tenant)
}

func (a *API) writeResponse(w http.ResponseWriter, r *http.Request, c *call, resp *response) int {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	if c.tenant != "" {
		h[tenantHeader] = []string{c.tenant}
	}
	status := resp.status
	if status == 0 {
		status = http.StatusOK
	}
	if resp.body == nil {
		w.WriteHeader(status)
		return status
	}
	if x, ok := resp.body.(streamBody); ok {
		ct := resp.contentType
		if ct == "" {
			ct = "application/json"
		}
		h.Set("Content-Type", ct)
		w.WriteHeader(status)
		if r.Method == http.MethodHead {
			return status
		}
		if err := x(w); err != nil {
			// The status is sent: abort the connection so the client sees a
			// truncated response rather than a short but valid one.
			a.log.Warn("streaming a response failed", "path", r.URL.Path, "err", err)
			panic(http.ErrAbortHandler)
		}
		return status
	}
	if resp.release != nil {
		defer resp.release()
	}
	var b []byte
	switch x := resp.body.(type) {
	case []byte:
		b = x
	case errBody:
		a.log.Error("encoding response", "err", x.err)
		return a.writeError(w, r, problem.New(problem.InternalError, "encoding the response failed"), nil)
	default:
		var err error
		buf := bufPool.Get().(*[]byte)
		defer func() {
			if cap(b) <= 1<<20 {
				*buf = b[:0]
				bufPool.Put(buf)
			}
		}()
		b, err = ngsild.AppendJSON((*buf)[:0], x)
		if err != nil {
			a.log.Error("encoding response", "err", err)
			return a.writeError(w, r, problem.New(problem.InternalError, "encoding the response failed"), nil)
		}
	}
	ct := resp.contentType
	if ct == "" {
		ct = "application/json"
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
	return status
}

// bufPool recycles response buffers: a page of entities is tens of KB, and
// growing a fresh buffer for each response showed in profiles.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// problemBody is the ProblemDetails (RFC 7807) body of an error response.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// writeError renders err as ProblemDetails. Errors that are not problems are
// logged and rendered as InternalError without their text.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error, allowed []string) int {
	pe := problem.As(err)
	if pe == nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.Is(err, store.ErrNoTenant):
			pe = problem.New(problem.NonexistentTenant, "tenant %q does not exist", r.Header.Get(tenantHeader))
		case errors.Is(err, store.ErrNotFound):
			pe = problem.NotFound("entity not found")
		case errors.Is(err, store.ErrClosed):
			pe = problem.New(problem.ServiceUnavailable, "the server is shutting down")
		case errors.As(err, &mbe):
			pe = problem.New(problem.PayloadTooLarge, "request body exceeds %d bytes", mbe.Limit)
		default:
			a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			pe = problem.New(problem.InternalError, "internal error")
		}
	}
	status := pe.HTTPStatus()
	title := pe.Title
	if title == "" {
		title = problem.Title(pe.Type)
	}
	body, _ := json.Marshal(problemBody{Type: problem.BaseURI + string(pe.Type), Title: title, Status: status, Detail: pe.Detail})
	h := w.Header()
	if len(allowed) > 0 {
		h.Set("Allow", strings.Join(allowed, ", "))
	}
	if t := r.Header.Get(tenantHeader); t != "" && validTenant(t) == nil {
		h[tenantHeader] = []string{t}
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	if status >= 500 {
		a.log.Warn("server error", "method", r.Method, "path", r.URL.Path, "type", pe.Type, "detail", pe.Detail)
	} else {
		a.log.Debug("client error", "method", r.Method, "path", r.URL.Path, "type", pe.Type, "detail", pe.Detail)
	}
	return status
}

// readJSON reads the request body (bounded by the configured limit) and
// decodes it into any JSON value.
func (c *call) readJSON() (any, error) {
	if c.r.ContentLength > c.api.cfg.MaxBody {
		return nil, problem.New(problem.PayloadTooLarge, "request body exceeds %d bytes", c.api.cfg.MaxBody)
	}
	b, err := readBody(c.r, c.api.cfg.MaxBody)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, problem.New(problem.PayloadTooLarge, "request body exceeds %d bytes", mbe.Limit)
		}
		return nil, problem.Invalid("reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, problem.Invalid("the request body is empty")
	}
	v, err := jsondec.Decode(b)
	if err != nil {
		return nil, problem.Invalid("the request body is not valid JSON: %v", err)
	}
	return v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readBody reads a request body of at most max bytes, in one allocation when
// the client announced its length.
func readBody(r *http.Request, max int64) ([]byte, error) {
	body := http.MaxBytesReader(nil, r.Body, max)
	if n := r.ContentLength; n > 0 {
		b := make([]byte, n)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(body)
}

// parseQuery splits a query string on "&" only: NGSI-LD parameters hold
// unescaped ";" (georel=near;maxDistance==500, q=a>1;b<2), which
// url.ParseQuery refuses.
func parseQuery(raw string) (url.Values, error) {
	v := url.Values{}
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, val, _ := strings.Cut(part, "=")
		key, err := queryUnescape(k)
		if err != nil {
			return nil, problem.Invalid("malformed query parameter name %q: %v", k, err)
		}
		value, err := queryUnescape(val)
		if err != nil {
			return nil, problem.Invalid("malformed value of query parameter %q: %v", key, err)
		}
		v[key] = append(v[key], value)
	}
	return v, nil
}
