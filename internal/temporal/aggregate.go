package temporal

import (
	"errors"
	"math"
	"sort"
	"strings"

	"github.com/qala-city/qala/internal/ngsild"
)

// ErrTooManyPeriods: an aggregation would produce more periods than
// MaxPeriods.
var ErrTooManyPeriods = errors.New("temporal: too many aggregation periods")

// MaxPeriods bounds the periods one aggregation of one series may span.
const MaxPeriods = 1 << 20

// Period is one period of an aggregated temporal representation (clause
// 4.5.19): its bounds and the value of each method asked for.
type Period struct {
	Start, End int64 // Unix ms
	// Values holds one value per method: a number, a DateTime string, a
	// string or a boolean; nil where the method does not apply to any value
	// of the period.
	Values []any
}

// Eligible reports whether method m applies to the values the series has
// held (tables 4.5.19.1-1 to -3): totalCount and distinctCount to all;
// sum, avg, min and max to numbers, booleans and arrays (their sizes); min
// and max also to strings, and min, max and avg to DateTimes; stddev and
// sumsq to numbers and booleans.
func (si SeriesInfo) Eligible(m Method) bool {
	c := si.classes
	var ok uint8
	switch m {
	case TotalCount, DistinctCount:
		return true
	case Sum:
		ok = classNumber | classBool | classArray
	case Avg:
		ok = classNumber | classBool | classArray | classDateTime
	case Min, Max:
		ok = classNumber | classBool | classArray | classString | classDateTime
	case Stddev, Sumsq:
		ok = classNumber | classBool
	}
	return c&^ok == 0 && c != 0
}

