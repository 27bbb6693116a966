package temporal

import (
	"testing"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
)

// TestAggregateWithin: Aggregation.Within keeps only the instances of its
// spans (what a scope query leaves of a temporal query, clause 5.7.4.4):
// hourly periods a span covers whole are answered from the roll-ups, the
// others from the instances of the span only.
func TestAggregateWithin(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	var rs []*ngsild.Attr
	for i := range 180 { // 3 hours of 1-minute readings, values 1..180
		rs = append(rs, reading(float64(i+1), t0.Add(time.Duration(i)*time.Minute)))
	}
	appendReadings(t, s, tEntity, tAttr, rs)
	si := seriesOf(t, s, tEntity, tAttr, "")
	r, err := s.NewReader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ms := func(m int) int64 { return t0.Add(time.Duration(m) * time.Minute).UnixMilli() }
	q := Query{Rel: Between, At: ms(0), End: ms(180), PropGiven: true}
	// Spans: all of the first hour and a bit before, minutes 90..99, and
	// from minute 170 on (open).
	agg := Aggregation{Methods: []Method{TotalCount, Sum}, Period: Duration{Millis: time.Hour.Milliseconds()},
		Within: []Span{{ms(-5), ms(60)}, {ms(90), ms(100)}, {ms(170), 1 << 62}}}
	sum := func(a, b int) float64 { // of the values of minutes a..b-1
		return float64((a + 1 + b) * (b - a) / 2)
	}
	want := []Period{
		{Start: ms(0), End: ms(60), Values: []any{60.0, sum(0, 60)}},
		{Start: ms(60), End: ms(120), Values: []any{10.0, sum(90, 100)}},
		{Start: ms(120), End: ms(180), Values: []any{10.0, sum(170, 180)}},
	}
	r.rollupBuckets = 0
	got, err := r.Aggregate(si, q, agg, ms(0), ms(180))
	if err != nil {
		t.Fatal(err)
	}
	comparePeriods(t, "within", got, want)
	if r.rollupBuckets == 0 {
		t.Error("the first hour, covered whole by a span, was not answered from the roll-ups")
	}
	// No span: no instance; a span outside the range: none either.
	for _, w := range [][]Span{{}, {{ms(200), ms(300)}}} {
		agg.Within = w
		if got, err := r.Aggregate(si, q, agg, ms(0), ms(180)); err != nil || len(got) != 0 {
			t.Errorf("within %v: %v %v", w, got, err)
		}
	}
}
