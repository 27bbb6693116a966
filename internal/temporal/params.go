package temporal

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
)

// TimeRel is the relation of a temporal query (clause 4.11).
type TimeRel uint8

// The temporal relations. NoRel means no temporal restriction.
const (
	NoRel TimeRel = iota
	Before
	After
	Between
)

// TimeProperty names the Temporal Property a temporal query applies to
// (clause 4.8): observedAt by default.
type TimeProperty uint8

// The temporal properties.
const (
	ObservedAt TimeProperty = iota
	CreatedAt
	ModifiedAt
	DeletedAt
)

var timePropertyNames = [...]string{"observedAt", "createdAt", "modifiedAt", "deletedAt"}

// String returns the name of the property as the API spells it.
func (p TimeProperty) String() string { return timePropertyNames[p] }

// Params holds the raw temporal query parameters of a request (clause
// 6.18.3.2), empty when absent.
type Params struct {
	TimeRel, TimeAt, EndTimeAt, TimeProperty, LastN string
}

// Query is a parsed temporal query: which instances, by which temporal
// property, and how many of the last ones.
type Query struct {
	Rel TimeRel
	// At and End bound the time range in Unix milliseconds: before At
	// (exclusive), from At (inclusive), or [At, End).
	At, End int64
	Prop    TimeProperty
	// PropGiven is set when timeproperty was given: then only instances
	// that carry the property match, even without a time range (clause
	// 4.11: an instance without the target Temporal Property does not match).
	PropGiven bool
	LastN     int // 0: no lastN
}

// Restricted reports whether the query selects instances by a temporal
// property at all (a relation or an explicit timeproperty).
func (q *Query) Restricted() bool { return q.Rel != NoRel || q.PropGiven }

// InRange reports whether t (ms) is in the query's time range.
func (q *Query) InRange(t int64) bool {
	switch q.Rel {
	case Before:
		return t < q.At
	case After:
		return t >= q.At
	case Between:
		return t >= q.At && t < q.End
	}
	return true
}

// maxLastN bounds lastN: more instances than this are never rendered in one
// response anyway.
const maxLastN = 1 << 20

// ParseQuery parses the temporal query parameters. Errors are BadRequestData
// problems naming the parameter at fault.
func ParseQuery(p Params) (Query, error) {
	var q Query
	switch p.TimeRel {
	case "":
		if p.TimeAt != "" || p.EndTimeAt != "" {
			return q, problem.BadData("timeAt and endTimeAt need timerel (before, after or between)")
		}
	case "before":
		q.Rel = Before
	case "after":
		q.Rel = After
	case "between":
		q.Rel = Between
	default:
		return q, problem.BadData("timerel must be before, after or between, not %q", p.TimeRel)
	}
	if q.Rel != NoRel {
		if p.TimeAt == "" {
			return q, problem.BadData("timerel=%s needs timeAt, a DateTime such as 2026-01-01T00:00:00Z", p.TimeRel)
		}
		at, err := parseTime("timeAt", p.TimeAt)
		if err != nil {
			return q, err
		}
		q.At = at
		switch {
		case q.Rel == Between && p.EndTimeAt == "":
			return q, problem.BadData("timerel=between needs endTimeAt, a DateTime after timeAt")
		case q.Rel == Between:
			end, err := parseTime("endTimeAt", p.EndTimeAt)
			if err != nil {
				return q, err
			}
			if end <= at {
				return q, problem.BadData("endTimeAt %s must be after timeAt %s", p.EndTimeAt, p.TimeAt)
			}
			q.End = end
		case p.EndTimeAt != "":
			return q, problem.BadData("endTimeAt is only used with timerel=between")
		}
	}
	if p.TimeProperty != "" {
		q.PropGiven = true
		switch p.TimeProperty {
		case "observedAt":
			q.Prop = ObservedAt
		case "createdAt":
			q.Prop = CreatedAt
		case "modifiedAt":
			q.Prop = ModifiedAt
		case "deletedAt":
			q.Prop = DeletedAt
		default:
			return q, problem.BadData("timeproperty must be observedAt, createdAt, modifiedAt or deletedAt, not %q", p.TimeProperty)
		}
	}
	if p.LastN != "" {
		n, err := strconv.Atoi(p.LastN)
		if err != nil || n < 1 {
			return q, problem.BadData("lastN must be a positive integer, not %q", p.LastN)
		}
		q.LastN = min(n, maxLastN)
	}
	return q, nil
}

// parseTime parses a DateTime parameter into Unix milliseconds.
func parseTime(name, s string) (int64, error) {
	t, err := ngsild.ParseUTCDateTime(s)
	if err != nil {
		return 0, problem.BadData("%s: %v", name, err)
	}
	if y := t.Year(); y < -9999 || y > 99999 {
		return 0, problem.BadData("%s %q is out of range", name, s)
	}
	return t.UnixMilli(), nil
}

// Method is an aggregation method (clause 4.5.19.1).
type Method uint8

// The aggregation methods, in the order the spec lists them.
const (
	TotalCount Method = iota
	DistinctCount
	Sum
	Avg
	Min
	Max
	Stddev
	Sumsq
	numMethods
)

var methodNames = [numMethods]string{"totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq"}

// String returns the method's name as the API spells it.
func (m Method) String() string { return methodNames[m] }

// ParseMethods parses aggrMethods: a comma-separated list of methods,
// duplicates dropped, order kept.
func ParseMethods(s string) ([]Method, error) {
	var out []Method
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		m := Method(0)
		for m < numMethods && methodNames[m] != part {
			m++
		}
		if m == numMethods {
			return nil, problem.BadData("aggrMethods: %q is not one of %s", part, strings.Join(methodNames[:], ", "))
		}
		dup := false
		for _, x := range out {
			dup = dup || x == m
		}
		if !dup {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, problem.BadData("aggrMethods must name at least one of %s", strings.Join(methodNames[:], ", "))
	}
	return out, nil
}

// Aggregation is a parsed aggregated temporal query: the methods and the
// period.
type Aggregation struct {
	Methods []Method
	Period  Duration // zero: one period over the whole time range
	// Within, when not nil, restricts the aggregation to the instances
	// whose time falls in one of its spans (a scope query keeps only the
	// instances of the spans in which the entity's scope matched, clause
	// 5.7.4.4): sorted by From, not overlapping. Empty: no instance.
	Within []Span
}

// Span is the span of time [From, To), in Unix ms.
type Span struct{ From, To int64 }

// within reports whether t falls in one of the spans (sorted by From).
func within(spans []Span, t int64) bool {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].To > t })
	return i < len(spans) && spans[i].From <= t
}

// covers reports whether one of the spans holds all of [a, b).
func covers(spans []Span, a, b int64) bool {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].To > a })
	return i < len(spans) && spans[i].From <= a && spans[i].To >= b
}

// ParseAggregation parses aggrMethods and aggrPeriodDuration (empty: PT0S).
func ParseAggregation(methods, period string) (Aggregation, error) {
	var a Aggregation
	var err error
	if a.Methods, err = ParseMethods(methods); err != nil {
		return a, err
	}
	if period != "" {
		if a.Period, err = ParseDuration(period); err != nil {
			return a, err
		}
	}
	return a, nil
}

// finite reports whether f is a number JSON can carry.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
