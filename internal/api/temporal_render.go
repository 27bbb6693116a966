package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/temporal"
)

// temporalResult is what was read for a page of entities, ready to render.
type temporalResult struct {
	infos  []temporal.EntityInfo
	series [][]seriesResult // per entity, selected series in order

	// Temporal pagination (clause 6.3.10): when an attribute had more
	// instances than the limit, every attribute is cut to the same time
	// range, [rangeStart, rangeEnd] (descending with lastN).
	truncated            bool
	rangeStart, rangeEnd int64
	q                    temporal.Query
}

type seriesResult struct {
	si      temporal.SeriesInfo
	insts   []temporal.Instance
	periods []temporal.Period
	// cut is set when the common time range of a truncated response left
	// out every instance the series had: it is rendered empty rather than
	// left out, as it does have instances in the time range asked for.
	cut bool
}

// keepSeries reports whether the representation asked for includes a
// series: attrs, pick and omit select attributes, datasetId instances.
func keepSeries(req *temporalRequest, si temporal.SeriesInfo) bool {
	o := &req.o
	if si.Attr == temporal.ScopeAttr {
		if req.form == formAggregated {
			return false
		}
		return memberKept(o, "scope")
	}
	if o.Attrs != nil && !slices.Contains(o.Attrs, si.Attr) {
		return false
	}
	return memberKept(o, si.Attr) && keepDataset(o.DatasetIDs, si.DatasetID)
}

func memberKept(o *ngsild.RenderOptions, name string) bool {
	if o.Pick != nil && !slices.Contains(o.Pick, name) {
		return false
	}
	return !slices.Contains(o.Omit, name)
}

// readEntities reads the selected series of the entities: instances (at
// most the limit per series, cut to a common time range when one was
// truncated) or aggregation periods.
//
// scopes, when a scope query selected the entities, holds the spans of
// time in which each entity's scope satisfied it: only the instances in
// them are kept, and the scope valid when the range starts is shown with
// the entity (annex C.5.16).
func (c *call) readEntities(r *temporal.Reader, infos []temporal.EntityInfo, req *temporalRequest, scopes map[string][]temporal.ScopeSpan) (*temporalResult, error) {
	res := &temporalResult{infos: infos, series: make([][]seriesResult, len(infos)), q: req.q}
	n := 0
	for i, info := range infos {
		for _, si := range info.Series {
			if keepSeries(req, si) {
				res.series[i] = append(res.series[i], seriesResult{si: si})
				n++
			}
		}
	}
	if n == 0 {
		return res, nil
	}
	if req.form == formAggregated {
		return res, c.aggregateEntities(r, res, req, scopes)
	}
	limit := min(req.limit, max(1, maxResponseInstances/n))
	forward := req.q.LastN == 0
	for i := range res.series {
		for k := range res.series[i] {
			sr := &res.series[i][k]
			p, err := r.Instances(sr.si, req.q, limit)
			if err != nil {
				return nil, err
			}
			sr.insts = p.Instances
			if spans, ok := scopes[infos[i].ID]; ok {
				sr.insts = inScopeSpans(sr.insts, spans, sr.si.Attr == temporal.ScopeAttr)
			}
			if !p.Truncated || len(p.Instances) == 0 {
				continue
			}
			edge := p.Instances[len(p.Instances)-1].Time
			if !forward {
				edge = p.Instances[0].Time
			}
			switch {
			case !res.truncated:
				res.rangeEnd = edge
			case forward:
				res.rangeEnd = min(res.rangeEnd, edge)
			default:
				res.rangeEnd = max(res.rangeEnd, edge)
			}
			res.truncated = true
		}
	}
	if !res.truncated {
		return res, nil
	}
	// Cut every series to the common range, and find where it starts.
	start, have := int64(0), false
	for i := range res.series {
		for k := range res.series[i] {
			sr := &res.series[i][k]
			kept := sr.insts[:0]
			for _, in := range sr.insts {
				if (forward && in.Time <= res.rangeEnd) || (!forward && in.Time >= res.rangeEnd) {
					kept = append(kept, in)
					switch {
					case !have:
						start, have = in.Time, true
					case forward:
						start = min(start, in.Time)
					default:
						start = max(start, in.Time)
					}
				}
			}
			sr.cut = len(kept) == 0 && len(sr.insts) > 0
			sr.insts = kept
		}
	}
	q := req.q
	switch {
	case forward && (q.Rel == temporal.After || q.Rel == temporal.Between):
		start = q.At
	case !forward && q.Rel == temporal.Before:
		start = q.At
	case !forward && q.Rel == temporal.Between:
		start = q.End
	}
	res.rangeStart = start
	return res, nil
}

