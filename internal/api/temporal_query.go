package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/query"
	"github.com/qala-city/qala/internal/store"
	"github.com/qala-city/qala/internal/temporal"
)

// The consumption operations of the temporal API: Retrieve Temporal
// Evolution of an Entity (clause 5.7.3, 6.19.3.1) and Query Temporal
// Evolution of Entities (clause 5.7.4, 6.18.3.2, 6.24.3.1).

// temporalForm is the temporal representation asked for.
type temporalForm uint8

const (
	formNormalized temporalForm = iota // clause 4.5.7 (or concise, by o.Format)
	formValues                         // temporalValues, clause 4.5.9
	formAggregated                     // aggregatedValues, clause 4.5.19
)

// temporalRequest is a parsed temporal retrieval or query.
type temporalRequest struct {
	mt   string
	ctx  *jsonld.Context
	o    ngsild.RenderOptions
	form temporalForm
	q    temporal.Query
	agg  temporal.Aggregation
	// limit is the most instances of one series in the response.
	limit int
}

// maxResponseInstances bounds the attribute instances of one temporal
// response: the per-attribute limit shrinks when a page holds many series.
const maxResponseInstances = 100000

// historySyncTimeout bounds how long a temporal read waits for the history
// to catch up with acknowledged writes.
const historySyncTimeout = 3 * time.Second

// temporalRepresentation reads options and format (clause 6.3.12: format
// wins over options) and the selection parameters.
func (c *call) temporalRepresentation(ctx *jsonld.Context) (ngsild.RenderOptions, temporalForm, error) {
	o := ngsild.RenderOptions{Context: ctx, Format: ngsild.Normalized}
	opts, err := c.optionSet("options", "temporalValues", "aggregatedValues", "sysAttrs", "normalized", "concise", "simplified", "keyValues")
	if err != nil {
		return o, 0, err
	}
	form := formNormalized
	switch {
	case opts["temporalValues"] && opts["aggregatedValues"]:
		if c.query.Get("format") == "" {
			return o, 0, problem.BadData("options may name only one of temporalValues and aggregatedValues")
		}
	case opts["temporalValues"], opts["simplified"], opts["keyValues"]:
		form = formValues
	case opts["aggregatedValues"]:
		form = formAggregated
	}
	if opts["concise"] {
		o.Format = ngsild.Concise
	}
	if f, ok := c.query["format"]; ok {
		switch f[0] {
		case "temporalValues", "simplified", "keyValues":
			form = formValues
		case "aggregatedValues":
			form = formAggregated
		case "normalized":
			form, o.Format = formNormalized, ngsild.Normalized
		case "concise":
			form, o.Format = formNormalized, ngsild.Concise
		default:
			return o, 0, problem.Invalid("format must be normalized, concise, temporalValues, aggregatedValues or simplified, not %q", f[0])
		}
	}
	o.SysAttrs = opts["sysAttrs"]
	return o, form, c.selectionOptions(ctx, &o)
}

// temporalRequest parses what retrieval and query share; ctx expands the
// names of the request; tp holds the temporal query and aggregation
// parameters (from the URL or a body).
func (c *call) temporalRequest(ctx *jsonld.Context, tp temporal.Params, methods, period string) (*temporalRequest, error) {
	mt, err := c.accept(false)
	if err != nil {
		return nil, err
	}
	if err := noLinkedEntities("", c.query.Get("pick"), c.query.Get("omit")); err != nil {
		return nil, err
	}
	req := &temporalRequest{mt: mt, ctx: ctx, limit: c.api.cfg.TemporalLimit}
	if req.o, req.form, err = c.temporalRepresentation(ctx); err != nil {
		return nil, err
	}
	if req.q, err = temporal.ParseQuery(tp); err != nil {
		return nil, err
	}
	if req.form == formAggregated {
		if methods == "" {
			return nil, problem.BadData("aggregatedValues needs aggrMethods (totalCount, distinctCount, sum, avg, min, max, stddev, sumsq)")
		}
		if req.agg, err = temporal.ParseAggregation(methods, period); err != nil {
			return nil, err
		}
	} else if methods != "" || period != "" {
		// Checked even when unused, so that a typo does not go unnoticed.
		if methods != "" {
			if _, err := temporal.ParseMethods(methods); err != nil {
				return nil, err
			}
		}
		if period != "" {
			if _, err := temporal.ParseDuration(period); err != nil {
				return nil, err
			}
		}
	}
	return req, nil
}