// Aggregate aggregates the instances of a series that q selects into the
// periods [origin + k×agg.Period, origin + (k+1)×agg.Period) that begin
// before end (one period [origin, end) when agg.Period is zero), by q's
// temporal property (observedAt unless q says otherwise). Periods without
// instances are left out. For observedAt, periods aligned on UTC hours or
// days are answered from the roll-ups where they hold plain numbers only;
// the others, and distinctCount, from the instances. agg.Within, when set,
// keeps only the instances of its spans.
func (r *Reader) Aggregate(si SeriesInfo, q Query, agg Aggregation, origin, end int64) ([]Period, error) {
	if end <= origin {
		return nil, nil
	}
	starts, err := periodStarts(agg.Period, origin, end)
	if err != nil {
		return nil, err
	}
	np := len(starts) - 1 // starts[np] is the end of the last period
	accs := make([]*acc, np)
	distinct := false
	for _, m := range agg.Methods {
		distinct = distinct || m == DistinctCount
	}
	useRollups := q.Prop == ObservedAt && !distinct
	// The level of roll-ups that answers each period (0: read raw).
	levels := make([]byte, np)
	if useRollups {
		for i := range levels {
			a, b := starts[i], min(starts[i+1], end)
			switch {
			case agg.Within != nil && !covers(agg.Within, a, b):
				// A roll-up holds instances out of the spans.
			case a%dayMillis == 0 && b%dayMillis == 0:
				levels[i] = levelDay
			case a%hourMillis == 0 && b%hourMillis == 0:
				levels[i] = levelHour
			}
		}
	}
	raw := make([]bool, np)
	for i := 0; i < np; {
		level := levels[i]
		if level == 0 {
			raw[i] = true
			i++
			continue
		}
		// One scan of the roll-ups of a run of periods at the same level.
		j := i + 1
		for j < np && levels[j] == level {
			j++
		}
		size := levelMillis(level)
		sts := make([]stats, j-i)
		p := i
		err := r.rollups(si.ID, level, floorDiv(starts[i], size), floorDiv(min(starts[j], end), size), func(b int64, bs stats) bool {
			for p < j && min(starts[p+1], end) <= b*size {
				p++
			}
			if p < j {
				sts[p-i].merge(bs)
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		for k := i; k < j; k++ {
			switch st := sts[k-i]; {
			case st.total == 0:
			case st.pure():
				accs[k] = &acc{total: int(st.total), num: st, mixed: st}
			default:
				raw[k] = true
			}
		}
		i = j
	}
	// Read the instances of runs of raw periods.
	q.LastN = 0
	for i := 0; i < np; {
		if !raw[i] {
			i++
			continue
		}
		j := i
		for j < np && raw[j] {
			j++
		}
		// The instances that carry q's property in [lo, hi) and in q's range.
		sub := q
		lo, hi := starts[i], min(starts[j], end)
		sub.Rel, sub.PropGiven = Between, true
		sub.At, sub.End = max(lo, rangeLo(q)), min(hi, rangeHi(q))
		if sub.At < sub.End {
			h, _, err := r.hits(si.ID, sub, 0)
			if err != nil {
				return nil, err
			}
			for k := range h {
				p := sort.Search(np, func(p int) bool { return starts[p+1] > h[k].t })
				if p >= np || !raw[p] || (agg.Within != nil && !within(agg.Within, h[k].t)) {
					continue
				}
				if accs[p] == nil {
					accs[p] = &acc{distinct: distinct}
				}
				accs[p].add(&h[k].x)
			}
		}
		i = j
	}
	var out []Period
	for i := 0; i < np; i++ {
		a := accs[i]
		if a == nil || a.total == 0 {
			continue
		}
		p := Period{Start: starts[i], End: starts[i+1], Values: make([]any, len(agg.Methods))}
		for k, m := range agg.Methods {
			p.Values[k] = a.result(m)
		}
		out = append(out, p)
	}
	return out, nil
}

// rangeLo and rangeHi bound q's time range.
func rangeLo(q Query) int64 {
	if q.Rel == After || q.Rel == Between {
		return q.At
	}
	return math.MinInt64
}

func rangeHi(q Query) int64 {
	switch q.Rel {
	case Before:
		return q.At
	case Between:
		return q.End
	}
	return math.MaxInt64
}

// periodStarts returns the starts of the periods from origin that begin
// before end, followed by the end of the last one.
func periodStarts(d Duration, origin, end int64) ([]int64, error) {
	if d.IsZero() {
		return []int64{origin, end}, nil
	}
	if d.Fixed() {
		n := (end - origin + d.Millis - 1) / d.Millis
		if n > MaxPeriods || n < 0 {
			return nil, ErrTooManyPeriods
		}
		out := make([]int64, n+1)
		for k := range out {
			out[k] = origin + int64(k)*d.Millis
		}
		return out, nil
	}
	if est := float64(end-origin) / d.approxMillis(); est > MaxPeriods {
		return nil, ErrTooManyPeriods
	}
	o := msTime(origin)
	out := []int64{origin}
	for k := 1; ; k++ {
		t := d.Step(o, k).UnixMilli()
		out = append(out, t)
		if t >= end {
			return out, nil
		}
		if k > MaxPeriods {
			return nil, ErrTooManyPeriods
		}
	}
}

// acc accumulates the instances of one period for the aggregation methods.
type acc struct {
	total    int
	num      stats // numbers and booleans (as 1 and 0): every numeric method
	mixed    stats // numbers, booleans and array sizes: sum, avg, min, max
	bools    int   // booleans among num
	strMin   string
	strMax   string
	nStr     int
	tMin     int64
	tMax     int64
	tSum     float64
	nTime    int
	distinct bool
	seen     map[string]struct{}
}

func (a *acc) add(x *inst) {
	if x.flags&flagDeleted != 0 {
		return // a deletion record holds no value (as in the roll-ups)
	}
	a.total++
	if x.flags&flagNumber != 0 {
		a.addNumber(x.f)
		if a.distinct {
			a.note(appendValue(nil, x.f))
		}
		return
	}
	at := x.a
	var v any
	switch at.Type {
	case ngsild.Property, ngsild.GeoProperty:
		v = at.Value
		switch y := v.(type) {
		case float64:
			a.addNumber(y)
		case bool:
			f := 0.0
			if y {
				f = 1
			}
			a.addNumber(f)
			a.bools++
		case string:
			if t, err := ngsild.ParseDateTime(y); err == nil && len(y) >= 19 {
				ms := t.UnixMilli()
				if a.nTime == 0 || ms < a.tMin {
					a.tMin = ms
				}
				if a.nTime == 0 || ms > a.tMax {
					a.tMax = ms
				}
				a.tSum += float64(ms)
				a.nTime++
				break
			}
			if a.nStr == 0 || y < a.strMin {
				a.strMin = y
			}
			if a.nStr == 0 || y > a.strMax {
				a.strMax = y
			}
			a.nStr++
		case []any:
			a.mixed.add(float64(len(y)), true)
		}
	case ngsild.Relationship, ngsild.ListRelationship:
		v = at.Object
	case ngsild.LanguageProperty:
		v = at.LanguageMap
	default:
		v = at.Value
	}
	if a.distinct {
		a.note(appendValue(nil, v))
	}
}

func (a *acc) addNumber(f float64) {
	a.num.add(f, true)
	a.mixed.add(f, true)
}

func (a *acc) note(key []byte) {
	if a.seen == nil {
		a.seen = map[string]struct{}{}
	}
	a.seen[string(key)] = struct{}{}
}

// result returns the value of method m over the period, nil when it
// applies to none of its values.
func (a *acc) result(m Method) any {
	switch m {
	case TotalCount:
		return float64(a.total)
	case DistinctCount:
		return float64(len(a.seen))
	case Sum:
		if a.mixed.n > 0 {
			return a.mixed.sum
		}
	case Avg:
		if a.mixed.n > 0 {
			return a.mixed.sum / float64(a.mixed.n)
		}
		if a.nTime > 0 {
			return ngsild.FormatTime(msTime(int64(math.Round(a.tSum / float64(a.nTime)))))
		}
	case Min, Max:
		isMin := m == Min
		switch {
		case a.mixed.n > 0:
			v := a.mixed.max
			if isMin {
				v = a.mixed.min
			}
			if a.bools > 0 && a.bools == int(a.mixed.n) {
				return v == 1
			}
			return v
		case a.nTime > 0:
			if isMin {
				return ngsild.FormatTime(msTime(a.tMin))
			}
			return ngsild.FormatTime(msTime(a.tMax))
		case a.nStr > 0:
			if isMin {
				return a.strMin
			}
			return a.strMax
		}
	case Stddev:
		if a.num.n > 0 {
			return a.num.stddev()
		}
	case Sumsq:
		if a.num.n > 0 {
			return a.num.sumsq()
		}
	}
	return nil
}

// MethodsString lists methods for messages.
func MethodsString(ms []Method) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.String()
	}
	return strings.Join(s, ",")
}
