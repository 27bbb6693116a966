package api

import (
	"context"
	"errors"
	"io"
	"iter"
	"strconv"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/query"
	"github.com/qala-city/qala/internal/store"
)

// queryEntities is Query Entities (clause 5.7.2, 6.4.3.2): selection by id,
// idPattern, type expression, attrs, q, scopeQ and geo-query, with pagination
// and count.
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
	if err := c.linkedDepthAllowed(c.query.Get("q")); err != nil {
		return nil, err
	}
	sel, err := query.Parse(query.ParamsFromValues(c.query), ctx)
	if err != nil {
		return nil, err
	}
	sel.Resolve = c.resolver()
	if v, ok := c.query["csf"]; ok {
		return nil, csfUnsupported(v[0], ctx)
	}
	local, err := boolParam(c, "local")
	if err != nil {
		return nil, err
	}
	if err := narrowEnough("a query", sel, o.Attrs, local); err != nil {
		return nil, err
	}
	if sel.Type != nil && sel.Type.All && c.query.Get("local") == "false" {
		return nil, problem.BadData("type=* selects every entity of this broker only: it needs local=true or no local, not local=false (clause 4.17 of v1.9)")
	}
	q := storeQuery(sel, o.Attrs)
	order, err := c.urlOrdering(ctx)
	if err != nil {
		return nil, err
	}
	return c.runQuery(q, sel.Geo, order, o, mt, ctx)
}

// storeQuery turns a parsed selection into a store query. What the store's
// indexes can answer goes into its conditions: ids, idPattern, a type list,
// the q conjuncts that are value conditions (query.IndexConds) and the
// geo-query (tested by the store on the geometries it keeps). The rest (other
// q terms, scopeQ, type expressions with ";") stays in Filter, nil when
// nothing is left, so that such queries decode no entity to select it.
func storeQuery(sel *query.Query, attrs []string) store.Query {
	q := store.Query{IDs: sel.IDs, IDPattern: sel.IDPattern, Attrs: attrs}
	rest := *sel
	rest.IDs, rest.IDPattern = nil, nil
	if types, ok := sel.IndexTypes(); ok {
		q.Types = types
		rest.Type = nil
	}
	conds, left := query.IndexConds(sel.Q)
	for _, c := range conds {
		q.Values = append(q.Values, store.ValueCond(c))
	}
	rest.Q = left
	if g := sel.Geo; g != nil {
		q.GeoAttr, q.GeoMatch = g.Property, g.MatchGeometry
		rest.Geo = nil
	}
	if !rest.Empty() {
		q.Filter = rest.Match
		q.FilterAttrs = rest.Attrs()
	}
	return q
}

// runQuery is the part of Query Entities that GET and POST share: paging and
// count from the URL, the tenant, geo pruning, the store query (ordered when
// asked), the NGSILD-Results-Count header, and rendering with the join asked
// for.
func (c *call) runQuery(q store.Query, g *query.GeoQuery, order *query.Ordering, o ngsild.RenderOptions, mt string, ctx *jsonld.Context) (*response, error) {
	count, err := boolParam(c, "count")
	if err != nil {
		return nil, err
	}
	q.Count = count
	if q.Limit, q.Offset, err = c.page(count); err != nil {
		return nil, err
	}
	j, err := c.joinOptions()
	if err != nil {
		return nil, err
	}
	resp := &response{}
	if resp.geometryProperty, err = c.geometryProperty(ctx, mt); err != nil {
		return nil, err
	}
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	geoBox(&q, g)
	limit := q.Limit
	if limit > 0 {
		q.Limit++ // one more tells whether a next page exists
	}
	res, err := c.api.queryStore(c, q, order)
	if err != nil {
		return nil, err
	}
	more := len(res.Entities) > limit
	if more {
		res.Entities = res.Entities[:limit]
	}
	if count {
		resp.setHeader("NGSILD-Results-Count", strconv.Itoa(res.Count))
	}
	resp = withContext(c.renderResult(resp, res.Entities, o, mt, ctx, j), mt, ctx)
	c.pageLinks(resp, q.Offset, limit, more, mt)
	return resp, nil
}