// urlTemporalRequest parses a temporal request given in the URL, with the
// @context of the Link header.
func (c *call) urlTemporalRequest() (*temporalRequest, error) {
	ctx, err := c.linkContext()
	if err != nil {
		return nil, err
	}
	tp := temporal.Params{TimeRel: c.query.Get("timerel"), TimeAt: c.query.Get("timeAt"),
		EndTimeAt: c.query.Get("endTimeAt"), TimeProperty: c.query.Get("timeproperty"), LastN: c.query.Get("lastN")}
	return c.temporalRequest(ctx, tp, c.query.Get("aggrMethods"), c.query.Get("aggrPeriodDuration"))
}

// syncHistory waits, bounded, for the history to hold the writes
// acknowledged so far; after the bound it reads what there is.
func (c *call) syncHistory() {
	if c.api.cfg.HistorySync == nil {
		return
	}
	ctx, cancel := context.WithTimeout(c.r.Context(), historySyncTimeout)
	defer cancel()
	if err := c.api.cfg.HistorySync(ctx); err != nil && c.r.Context().Err() == nil {
		c.api.log.Warn("temporal read: history is behind the writes", "err", err)
	}
}

// temporalTenant fails with NonexistentTenant for a tenant neither the
// entity store nor the history knows.
func (c *call) temporalTenant(h *temporal.Store) error {
	if c.tenant == store.DefaultTenant || h.HasTenant(c.tenant) || c.api.store.HasTenant(c.r.Context(), c.tenant) {
		return nil
	}
	return problem.New(problem.NonexistentTenant, "tenant %q does not exist", c.tenant)
}

// retrieveTemporal is Retrieve Temporal Evolution of an Entity (clause
// 5.7.3, 6.19.3.1).
func (a *API) retrieveTemporal(c *call) (*response, error) {
	h, err := c.history()
	if err != nil {
		return nil, err
	}
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	req, err := c.urlTemporalRequest()
	if err != nil {
		return nil, err
	}
	if err := c.temporalTenant(h); err != nil {
		return nil, err
	}
	c.syncHistory()
	info, ok := h.Entity(c.tenant, id)
	if !ok {
		return nil, problem.NotFound("entity %s has no temporal evolution", id)
	}
	if req.o.Attrs != nil && !hasAnySeries(info, req.o.Attrs) {
		return nil, problem.NotFound("entity %s has no temporal evolution of the attributes asked for", id)
	}
	if err := checkEligible([]temporal.EntityInfo{info}, req); err != nil {
		return nil, err
	}
	r, err := h.NewReader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	res, err := c.readEntities(r, []temporal.EntityInfo{info}, req, nil)
	if err != nil {
		return nil, err
	}
	doc := res.render(0, req, req.mt == mtLD)
	if (req.o.Pick != nil || req.o.Omit != nil) && emptyDoc(doc) {
		return nil, problem.NotFound("entity %s has none of the members asked for", id)
	}
	resp := &response{body: doc}
	res.paginate(resp, req)
	resp = withContext(resp, req.mt, req.ctx)
	c.intervalLink(resp, res, req)
	return resp, nil
}

// hasAnySeries reports whether the entity has history of one of attrs.
func hasAnySeries(info temporal.EntityInfo, attrs []string) bool {
	for _, s := range info.Series {
		if slices.Contains(attrs, s.Attr) {
			return true
		}
	}
	return false
}

// checkEligible fails with InvalidRequest when an aggregation method does
// not apply to an attribute named in attrs (clause 5.7.4.4).
func checkEligible(infos []temporal.EntityInfo, req *temporalRequest) error {
	if req.form != formAggregated || req.o.Attrs == nil {
		return nil
	}
	for _, info := range infos {
		for _, s := range info.Series {
			if !slices.Contains(req.o.Attrs, s.Attr) {
				continue
			}
			for _, m := range req.agg.Methods {
				if !s.Eligible(m) {
					return problem.Invalid("aggregation method %s does not apply to attribute %s of entity %s (a %s)",
						m, req.ctx.CompactIRI(s.Attr), info.ID, s.Kind)
				}
			}
		}
	}
	return nil
}

