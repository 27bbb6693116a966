package query

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
)

// Params holds the raw (URL-decoded) entity selection parameters of a
// query (clause 6.4.3.2) or of a subscription.
type Params struct {
	ID          string // comma-separated entity ids
	IDPattern   string // regular expression over entity ids
	Type        string // type selection (clause 4.17)
	Q           string // query language (clause 4.9)
	ScopeQ      string // scope query (clause 4.19)
	GeoRel      string // geo-query (clause 4.10) ...
	Geometry    string
	Coordinates string
	GeoProperty string
	// ExpandValues lists the attributes (comma-separated) whose string
	// values in q are expanded with the @context before the query runs
	// (clause 4.9 of v1.9, EXAMPLE 12; the expandValues parameter).
	ExpandValues string
}

// ParamsFromValues reads Params from URL query values.
func ParamsFromValues(v url.Values) Params {
	return Params{
		ID: v.Get("id"), IDPattern: v.Get("idPattern"), Type: v.Get("type"), Q: v.Get("q"),
		ScopeQ: v.Get("scopeQ"), GeoRel: v.Get("georel"), Geometry: v.Get("geometry"),
		Coordinates: v.Get("coordinates"), GeoProperty: v.Get("geoproperty"),
		ExpandValues: v.Get("expandValues"),
	}
}

// Query is a parsed entity selection: every part that is set must hold.
type Query struct {
	IDs       []string
	IDPattern *regexp.Regexp
	Type      *TypeExpr
	Q         Expr
	ScopeQ    *ScopeNode
	Geo       *GeoQuery
	// Resolve, when set, finds the entities linked-entity paths of Q reach
	// (in the tenant of the entities matched); without it such paths hold
	// on no entity.
	Resolve Resolver
}

// Parse parses the selection parameters, expanding attribute names, types
// and the geoproperty with ctx. Errors are *problem.Error (BadRequestData,
// or OperationNotSupported for features Qala lacks) whose detail points at
// the offending parameter and offset.
func Parse(p Params, ctx *jsonld.Context) (*Query, error) {
	q := &Query{}
	if p.ID != "" {
		for _, id := range strings.Split(p.ID, ",") {
			id = strings.TrimSpace(id)
			if !isURI(id) {
				return nil, problem.BadData("id: %q is not a URI", id)
			}
			q.IDs = append(q.IDs, id)
		}
	}
	if p.IDPattern != "" {
		re, err := regexp.Compile(p.IDPattern)
		if err != nil {
			return nil, problem.BadData("idPattern: not a valid regular expression: %v", err)
		}
		q.IDPattern = re
	}
	if p.Type != "" {
		var err error
		if q.Type, err = ParseTypes(p.Type, ctx); err != nil {
			return nil, err
		}
	}
	expand, err := parseExpandValues(p.ExpandValues, ctx)
	if err != nil {
		return nil, err
	}
	if p.Q != "" {
		if q.Q, err = ParseQWith(p.Q, ctx, expand); err != nil {
			return nil, err
		}
	}
	if p.ScopeQ != "" {
		if q.ScopeQ, err = ParseScopeQ(p.ScopeQ); err != nil {
			return nil, err
		}
	}
	if q.Geo, err = ParseGeoQuery(p.GeoRel, p.Geometry, p.Coordinates, p.GeoProperty, ctx); err != nil {
		return nil, err
	}
	return q, nil
}

func isURI(s string) bool {
	i := strings.IndexByte(s, ':')
	return i > 0 && !strings.ContainsAny(s, " \t\n<>\"")
}

// Empty reports whether q selects every entity.
func (q *Query) Empty() bool {
	return q.IDs == nil && q.IDPattern == nil && (q.Type == nil || q.Type.All) && q.Q == nil && q.ScopeQ == nil && q.Geo == nil
}

// Match reports whether entity e satisfies every part of q.
func (q *Query) Match(e *ngsild.Entity) bool {
	if q.IDs != nil && !containsString(q.IDs, e.ID) {
		return false
	}
	if q.IDPattern != nil && !q.IDPattern.MatchString(e.ID) {
		return false
	}
	if q.Type != nil && !q.Type.Match(e.Types) {
		return false
	}
	if q.Q != nil && !q.Q.match(e, q.Resolve) {
		return false
	}
	if q.ScopeQ != nil && !MatchScope(q.ScopeQ, e) {
		return false
	}
	return q.Geo == nil || q.Geo.Match(e)
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// IndexTypes returns the expanded types a store may take candidates from
// (any of them), and false when the type selection cannot be answered from
// a type index alone (no type given, "*", or an expression with ";").
func (q *Query) IndexTypes() ([]string, bool) {
	if q.Type == nil {
		return nil, false
	}
	return q.Type.Names()
}