// renderResult renders a page of query results with the join asked for.
// With pick or omit, entities left with no member are dropped (ETSI TP
// 019_17).
func (c *call) renderResult(resp *response, es []*ngsild.Entity, o ngsild.RenderOptions, mt string, ctx *jsonld.Context, j join) *response {
	if mt == mtGeo {
		return c.api.renderList(resp, es, o, mt, ctx)
	}
	if mt == mtLD {
		o.IncludeContext = contextValue(ctx)
	}
	projected := o.Pick != nil || o.Omit != nil
	if j.mode == "" && len(es) < streamMin {
		return renderPage(resp, es, o, projected)
	}
	docs := func(yield func(ngsild.Doc) bool) {
		for _, e := range es {
			var d ngsild.Doc
			if j.mode == "inline" {
				d = c.inline(c.r.Context(), e, o, j.level, j.seen, c.pick, c.omit)
			} else {
				d = ngsild.Render(e, o)
			}
			if projected && len(d) <= 1 && (len(d) == 0 || d[0].Key == "@context") {
				continue
			}
			if !yield(d) {
				return
			}
		}
		if j.mode == "flat" {
			for _, l := range c.flat(c.r.Context(), es, j.level, j.seen, c.pick, c.omit) {
				if !yield(ngsild.Render(l.e, withProj(o, l.pick, l.omit))) {
					return
				}
			}
		}
	}
	if len(es) >= streamMin {
		resp.body = streamArray(docs)
		return resp
	}
	out := make([]ngsild.Doc, 0, len(es))
	for d := range docs {
		out = append(out, d)
	}
	resp.body = out
	return resp
}