// temporalSelection is the entity selection of a temporal query: the
// selectors (any of which an entity must match; none: any entity) and the
// filters on attribute values (q, geoQ, scopeQ) all must match.
type temporalSelection struct {
	selectors []*query.Query // id, idPattern, type
	filter    *query.Query   // q, scopeQ, geo
}

// identity reports whether an entity matches a selector.
func (s *temporalSelection) identity(info *temporal.EntityInfo) bool {
	if len(s.selectors) == 0 {
		return true
	}
	for _, sel := range s.selectors {
		if sel.IDs != nil && !slices.Contains(sel.IDs, info.ID) {
			continue
		}
		if sel.IDPattern != nil && !sel.IDPattern.MatchString(info.ID) {
			continue
		}
		if sel.Type != nil && !sel.Type.Match(info.Types) {
			continue
		}
		return true
	}
	return false
}

// queryTemporal is Query Temporal Evolution of Entities (clause 5.7.4,
// 6.18.3.2).
func (a *API) queryTemporal(c *call) (*response, error) {
	h, err := c.history()
	if err != nil {
		return nil, err
	}
	req, err := c.urlTemporalRequest()
	if err != nil {
		return nil, err
	}
	if v, ok := c.query["csf"]; ok {
		return nil, csfUnsupported(v[0], req.ctx)
	}
	if err := noLinkedEntities(c.query.Get("q")); err != nil {
		return nil, err
	}
	sel, err := query.Parse(query.ParamsFromValues(c.query), req.ctx)
	if err != nil {
		return nil, err
	}
	local, err := boolParam(c, "local")
	if err != nil {
		return nil, err
	}
	if !local && (sel.Type == nil || sel.Type.All) && req.o.Attrs == nil && sel.Q == nil && sel.Geo == nil {
		return nil, problem.BadData("a temporal query needs at least one of type, attrs, q, a geo-query or local=true")
	}
	identity := &query.Query{IDs: sel.IDs, IDPattern: sel.IDPattern, Type: sel.Type}
	ts := &temporalSelection{selectors: []*query.Query{identity}, filter: &query.Query{Q: sel.Q, ScopeQ: sel.ScopeQ, Geo: sel.Geo}}
	return c.runTemporalQuery(h, ts, req)
}

// runTemporalQuery is the part of the temporal queries GET and POST share:
// a temporal query is required; entities are selected, paged and rendered.
func (c *call) runTemporalQuery(h *temporal.Store, ts *temporalSelection, req *temporalRequest) (*response, error) {
	if req.q.Rel == temporal.NoRel {
		return nil, problem.BadData("a temporal query needs timerel and timeAt (clause 5.7.4.4)")
	}
	desc := false
	if v := c.query.Get("orderBy"); v != "" {
		switch v {
		case "id", "id;asc":
		case "id;desc":
			desc = true
		default:
			return nil, problem.BadData("orderBy of a temporal query may only name id (id, id;asc or id;desc), not %q", v)
		}
	}
	count, err := boolParam(c, "count")
	if err != nil {
		return nil, err
	}
	limit, offset, err := c.page(count)
	if err != nil {
		return nil, err
	}
	if err := c.temporalTenant(h); err != nil {
		return nil, err
	}
	c.syncHistory()
	r, err := h.NewReader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(c.r.Context(), c.api.cfg.QueryTimeout)
	defer cancel()
	ids := h.IDs(c.tenant)
	if desc {
		slices.Reverse(ids)
	}
	var page []temporal.EntityInfo
	var scopes map[string][]temporal.ScopeSpan // of the entities a scope query selected
	matched := 0
	for _, id := range ids {
		if ctx.Err() != nil {
			return nil, problem.New(problem.TooComplexQuery, "the query ran longer than %v; narrow it with type, attrs or a shorter time range", c.api.cfg.QueryTimeout)
		}
		if !count && matched > offset+limit {
			break // one more than the page tells whether a next page exists
		}
		info, ok := h.Entity(c.tenant, id)
		if !ok || !ts.identity(&info) {
			continue
		}
		ok, spans, err := c.temporalMatch(r, &info, ts.filter, req)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if spans != nil {
			if scopes == nil {
				scopes = map[string][]temporal.ScopeSpan{}
			}
			scopes[info.ID] = spans
		}
		if matched >= offset && matched < offset+limit {
			page = append(page, info)
		}
		matched++
	}
	if err := checkEligible(page, req); err != nil {
		return nil, err
	}
	res, err := c.readEntities(r, page, req, scopes)
	if err != nil {
		return nil, err
	}
	out := make([]ngsild.Doc, 0, len(page))
	for i := range page {
		d := res.render(i, req, req.mt == mtLD)
		if (req.o.Pick != nil || req.o.Omit != nil) && emptyDoc(d) {
			continue
		}
		out = append(out, d)
	}
	resp := &response{body: out}
	if count {
		resp.setHeader("NGSILD-Results-Count", strconv.Itoa(matched))
	}
	res.paginate(resp, req)
	resp = withContext(resp, req.mt, req.ctx)
	c.pageLinks(resp, offset, limit, matched > offset+limit, req.mt)
	c.intervalLink(resp, res, req)
	return resp, nil
}