// aggregateEntities computes the aggregation periods of each series. The
// periods of an entity start at timeAt, or at its first instance in the
// range when the range has no start, and end at endTimeAt (between), timeAt
// (before), or after its last instance. With a scope query, only the
// instances of the spans in which the entity's scope matched are
// aggregated (clause 5.7.4.4), as only those are shown without aggregation.
func (c *call) aggregateEntities(r *temporal.Reader, res *temporalResult, req *temporalRequest, scopes map[string][]temporal.ScopeSpan) error {
	q := req.q
	for i := range res.series {
		agg := req.agg
		if spans, ok := scopes[res.infos[i].ID]; ok {
			agg.Within = make([]temporal.Span, 0, len(spans))
			for _, sp := range spans {
				agg.Within = append(agg.Within, temporal.Span{From: sp.From, To: sp.To})
			}
			slices.SortFunc(agg.Within, func(a, b temporal.Span) int { return cmp.Compare(a.From, b.From) })
		}
		origin, end := int64(math.MaxInt64), int64(math.MinInt64)
		if q.Rel == temporal.Between {
			origin, end = q.At, q.End
		} else {
			for _, sr := range res.series[i] {
				first, last, ok, err := r.Span(sr.si, aggQuery(q))
				if err != nil {
					return err
				}
				if ok {
					origin, end = min(origin, first), max(end, last+1)
				}
			}
			if origin == math.MaxInt64 {
				continue // nothing to aggregate
			}
		}
		if req.agg.Period.IsZero() {
			// One period over the whole range: an open range ends now, or
			// after its last instance if that is later.
			end = max(end, time.Now().UnixMilli())
		}
		switch q.Rel {
		case temporal.After:
			origin = q.At
		case temporal.Between:
			origin, end = q.At, q.End
		case temporal.Before:
			end = q.At
		}
		for k := range res.series[i] {
			sr := &res.series[i][k]
			periods, err := r.Aggregate(sr.si, aggQuery(q), agg, origin, end)
			if errors.Is(err, temporal.ErrTooManyPeriods) {
				return problem.New(problem.TooManyResults, "the aggregation would span more than %d periods of %s; use a longer aggrPeriodDuration or a shorter time range",
					temporal.MaxPeriods, req.agg.Period)
			}
			if err != nil {
				return err
			}
			sr.periods = periods
		}
	}
	return nil
}

// aggQuery is the query an aggregation places instances by: its temporal
// property is always required (an instance without it has no period).
func aggQuery(q temporal.Query) temporal.Query {
	q.PropGiven = true
	q.LastN = 0
	return q
}

// paginate marks a truncated response 206 with its Content-Range (clause
// 6.3.10): the DateTime range it covers completely and the number of
// instances per attribute asked for (lastN) or "*".
func (res *temporalResult) paginate(resp *response, req *temporalRequest) {
	if !res.truncated {
		return
	}
	size := "*"
	if req.q.LastN > 0 {
		size = strconv.Itoa(req.q.LastN)
	}
	resp.status = http.StatusPartialContent
	resp.setHeader("Content-Range", "date-time "+formatTemporalTime(res.rangeStart)+"-"+formatTemporalTime(res.rangeEnd)+"/"+size)
}

// formatTemporalTime renders the DateTimes of the temporal representations
// and of Content-Range: with milliseconds only when there are some
// (2026-01-01T12:00:00Z, 2026-01-01T12:00:00.250Z), as ISO 8601 allows.
func formatTemporalTime(ms int64) string { return string(appendTemporalTime(nil, ms)) }

// appendTemporalTime appends formatTemporalTime(ms) to b.
func appendTemporalTime(b []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		if ms%1000 == 0 {
			return t.AppendFormat(b, "2006-01-02T15:04:05Z")
		}
		return t.AppendFormat(b, ngsild.TimeFormat)
	}
	h, mi, sec := t.Clock()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+sec/10), byte('0'+sec%10))
	if frac := int(ms % 1000); frac != 0 {
		if frac < 0 {
			frac += 1000
		}
		b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	}
	return append(b, 'Z')
}