// renderPage renders a page straight into a pooled buffer (ngsild.RenderEach
// builds no Doc on the heap), released once the response is written. The
// bytes are those of encoding the []ngsild.Doc of Render.
func renderPage(resp *response, es []*ngsild.Entity, o ngsild.RenderOptions, projected bool) *response {
	buf := bufPool.Get().(*[]byte)
	b := append((*buf)[:0], '[')
	n := 0
	err := ngsild.RenderEach(es, o, func(d ngsild.Doc) error {
		if projected && len(d) <= 1 && (len(d) == 0 || d[0].Key == "@context") {
			return nil
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		var err error
		b, err = d.AppendJSON(b)
		return err
	})
	if err != nil {
		// Not encodable (NaN, ...): the generic encoder reports it.
		*buf = b[:0]
		bufPool.Put(buf)
		resp.body = errBody{err}
		return resp
	}
	b = append(b, ']')
	resp.body = b
	resp.release = func() {
		if cap(b) <= 1<<20 {
			*buf = b[:0]
			bufPool.Put(buf)
		}
	}
	return resp
}

// streamMin is the page size from which a result is streamed: each entity is
// rendered and written in turn instead of the whole page being built in
// memory first.
const streamMin = 100

// streamArray writes the documents as one JSON array, one at a time.
func streamArray(docs iter.Seq[ngsild.Doc]) streamBody {
	return func(w io.Writer) error {
		buf := []byte{'['}
		n := 0
		for d := range docs {
			if n > 0 {
				buf = append(buf, ',')
			}
			n++
			var err error
			if buf, err = d.AppendJSON(buf); err != nil {
				return err
			}
			if len(buf) >= 16<<10 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		buf = append(buf, ']')
		_, err := w.Write(buf)
		return err
	}
}

// renderList sets resp's body to the entities in the negotiated
// representation: a JSON array, or a GeoJSON FeatureCollection.
func (a *API) renderList(resp *response, es []*ngsild.Entity, o ngsild.RenderOptions, mt string, ctx *jsonld.Context) *response {
	if mt == mtGeo {
		gp := ngsild.IRILocation
		if v := resp.geometryProperty; v != "" {
			gp = v
		}
		o.IncludeContext = geoContextValue(ctx)
		resp.body = ngsild.RenderFeatureCollection(es, o, gp)
		return resp
	}
	if mt == mtLD {
		o.IncludeContext = contextValue(ctx)
	}
	out := make([]ngsild.Doc, len(es))
	for i, e := range es {
		out[i] = ngsild.Render(e, o)
	}
	resp.body = out
	return resp
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

// queryStore runs q; with an order it fetches every match (at most
// maxOrdered), sorts them and pages the sorted list.
//
// Every query is bounded in time (Config.QueryTimeout): one that runs longer
// is stopped and answered TooComplexQuery.
func (a *API) queryStore(c *call, q store.Query, order *query.Ordering) (store.Result, error) {
	ctx, cancel := context.WithTimeout(c.r.Context(), a.cfg.QueryTimeout)
	defer cancel()
	q.MaxBytes = a.cfg.QueryMemory
	tooLong := func(err error) error {
		switch {
		case errors.Is(err, context.DeadlineExceeded) && c.r.Context().Err() == nil:
			return problem.New(problem.TooComplexQuery, "the query ran longer than %v; narrow it with type, q, a smaller area or a limit", a.cfg.QueryTimeout)
		case errors.Is(err, store.ErrTooLarge):
			return problem.New(problem.TooComplexQuery, "the query would hold more than %d bytes of entities in memory; lower limit or narrow the query", a.cfg.QueryMemory)
		}
		return err
	}
	if order == nil {
		res, err := a.store.Query(ctx, c.tenant, q)
		return res, tooLong(err)
	}
	offset, limit := q.Offset, q.Limit
	q.Offset, q.Limit, q.Count = 0, maxOrdered+1, true
	res, err := a.store.Query(ctx, c.tenant, q)
	if err != nil {
		return res, tooLong(err)
	}
	if res.Count > maxOrdered {
		return res, problem.New(problem.TooComplexQuery, "orderBy would sort %d entities; narrow the query to at most %d matches", res.Count, maxOrdered)
	}
	order.Sort(res.Entities)
	if offset > len(res.Entities) {
		offset = len(res.Entities)
	}
	res.Entities = res.Entities[offset:min(offset+limit, len(res.Entities))]
	return res, nil
}

// geoBox lets the store prune candidates by the geo-query's bounding box
// (its R-tree, or PostGIS &&); the exact predicate is q.GeoMatch. The box
// is widened by geoSlack on every side: the exact predicates count points
// within rounding distance (~1e-12°) of an edge or corner as on it, so a
// geometry touching the query's box from just outside may still match.
func geoBox(q *store.Query, g *query.GeoQuery) {
	if g == nil {
		return
	}
	if b, ok := g.Bounds(); ok {
		q.GeoAttr = g.Property
		q.GeoBox = &[4]float64{b.MinLon - geoSlack, b.MinLat - geoSlack, b.MaxLon + geoSlack, b.MaxLat + geoSlack}
	}
}

// geoSlack is the margin of geoBox, in degrees (~0.1 mm).
const geoSlack = 1e-9

// csfUnsupported is the answer to a context source filter (csf), which
// applies to federation, which Qala does not offer yet: a csf that is not
// syntactically valid (clause 4.9 syntax) is BadRequestData, as clauses
// 5.7.2.4 and 5.7.4.4 require of Query Entities and Query Temporal Evolution
// of Entities before anything else is done; a valid one is
// OperationNotSupported. raw is the csf as given: a string, or anything else
// from a JSON body.
func csfUnsupported(raw any, ctx *jsonld.Context) error {
	s, ok := raw.(string)
	if !ok {
		return problem.BadData("csf must be a string")
	}
	if _, err := query.ParseQ(s, ctx); err != nil {
		return problem.BadData("csf: not a valid context source filter (clause 4.9 syntax): %s", problem.As(err).Detail)
	}
	return problem.New(problem.OperationNotSupported, "csf (context source filter) applies to federation, which Qala does not offer yet")
}