// temporalMatch reports whether an entity belongs in a temporal query's
// result (clause 5.7.4.4): it has the attributes asked for, instances of
// them (or of any attribute) in the time range, and the instances in the
// range satisfy q, the geo-query and the scope query.
func (c *call) temporalMatch(r *temporal.Reader, info *temporal.EntityInfo, f *query.Query, req *temporalRequest) (bool, []temporal.ScopeSpan, error) {
	found := false
	for _, s := range info.Series {
		if s.Attr == temporal.ScopeAttr || (req.o.Attrs != nil && !slices.Contains(req.o.Attrs, s.Attr)) {
			continue
		}
		if !keepDataset(req.o.DatasetIDs, s.DatasetID) {
			continue
		}
		ok, err := r.Any(s, req.q)
		if err != nil {
			return false, nil, err
		}
		if ok {
			found = true
			break
		}
	}
	if !found {
		return false, nil, nil
	}
	if f.Q == nil && f.Geo == nil && f.ScopeQ == nil {
		return true, nil, nil
	}
	e := &ngsild.Entity{ID: info.ID, Types: info.Types, Attrs: map[string][]*ngsild.Attr{}}
	var spans []temporal.ScopeSpan
	if f.ScopeQ != nil {
		var err error
		if spans, err = matchingScopes(r, info, f, req.q); err != nil || spans == nil {
			return false, nil, err
		}
	}
	if f.Q == nil && f.Geo == nil {
		return true, spans, nil
	}
	need := f.Attrs()
	for _, s := range info.Series {
		if !slices.Contains(need, s.Attr) {
			continue
		}
		vals, complete, err := r.Values(s, req.q, 10*maxResponseInstances)
		if err != nil {
			return false, nil, err
		}
		if !complete {
			return false, nil, problem.New(problem.TooComplexQuery, "a filter of the query reads more than %d instances of %s in %s; narrow the time range", 10*maxResponseInstances, s.Attr, info.ID)
		}
		e.Attrs[s.Attr] = append(e.Attrs[s.Attr], vals...)
	}
	if f.Q != nil && !query.MatchQ(f.Q, e) {
		return false, nil, nil
	}
	if f.Geo != nil && !f.Geo.Match(e) {
		return false, nil, nil
	}
	return true, spans, nil
}

func keepDataset(ids []string, ds string) bool {
	if ids == nil {
		return true
	}
	if ds == "" {
		ds = ngsild.NoneDataset
	}
	return slices.Contains(ids, ds)
}

