package api

import (
	"mime"
	"strconv"
	"strings"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/problem"
)

// Media types of the NGSI-LD API (clause 6.3).
const (
	mtJSON       = "application/json"
	mtLD         = "application/ld+json"
	mtGeo        = "application/geo+json"
	mtMergePatch = "application/merge-patch+json"
)

// accept negotiates the response media type from the Accept header (clause
// 6.3.4): application/json (the default), application/ld+json, and
// application/geo+json where geo is true. Nothing acceptable gives 406.
func (c *call) accept(geo bool) (string, error) {
	h := c.r.Header.Values("Accept")
	if len(h) == 0 {
		return mtJSON, nil
	}
	best, bestQ := "", -1.0
	for _, part := range strings.Split(strings.Join(h, ","), ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				q = f
			}
		}
		var cand string
		switch mt {
		case mtJSON, "*/*", "application/*":
			cand = mtJSON
		case mtLD:
			cand = mtLD
		case mtGeo:
			if geo {
				cand = mtGeo
			}
		}
		if cand != "" && q > 0 && q > bestQ {
			best, bestQ = cand, q
		}
	}
	if best == "" {
		return "", &problem.Error{Type: problem.NotAcceptable,
			Detail: "none of the media types in Accept can be produced; use application/json or application/ld+json" + map[bool]string{true: " or application/geo+json", false: ""}[geo]}
	}
	return best, nil
}

// contentType returns the request's media type, refusing with 415 anything but
// application/json, application/ld+json and (when mergePatch) merge-patch+json.
func (c *call) contentType(mergePatch bool) (string, error) {
	h := c.r.Header.Get("Content-Type")
	if h == "" {
		return "", &problem.Error{Type: problem.UnsupportedMediaType, Detail: "Content-Type is missing; use application/json or application/ld+json"}
	}
	mt, _, err := mime.ParseMediaType(h)
	if err != nil {
		return "", &problem.Error{Type: problem.UnsupportedMediaType, Detail: "Content-Type " + strconv.Quote(h) + " is malformed"}
	}
	switch mt {
	case mtJSON, mtLD:
		return mt, nil
	case mtMergePatch:
		if mergePatch {
			return mt, nil
		}
	}
	return "", &problem.Error{Type: problem.UnsupportedMediaType, Detail: "Content-Type " + mt + " is not supported here; use application/json or application/ld+json"}
}

// linkContext resolves the @context named by the request's Link header, or
// the default core context when there is none (clause 6.3.5).
func (c *call) linkContext() (*jsonld.Context, error) {
	links := c.r.Header.Values("Link")
	if len(links) == 0 {
		return c.api.resolver.Core(), nil
	}
	u, err := jsonld.ParseLink(strings.Join(links, ", "))
	if err != nil {
		return nil, err
	}
	if u == "" {
		return c.api.resolver.Core(), nil
	}
	return c.api.resolver.Resolve(c.r.Context(), u)
}

// bodyContext resolves the @context of a request body by the rules of clause
// 6.3.5: application/ld+json bodies carry it in "@context" and must not have a
// context Link header; application/json bodies must not carry "@context" and
// take it from the Link header. doc is the decoded body object (or one
// element of a batch array).
func (c *call) bodyContext(mt string, doc map[string]any) (*jsonld.Context, error) {
	raw, has := doc["@context"]
	if mt == mtLD {
		if !has {
			return nil, problem.BadData("a body of type application/ld+json must have an @context member")
		}
		if l := c.r.Header.Get("Link"); l != "" {
			if u, err := jsonld.ParseLink(l); err == nil && u != "" {
				return nil, problem.BadData("a context Link header must not be sent with Content-Type application/ld+json; put the @context in the body")
			}
		}
		return c.api.resolver.Resolve(c.r.Context(), raw)
	}
	if has {
		return nil, problem.BadData("a body of type %s must not have an @context member; send it in a Link header or use application/ld+json", mt)
	}
	return c.linkContext()
}

// withContext sets the @context of a response as the negotiated media type
// asks: a Link header for application/json and application/geo+json, an
// "@context" member (set by the renderer) for application/ld+json.
func withContext(resp *response, mt string, ctx *jsonld.Context) *response {
	resp.contentType = mt
	if mt != mtLD {
		resp.setHeader("Link", `<`+ctx.LinkURL()+`>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`)
	}
	return resp
}

// contextValue is the value of "@context" in an application/ld+json response.
func contextValue(ctx *jsonld.Context) any {
	if s := ctx.Source(); s != nil {
		return s
	}
	return ctx.LinkURL()
}

// geoContextValue is the value of "@context" in a GeoJSON response: always an
// array (the ETSI expectations of clause 6.3.15 show it so).
func geoContextValue(ctx *jsonld.Context) any {
	switch v := contextValue(ctx).(type) {
	case []any:
		return v
	default:
		return []any{v}
	}
}