// render renders entity i of the result in the representation asked for;
// withContext adds "@context" (application/ld+json).
func (res *temporalResult) render(i int, req *temporalRequest, withContext bool) ngsild.Doc {
	info := &res.infos[i]
	o := req.o
	o.Attrs = nil
	if withContext {
		o.IncludeContext = contextValue(req.ctx)
	}
	head := &ngsild.Entity{ID: info.ID, Types: info.Types, CreatedAt: info.CreatedAt, ModifiedAt: info.ModifiedAt, DeletedAt: info.DeletedAt}
	d := ngsild.Render(head, o)
	o.IncludeContext = nil
	type member struct {
		name string
		srs  []seriesResult
	}
	var members []member
	for _, sr := range res.series[i] {
		name := "scope"
		if sr.si.Attr != temporal.ScopeAttr {
			name = req.ctx.CompactIRI(sr.si.Attr)
		}
		if len(members) > 0 && members[len(members)-1].name == name {
			members[len(members)-1].srs = append(members[len(members)-1].srs, sr)
			continue
		}
		members = append(members, member{name, []seriesResult{sr}})
	}
	slices.SortStableFunc(members, func(a, b member) int { return strings.Compare(a.name, b.name) })
	for _, m := range members {
		if v, ok := renderTemporalAttr(m.srs, req, &o); ok {
			d = append(d, ngsild.Member{Key: m.name, Value: v})
		}
	}
	return d
}

// renderTemporalAttr renders the instances of one attribute (all its
// datasetIds); ok is false when none is left.
func renderTemporalAttr(srs []seriesResult, req *temporalRequest, o *ngsild.RenderOptions) (any, bool) {
	switch req.form {
	case formValues, formAggregated:
		out := []ngsild.Doc{}
		for _, sr := range srs {
			if d, ok := renderSeriesSummary(sr, req, o); ok {
				out = append(out, d)
			}
		}
		switch len(out) {
		case 0:
			return nil, false
		case 1:
			return out[0], true
		}
		return out, true
	}
	// The instances are rendered into one buffer: plain numeric Properties
	// (the sensor case) straight to bytes, the others through the Doc
	// renderer.
	n, cut := 0, false
	for _, sr := range srs {
		cut = cut || sr.cut
		n += len(sr.insts)
	}
	if n == 0 && !cut {
		return nil, false
	}
	b := make([]byte, 0, 128*n+2)
	b = append(b, '[')
	first := true
	for _, sr := range srs {
		for _, in := range sr.insts {
			if !first {
				b = append(b, ',')
			}
			first = false
			if fast, ok := appendPlainInstance(b, in, o); ok {
				b = fast
				continue
			}
			b = appendInstanceDoc(b, in, o)
		}
	}
	return json.RawMessage(append(b, ']')), true
}

// appendPlainInstance appends the normalized instance of a numeric
// Property without sub-attributes, as RenderInstance and renderTemporalAttr
// would render it: type, value, observedAt, unitCode, datasetId, createdAt
// and modifiedAt (sysAttrs), deletedAt, instanceId. ok is false (and b
// unchanged) for any other instance or representation.
func appendPlainInstance(b []byte, in temporal.Instance, o *ngsild.RenderOptions) ([]byte, bool) {
	a := in.Attr
	if a == nil || a.Type != ngsild.Property || len(a.Sub) != 0 || a.ObjectType != nil || o.Format == ngsild.Concise {
		return b, false
	}
	f, isNum := a.Value.(float64)
	if !isNum || math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	b = append(b, `{"type":"Property","value":`...)
	b, _ = ngsild.AppendFloat(b, f)
	if !a.ObservedAt.IsZero() {
		b = appendTimeMember(b, "observedAt", a.ObservedAt)
	}
	if a.UnitCode != "" {
		b = appendStringMember(b, "unitCode", a.UnitCode)
	}
	if a.DatasetID != "" {
		b = appendStringMember(b, "datasetId", a.DatasetID)
	}
	if o.SysAttrs {
		if !a.CreatedAt.IsZero() {
			b = appendTimeMember(b, "createdAt", a.CreatedAt)
		}
		if !a.ModifiedAt.IsZero() {
			b = appendTimeMember(b, "modifiedAt", a.ModifiedAt)
		}
	}
	if !a.DeletedAt.IsZero() {
		b = appendTimeMember(b, "deletedAt", a.DeletedAt)
	}
	b = appendStringMember(b, "instanceId", in.ID)
	return append(b, '}'), true
}