// queryTemporalPost is Query Temporal Evolution of Entities via POST
// (clause 5.7.4, 6.24.3.1): the body is a Query (clause 5.2.23) whose
// temporalQ holds the temporal query.
func (a *API) queryTemporalPost(c *call) (*response, error) {
	h, err := c.history()
	if err != nil {
		return nil, err
	}
	doc, bctx, err := c.readObject(false)
	if err != nil {
		return nil, err
	}
	if t, ok := doc["type"]; ok && t != "Query" {
		return nil, problem.BadData("the body must be a Query (type \"Query\"), not %v", t)
	}
	if v, ok := doc["csf"]; ok {
		return nil, csfUnsupported(v, bctx)
	}
	str := func(m map[string]any, k string) (string, error) {
		switch v := m[k].(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		case float64:
			if k == "lastN" {
				return strconv.FormatFloat(v, 'f', -1, 64), nil
			}
		case []any:
			if k == "aggrMethods" {
				parts := make([]string, 0, len(v))
				for _, e := range v {
					s, ok := e.(string)
					if !ok {
						return "", problem.BadData("%s must hold strings", k)
					}
					parts = append(parts, s)
				}
				return joinComma(parts), nil
			}
		}
		return "", problem.BadData("%s must be a string", k)
	}
	tq := map[string]any{}
	if raw, ok := doc["temporalQ"]; ok {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, problem.BadData("temporalQ must be an object (a TemporalQuery, clause 5.2.21)")
		}
		tq = m
	}
	var tp temporal.Params
	fields := []struct {
		dst *string
		key string
	}{{&tp.TimeRel, "timerel"}, {&tp.TimeAt, "timeAt"}, {&tp.EndTimeAt, "endTimeAt"}, {&tp.TimeProperty, "timeproperty"}, {&tp.LastN, "lastN"}}
	for _, f := range fields {
		if *f.dst, err = str(tq, f.key); err != nil {
			return nil, err
		}
	}
	if tp.LastN == "" {
		tp.LastN = c.query.Get("lastN")
	}
	// The aggregation: aggrParams (an AggregationParams, clause 5.2.44 of
	// v1.9), else the members of temporalQ (clause 5.2.21), else the URL.
	agg := tq
	if raw, ok := doc["aggrParams"]; ok {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, problem.BadData("aggrParams must be an object (an AggregationParams, clause 5.2.44)")
		}
		agg = m
	}
	methods, err := str(agg, "aggrMethods")
	if err != nil {
		return nil, err
	}
	period, err := str(agg, "aggrPeriodDuration")
	if err != nil {
		return nil, err
	}
	bodyMethods := methods != ""
	if methods == "" {
		methods = c.query.Get("aggrMethods")
	}
	if period == "" {
		period = c.query.Get("aggrPeriodDuration")
	}
	// The body's @context (or the Link header) expands the names of the
	// query, and compacts the response.
	req, err := c.temporalRequest(bctx, tp, methods, period)
	if err != nil {
		return nil, err
	}
	if bodyMethods && req.form == formNormalized && c.query.Get("format") == "" {
		// Aggregation methods in the body ask for the aggregated
		// representation unless the URL names another.
		req.form = formAggregated
		if req.agg, err = temporal.ParseAggregation(methods, period); err != nil {
			return nil, err
		}
	}
	var shared query.Params
	if shared.Q, err = str(doc, "q"); err != nil {
		return nil, err
	}
	shared.ExpandValues = c.query.Get("expandValues")
	if shared.ScopeQ, err = str(doc, "scopeQ"); err != nil {
		return nil, err
	}
	if g, ok := doc["geoQ"]; ok {
		gm, ok := g.(map[string]any)
		if !ok {
			return nil, problem.BadData("geoQ must be an object with geometry, coordinates, georel and geoproperty")
		}
		shared.GeoRel, _ = gm["georel"].(string)
		shared.Geometry, _ = gm["geometry"].(string)
		shared.GeoProperty, _ = gm["geoproperty"].(string)
		if shared.Coordinates, err = coordinatesString(gm["coordinates"]); err != nil {
			return nil, err
		}
	}
	if err := noLinkedEntities(shared.Q); err != nil {
		return nil, err
	}
	filter, err := query.Parse(shared, req.ctx)
	if err != nil {
		return nil, err
	}
	ts := &temporalSelection{filter: filter}
	if raw, ok := doc["entities"]; ok {
		list, ok := raw.([]any)
		if !ok || len(list) == 0 {
			return nil, problem.BadData("entities must be a non-empty array of EntitySelectors")
		}
		for i, el := range list {
			m, ok := el.(map[string]any)
			if !ok {
				return nil, problem.BadData("entities[%d] must be an object", i)
			}
			var p query.Params
			p.ID, _ = m["id"].(string)
			p.IDPattern, _ = m["idPattern"].(string)
			p.Type, _ = m["type"].(string)
			if p.Type == "" {
				return nil, problem.BadData("entities[%d] needs a type", i)
			}
			s, err := query.Parse(p, req.ctx)
			if err != nil {
				return nil, err
			}
			ts.selectors = append(ts.selectors, s)
		}
	}
	if raw, ok := doc["attrs"]; ok {
		list, ok := raw.([]any)
		if !ok {
			return nil, problem.BadData("attrs must be an array of attribute names")
		}
		for _, v := range list {
			s, ok := v.(string)
			if !ok || !validName(s) {
				return nil, problem.BadData("attrs holds an invalid attribute name %v", v)
			}
			req.o.Attrs = append(req.o.Attrs, req.ctx.ExpandTerm(s))
		}
	}
	if l, ok := doc["lang"].(string); ok {
		req.o.Lang = l
	}
	local, err := boolParam(c, "local")
	if err != nil {
		return nil, err
	}
	if ts.selectors == nil && req.o.Attrs == nil && filter.Q == nil && filter.Geo == nil && !local {
		return nil, problem.BadData("a temporal query needs entities, attrs, q, geoQ or local=true")
	}
	return c.runTemporalQuery(h, ts, req)
}

