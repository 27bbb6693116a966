package api

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/store"
)

// queryEntities is Query Entities (clause 5.7.2, 6.4.3.2) for selection by id,
// idPattern, type and attrs, with pagination and count.
func (a *API) queryEntities(c *call) (*response, error) {
	mt, err := c.accept(true)
	if err != nil {
		return nil, err
	}
	ctx, err := c.linkContext()
	if err != nil {
		return nil, err
	}
	o, err := c.renderOptions(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range []string{"q", "scopeQ", "georel", "geometry", "coordinates", "geoproperty", "csf"} {
		if _, ok := c.query[p]; ok {
			return nil, problem.New(problem.OperationNotSupported, "query parameter %s is not supported yet", p)
		}
	}
	var q store.Query
	if v := c.query.Get("id"); v != "" {
		for _, id := range splitList(v) {
			if !isURI(id) {
				return nil, problem.BadData("id %q is not a URI", id)
			}
			q.IDs = append(q.IDs, id)
		}
	}
	if v := c.query.Get("idPattern"); v != "" {
		re, err := regexp.Compile(v)
		if err != nil {
			return nil, problem.BadData("idPattern is not a valid regular expression: %v", err)
		}
		q.IDPattern = re
	}
	if v, ok := c.query["type"]; ok {
		if strings.ContainsAny(v[0], ";()") {
			return nil, problem.New(problem.OperationNotSupported, "type expressions with ; and () are not supported yet; use a comma-separated list")
		}
		for _, t := range strings.FieldsFunc(v[0], func(r rune) bool { return r == ',' || r == '|' }) {
			t = strings.TrimSpace(t)
			if !validName(t) {
				return nil, problem.BadData("type %q is not a valid entity type", t)
			}
			q.Types = append(q.Types, ctx.ExpandTerm(t))
		}
		if len(q.Types) == 0 {
			return nil, problem.BadData("type must name at least one entity type")
		}
	}
	q.Attrs = o.Attrs
	local, err := boolParam(c, "local")
	if err != nil {
		return nil, err
	}
	if q.IDs == nil && q.IDPattern == nil && q.Types == nil && q.Attrs == nil && !local {
		return nil, problem.BadData("a query needs at least one of id, idPattern, type, attrs, q, geometry or local=true")
	}
	count, err := boolParam(c, "count")
	if err != nil {
		return nil, err
	}
	q.Count = count
	q.Limit, q.Offset, err = c.page(count)
	if err != nil {
		return nil, err
	}
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	res, err := a.store.Query(c.r.Context(), c.tenant, q)
	if err != nil {
		return nil, err
	}
	resp := &response{}
	if count {
		resp.setHeader("NGSILD-Results-Count", strconv.Itoa(res.Count))
	}
	if mt == mtGeo {
		o.IncludeContext = nil
		gp, err := c.geometryProperty(ctx)
		if err != nil {
			return nil, err
		}
		resp.body = ngsild.RenderFeatureCollection(res.Entities, o, gp)
		return withContext(resp, mt, ctx), nil
	}
	if mt == mtLD {
		o.IncludeContext = contextValue(ctx)
	}
	out := make([]ngsild.Doc, len(res.Entities))
	for i, e := range res.Entities {
		out[i] = ngsild.Render(e, o)
	}
	resp.body = out
	return withContext(resp, mt, ctx), nil
}

// page reads limit and offset (clause 5.5.9): limit defaults to the
// configured page size, must not exceed the maximum, and may be 0 only when
// counting.
func (c *call) page(count bool) (limit, offset int, err error) {
	limit = c.api.cfg.DefaultLimit
	if v := c.query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, problem.BadData("limit must be a non-negative integer, not %q", v)
		}
		if n == 0 && !count {
			return 0, 0, problem.BadData("limit=0 is only allowed with count=true")
		}
		if n > c.api.cfg.MaxLimit {
			return 0, 0, problem.New(problem.TooManyResults, "limit %d exceeds the maximum of %d", n, c.api.cfg.MaxLimit)
		}
		limit = n
	}
	if v := c.query.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, problem.BadData("offset must be a non-negative integer, not %q", v)
		}
		offset = n
	}
	return limit, offset, nil
}
