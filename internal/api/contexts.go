package api

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/qala-city/qala/internal/problem"
)

// addContext stores a hosted @context (clause 5.13.2, 6.30.3.1).
func (a *API) addContext(c *call) (*response, error) {
	if _, err := c.contentType(false); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, c.r.Body, a.cfg.MaxBody))
	if err != nil {
		return nil, problem.Invalid("reading the request body: %v", err)
	}
	info, err := a.resolver.Add(c.r.Context(), b)
	if err != nil {
		return nil, err
	}
	resp := &response{status: http.StatusCreated}
	resp.setHeader("Location", "/ngsi-ld/v1/jsonldContexts/"+url.PathEscape(info.LocalID))
	return resp, nil
}

// listContexts lists the @contexts the broker holds (clause 5.13.3, 6.30.3.2).
func (a *API) listContexts(c *call) (*response, error) {
	if _, err := c.accept(false); err != nil {
		return nil, err
	}
	details, err := boolParam(c, "details")
	if err != nil {
		return nil, err
	}
	kind := c.query.Get("kind")
	switch kind {
	case "", "Hosted", "Cached", "ImplicitlyCreated":
	default:
		return nil, problem.BadData("kind must be Hosted, Cached or ImplicitlyCreated, not %q", kind)
	}
	list := a.resolver.List(kind)
	if details {
		return &response{body: list}, nil
	}
	urls := make([]string, 0, len(list))
	for _, ci := range list {
		urls = append(urls, ci.URL)
	}
	return &response{body: urls}, nil
}

// getContext serves one @context, or its details (clause 5.13.4, 6.31.3.1).
func (a *API) getContext(c *call) (*response, error) {
	if _, err := c.accept(false); err != nil {
		return nil, err
	}
	details, err := boolParam(c, "details")
	if err != nil {
		return nil, err
	}
	info, doc, err := a.resolver.Get(c.params["contextId"])
	if err != nil {
		return nil, err
	}
	if details {
		return &response{body: info}, nil
	}
	return &response{body: doc}, nil
}

// deleteContext deletes a hosted @context or reloads a cached one (clause
// 5.13.5, 6.31.3.2).
func (a *API) deleteContext(c *call) (*response, error) {
	reload, err := boolParam(c, "reload")
	if err != nil {
		return nil, err
	}
	if err := a.resolver.Delete(c.r.Context(), c.params["contextId"], reload); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

// boolParam reads an optional true/false query parameter.
func boolParam(c *call, name string) (bool, error) {
	switch v := c.query.Get(name); v {
	case "":
		return false, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return false, problem.BadData("%s must be true or false, not %q", name, v)
	}
}

// sourceIdentity is the ContextSourceIdentity of this broker (clause 5.15 of
// v1.8).
type sourceIdentity struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Alias   string `json:"contextSourceAlias"`
	started time.Time
}

func newSourceIdentity(cfg Config) sourceIdentity {
	return sourceIdentity{ID: "urn:ngsi-ld:ContextSource:" + cfg.SourceName, Type: "ContextSourceIdentity", Alias: cfg.SourceName, started: time.Now()}
}

func (a *API) sourceIdentity(c *call) (*response, error) {
	mt, err := c.accept(false)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	up := now.Sub(a.identity.started).Round(time.Second)
	body := map[string]any{
		"id":                  a.identity.ID,
		"type":                a.identity.Type,
		"contextSourceAlias":  a.identity.Alias,
		"contextSourceUptime": isoDuration(up),
		"contextSourceTimeAt": now.UTC().Format("2006-01-02T15:04:05.000Z"),
		"contextSourceExtras": map[string]any{"version": a.cfg.Version, "store": "embedded"},
	}
	if mt == mtLD {
		body["@context"] = a.resolver.Core().LinkURL()
	}
	return withContext(&response{body: body}, mt, a.resolver.Core()), nil
}

// isoDuration renders d as an ISO 8601 duration (PTnHnMnS).
func isoDuration(d time.Duration) string {
	s := int64(d.Seconds())
	h, m := s/3600, (s%3600)/60
	s %= 60
	out := "PT"
	if h > 0 {
		out += strconv.FormatInt(h, 10) + "H"
	}
	if m > 0 {
		out += strconv.FormatInt(m, 10) + "M"
	}
	return out + strconv.FormatInt(s, 10) + "S"
}