func joinComma(parts []string) string {
	s := ""
	for i, p := range parts {
		if i > 0 {
			s += ","
		}
		s += p
	}
	return s
}

// coordinatesString returns the coordinates of a geoQ as the string the
// geo-query parser takes.
func coordinatesString(v any) (string, error) {
	switch co := v.(type) {
	case nil:
		return "", nil
	case string:
		return co, nil
	default:
		b, err := json.Marshal(co)
		if err != nil {
			return "", problem.BadData("geoQ coordinates: %v", err)
		}
		return string(b), nil
	}
}

// linkedPath reports whether a q expression or a pick/omit list reaches
// into linked entities ("{...}" outside quoted strings).
func linkedPath(s string) bool {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == '{' && !quoted:
			return true
		}
	}
	return false
}

// noLinkedEntities refuses Linked Entity projections and filter
// conditions, which a temporal query may not hold (clause 5.7.4.4 of v1.9:
// BadRequestData).
func noLinkedEntities(q string, projections ...string) error {
	if linkedPath(q) {
		return problem.BadData("q: a temporal query may not hold linked-entity conditions (\"{...}\", clause 5.7.4.4)")
	}
	for _, p := range projections {
		if linkedPath(p) {
			return problem.BadData("pick and omit of a temporal representation may not project linked entities (\"{...}\", clause 5.7.4.4)")
		}
	}
	return nil
}

// matchingScopes returns the spans of an entity's scope history that meet
// the query's time range and satisfy its scope query, clipped to the range
// (clause 5.7.4.4 S4 and annex C.5.16: a scope is valid from when it is set
// until replaced or removed, clause 4.18); nil when there are none.
func matchingScopes(r *temporal.Reader, info *temporal.EntityInfo, f *query.Query, q temporal.Query) ([]temporal.ScopeSpan, error) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	switch q.Rel {
	case temporal.After:
		lo = q.At
	case temporal.Before:
		hi = q.At
	case temporal.Between:
		lo, hi = q.At, q.End
	}
	var out []temporal.ScopeSpan
	for _, si := range info.Series {
		if si.Attr != temporal.ScopeAttr {
			continue
		}
		spans, err := r.ScopeSpans(si)
		if errors.Is(err, temporal.ErrTooManyScopeChanges) {
			return nil, problem.New(problem.TooComplexQuery, "the scope of %s changed more often than a scope query evaluates", info.ID)
		}
		if err != nil {
			return nil, err
		}
		for _, sp := range spans {
			if sp.To <= lo || sp.From >= hi {
				continue
			}
			if !query.MatchScope(f.ScopeQ, &ngsild.Entity{ID: info.ID, Types: info.Types, Scope: sp.Scope}) {
				continue
			}
			out = append(out, sp)
		}
	}
	return out, nil
}