// appendInstanceDoc appends an instance rendered by the Doc renderer, with
// the temporal API's DateTimes and its instanceId.
func appendInstanceDoc(b []byte, in temporal.Instance, o *ngsild.RenderOptions) []byte {
	d := ngsild.RenderInstance(in.Attr, *o)
	for k, m := range d {
		switch m.Key {
		case "observedAt", "createdAt", "modifiedAt", "deletedAt":
			if t, ok := m.Value.(*time.Time); ok {
				d[k].Value = formatTemporalTime(t.UnixMilli())
			}
		}
	}
	d = append(d, ngsild.Member{Key: "instanceId", Value: in.ID})
	out, err := ngsild.AppendJSON(b, d)
	if err != nil {
		return append(b, "null"...) // not expected: stored values were valid JSON
	}
	return out
}

// appendTimeMember appends ,"key":"<DateTime>" to an object being rendered.
func appendTimeMember(b []byte, key string, t time.Time) []byte {
	b = append(append(append(b, ',', '"'), key...), '"', ':', '"')
	return append(appendTemporalTime(b, t.UnixMilli()), '"')
}

// appendStringMember appends ,"key":"<v>" to an object being rendered.
func appendStringMember(b []byte, key, v string) []byte {
	b = append(append(append(b, ',', '"'), key...), '"', ':')
	return ngsild.AppendString(b, v)
}

// renderSeriesSummary renders one series in the simplified temporal form
// ({"type", "values": [[value, time], …]}) or the aggregated one
// ({"type", "avg": [[value, start, end], …], …}).
func renderSeriesSummary(sr seriesResult, req *temporalRequest, o *ngsild.RenderOptions) (ngsild.Doc, bool) {
	kind := sr.si.Kind
	if kind == 0 {
		kind = ngsild.Property
	}
	typ := kind.String()
	if req.form == formValues && kind == ngsild.LanguageProperty && o.Lang != "" {
		typ = ngsild.Property.String()
	}
	d := ngsild.Doc{{Key: "type", Value: typ}}
	if sr.si.DatasetID != "" {
		d = append(d, ngsild.Member{Key: "datasetId", Value: sr.si.DatasetID})
	}
	if req.form == formValues {
		if len(sr.insts) == 0 && !sr.cut {
			return nil, false
		}
		b := make([]byte, 0, 48*len(sr.insts))
		b = append(b, '[')
		for i, in := range sr.insts {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = ngsild.AppendJSON(append(b, '['), ngsild.TemporalValue(in.Attr, *o)); err != nil {
				b = append(b, "null"...) // not expected: stored values were valid JSON
			}
			b = append(appendTemporalTime(append(b, ',', '"'), in.Time), '"', ']')
		}
		return append(d, ngsild.Member{Key: ngsild.TemporalValuesKey(kind), Value: json.RawMessage(append(b, ']'))}), true
	}
	if len(sr.periods) == 0 {
		return nil, false
	}
	// The periods are rendered here, in one buffer per method: a month of
	// hourly periods is thousands of small arrays.
	for k, m := range req.agg.Methods {
		b := make([]byte, 0, 64*len(sr.periods))
		b = append(b, '[')
		for i, p := range sr.periods {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = ngsild.AppendJSON(append(b, '['), p.Values[k]); err != nil {
				b = append(b, "null"...) // a NaN or infinite result; not expected from finite inputs
			}
			b = append(appendTemporalTime(append(b, ',', '"'), p.Start), '"', ',', '"')
			b = append(appendTemporalTime(b, p.End), '"', ']')
		}
		d = append(d, ngsild.Member{Key: m.String(), Value: json.RawMessage(append(b, ']'))})
	}
	return d, true
}

// emptyDoc reports whether a rendered entity has no member but @context
// (pick and omit left nothing).
func emptyDoc(d ngsild.Doc) bool {
	for _, m := range d {
		if m.Key != "@context" {
			return false
		}
	}
	return true
}

// inScopeSpans keeps the instances whose time falls in one of the spans;
// for the scope series itself it also adds the instances that set a span
// before it began within the range.
func inScopeSpans(insts []temporal.Instance, spans []temporal.ScopeSpan, scope bool) []temporal.Instance {
	var out []temporal.Instance
	for _, in := range insts {
		for _, sp := range spans {
			if in.Time >= sp.From && in.Time < sp.To {
				out = append(out, in)
				break
			}
		}
	}
	if scope {
		for _, sp := range spans {
			if !slices.ContainsFunc(out, func(in temporal.Instance) bool { return in.ID == sp.Instance.ID }) {
				out = append(out, sp.Instance)
			}
		}
		slices.SortStableFunc(out, func(a, b temporal.Instance) int { return cmp.Compare(a.Time, b.Time) })
	}
	return out
}
