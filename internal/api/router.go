package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/qala-city/qala/internal/problem"
)

// route is one entry of the route table: a method, a path pattern whose
// segments in braces are parameters, the query parameters the operation
// accepts, and the handler.
type route struct {
	method  string
	pattern string
	params  []string // accepted query parameters; any other is InvalidRequest
	handler handlerFunc
	name    string // metrics label; defaults to pattern

	segs []string
}

// router matches requests against the route table. Entity ids are URIs that
// may hold escaped slashes, so matching works on the escaped path, segment by
// segment, and parameters are unescaped after matching.
type router struct {
	routes []*route
}

func newRouter(routes []*route) *router {
	for _, rt := range routes {
		rt.segs = strings.Split(strings.Trim(rt.pattern, "/"), "/")
		if rt.name == "" {
			rt.name = rt.pattern
		}
	}
	return &router{routes: routes}
}

// match returns the route for the request and its path parameters. When the
// path matches some route but not the method it returns a MethodNotAllowed
// problem listing the allowed methods; when nothing matches, ResourceNotFound.
func (rt *router) match(r *http.Request) (*route, map[string]string, []string, error) {
	path := r.URL.EscapedPath()
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	// A trailing slash is tolerated: /entities/ is /entities.
	trimmed := segs
	if len(segs) > 1 && segs[len(segs)-1] == "" {
		trimmed = segs[:len(segs)-1]
	}
	var allowed []string
	for _, ro := range rt.routes {
		params, ok := matchSegs(ro.segs, trimmed)
		if !ok {
			continue
		}
		if ro.method != r.Method && !(ro.method == http.MethodGet && r.Method == http.MethodHead) {
			allowed = append(allowed, ro.method)
			continue
		}
		return ro, params, nil, nil
	}
	// An empty entity id ("/entities/" with PUT or PATCH, "/entities//attrs/x")
	// is a bad request rather than a missing resource. But DELETE on a
	// collection URL that ends in the slash ("/temporal/entities/",
	// "/subscriptions/") addresses the collection, which has no DELETE:
	// MethodNotAllowed, as for the collection without the slash (ETSI TPs
	// 009_02_01, 032_01_01; "/entities/" is Purge Entities).
	collectionDelete := r.Method == http.MethodDelete && len(allowed) > 0 && len(segs) > len(trimmed)
	for _, ro := range rt.routes {
		if collectionDelete {
			break
		}
		if ro.method == r.Method && len(ro.segs) == len(segs) {
			if p, ok := matchSegsEmpty(ro.segs, segs); ok {
				return nil, nil, nil, problem.BadData("the %s in the path is empty", p)
			}
		}
	}
	if len(allowed) > 0 {
		return nil, nil, allowed, &problem.Error{Type: problem.MethodNotAllowed,
			Detail: "method " + r.Method + " is not allowed on " + path + "; allowed: " + strings.Join(allowed, ", ")}
	}
	return nil, nil, nil, problem.NotFound("no resource at %s", path)
}

func matchSegs(pat, segs []string) (map[string]string, bool) {
	if len(pat) != len(segs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range pat {
		if len(p) > 1 && p[0] == '{' && p[len(p)-1] == '}' {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				return nil, false
			}
			if params == nil {
				params = make(map[string]string, 2)
			}
			params[p[1:len(p)-1]] = v
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}

// matchSegsEmpty reports whether path matches the pattern except that the
// entityId parameter is empty, or an attrId parameter that is not the last
// segment (".../attrs//{instanceId}": no resource can be meant but that
// attribute's), and returns the parameter's name.
func matchSegsEmpty(pat, segs []string) (string, bool) {
	empty := ""
	for i, p := range pat {
		if p == "{entityId}" && segs[i] == "" {
			empty = "entity id"
			continue
		}
		if p == "{attrId}" && segs[i] == "" && i < len(pat)-1 {
			empty = "attribute name"
			continue
		}
		if len(p) > 1 && p[0] == '{' {
			if segs[i] == "" {
				return "", false
			}
			continue
		}
		if p != segs[i] {
			return "", false
		}
	}
	return empty, empty != ""
}
