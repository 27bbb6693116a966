package temporal

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
)

const (
	tEntity = "urn:ngsi-ld:AirQualityObserved:baiterek"
	tAttr   = "https://smartdatamodels.org/dataModel.Environment/pm25"
	tType   = "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"
)

// clock is a settable time source for tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openTest(t *testing.T, dir string, c *clock) *Store {
	t.Helper()
	opts := Options{Dir: dir, NoSync: true, CompactInterval: -1, RetentionInterval: -1}
	if c != nil {
		opts.Now = c.now
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func reading(v any, at time.Time) *ngsild.Attr {
	return &ngsild.Attr{Type: ngsild.Property, Value: v, ObservedAt: at}
}

func appendReadings(t *testing.T, s *Store, id string, attr string, rs []*ngsild.Attr) {
	t.Helper()
	if _, err := s.Append(context.Background(), Entry{ID: id, Types: []string{tType}, Attrs: map[string][]*ngsild.Attr{attr: rs}}); err != nil {
		t.Fatal(err)
	}
}

func seriesOf(t *testing.T, s *Store, id, attr, ds string) SeriesInfo {
	t.Helper()
	info, ok := s.Entity("", id)
	if !ok {
		t.Fatalf("no history of %s", id)
	}
	for _, si := range info.Series {
		if si.Attr == attr && si.DatasetID == ds {
			return si
		}
	}
	t.Fatalf("no series %s/%q of %s", attr, ds, id)
	return SeriesInfo{}
}

func readAll(t *testing.T, s *Store, si SeriesInfo, q Query, limit int) Page {
	t.Helper()
	r, err := s.NewReader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := r.Instances(si, q, limit)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func TestAppendAndRead(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	// Written out of order, across three days, with one reading repeated.
	var rs []*ngsild.Attr
	for _, m := range []int{50, 10, 3000, 20, 1500, 30, 10} {
		rs = append(rs, reading(float64(m), t0.Add(time.Duration(m)*time.Minute)))
	}
	appendReadings(t, s, tEntity, tAttr, rs)
	si := seriesOf(t, s, tEntity, tAttr, "")
	p := readAll(t, s, si, Query{}, 0)
	var got []float64
	for _, in := range p.Instances {
		got = append(got, in.Attr.Value.(float64))
	}
	if want := []float64{10, 20, 30, 50, 1500, 3000}; !slices.Equal(got, want) {
		t.Fatalf("instances %v, want %v (ascending, the repeated observedAt once)", got, want)
	}
	q := Query{Rel: Between, At: t0.Add(20 * time.Minute).UnixMilli(), End: t0.Add(1500 * time.Minute).UnixMilli()}
	if p := readAll(t, s, si, q, 0); len(p.Instances) != 3 || p.Instances[0].Attr.Value != 20.0 || p.Instances[2].Attr.Value != 50.0 {
		t.Errorf("between [20, 1500): %+v", p.Instances)
	}
	q = Query{LastN: 2}
	if p := readAll(t, s, si, q, 0); len(p.Instances) != 2 || p.Instances[0].Attr.Value != 1500.0 || p.Truncated {
		t.Errorf("lastN=2: %+v truncated=%v", p.Instances, p.Truncated)
	}
	if p := readAll(t, s, si, Query{}, 4); len(p.Instances) != 4 || !p.Truncated {
		t.Errorf("limit 4 of 6: %d, truncated=%v", len(p.Instances), p.Truncated)
	}
	if p := readAll(t, s, si, Query{LastN: 5}, 3); len(p.Instances) != 3 || !p.Truncated || p.Instances[2].Attr.Value != 3000.0 {
		t.Errorf("lastN=5 with limit 3: %+v truncated=%v", p.Instances, p.Truncated)
	}

	// Writing a reading again replaces it and keeps its instanceId.
	first := readAll(t, s, si, Query{}, 0).Instances[0]
	appendReadings(t, s, tEntity, tAttr, []*ngsild.Attr{reading(11.0, t0.Add(10*time.Minute))})
	again := readAll(t, s, si, Query{}, 0)
	if len(again.Instances) != 6 || again.Instances[0].ID != first.ID || again.Instances[0].Attr.Value != 11.0 {
		t.Errorf("rewrite of a reading: %+v", again.Instances[0])
	}
	if !again.Instances[0].Attr.CreatedAt.Equal(first.Attr.CreatedAt) {
		t.Errorf("createdAt changed on rewrite")
	}

	// Patch and delete one instance by its id.
	id := again.Instances[1].ID
	if err := s.PatchInstance(context.Background(), "", tEntity, tAttr, id, reading(21.0, t0.Add(20*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if p := readAll(t, s, si, Query{}, 0); p.Instances[1].Attr.Value != 21.0 || p.Instances[1].ID != id {
		t.Errorf("patched: %+v", p.Instances[1])
	}
	// A patch that moves the instance to another day keeps it findable by
	// its id.
	if err := s.PatchInstance(context.Background(), "", tEntity, tAttr, id, reading(22.0, t0.Add(4000*time.Minute))); err != nil {
		t.Fatal(err)
	}
	p = readAll(t, s, si, Query{}, 0)
	last := p.Instances[len(p.Instances)-1]
	if last.Attr.Value != 22.0 {
		t.Fatalf("moved instance: %+v", last)
	}
	if err := s.DeleteInstance(context.Background(), "", tEntity, tAttr, id); err != nil {
		t.Fatalf("delete by the id from before the move: %v", err)
	}
	if p := readAll(t, s, si, Query{}, 0); len(p.Instances) != 5 {
		t.Errorf("%d instances after delete", len(p.Instances))
	}
	for _, bad := range []string{id, "urn:ngsi-ld:Instance:999.0.0", "urn:x", "urn:ngsi-ld:Instance:1.2"} {
		if err := s.DeleteInstance(context.Background(), "", tEntity, tAttr, bad); err != ErrNotFound {
			t.Errorf("delete %s: %v", bad, err)
		}
	}
	if err := s.DeleteInstance(context.Background(), "", tEntity, "urn:other", p.Instances[0].ID); err != ErrNotFound {
		t.Errorf("an instance of another attribute: %v", err)
	}
}

func TestDatasetsAndDeletes(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	ctx := context.Background()
	a := reading(1.0, t0)
	b := reading(2.0, t0)
	b.DatasetID = "urn:ds:b"
	if _, err := s.Append(ctx, Entry{ID: tEntity, Types: []string{tType}, Attrs: map[string][]*ngsild.Attr{tAttr: {a, b}, "urn:x": {reading(3.0, t0)}}}); err != nil {
		t.Fatal(err)
	}
	info, _ := s.Entity("", tEntity)
	if len(info.Series) != 3 {
		t.Fatalf("%d series", len(info.Series))
	}
	if err := s.DeleteAttr(ctx, "", tEntity, tAttr, "urn:ds:c", false); err != ErrNotFound {
		t.Errorf("unknown dataset: %v", err)
	}
	if err := s.DeleteAttr(ctx, "", tEntity, tAttr, "", false); err != nil {
		t.Fatal(err)
	}
	info, _ = s.Entity("", tEntity)
	if len(info.Series) != 2 {
		t.Errorf("%d series after deleting the default instance", len(info.Series))
	}
	if err := s.DeleteAttr(ctx, "", tEntity, tAttr, "", true); err != nil {
		t.Fatal(err)
	}
	if s.HasAttr("", tEntity, tAttr) {
		t.Errorf("deleteAll left instances")
	}
	if err := s.DeleteEntity(ctx, "", tEntity); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Entity("", tEntity); ok {
		t.Errorf("entity still there")
	}
	if err := s.DeleteEntity(ctx, "", tEntity); err != ErrNotFound {
		t.Errorf("second delete: %v", err)
	}
	// It can be created again, from nothing.
	if created, err := s.Append(ctx, Entry{ID: tEntity, Types: []string{tType}, Attrs: map[string][]*ngsild.Attr{tAttr: {reading(5.0, t0)}}}); err != nil || !created {
		t.Errorf("re-create: %v %v", created, err)
	}
	if p := readAll(t, s, seriesOf(t, s, tEntity, tAttr, ""), Query{}, 0); len(p.Instances) != 1 || p.Instances[0].Attr.Value != 5.0 {
		t.Errorf("after re-create: %+v", p.Instances)
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	appendReadings(t, s, tEntity, tAttr, []*ngsild.Attr{reading(1.0, t0), reading(2.0, t0.Add(time.Minute))})
	ids := map[string]bool{}
	for _, in := range readAll(t, s, seriesOf(t, s, tEntity, tAttr, ""), Query{}, 0).Instances {
		ids[in.ID] = true
	}
	s.Close()
	s = openTest(t, dir, nil)
	appendReadings(t, s, tEntity, tAttr, []*ngsild.Attr{reading(3.0, t0.Add(2*time.Minute))})
	p := readAll(t, s, seriesOf(t, s, tEntity, tAttr, ""), Query{}, 0)
	if len(p.Instances) != 3 {
		t.Fatalf("%d instances after reopen", len(p.Instances))
	}
	for _, in := range p.Instances {
		ids[in.ID] = true
	}
	if len(ids) != 3 {
		t.Errorf("instance ids reused after reopen: %v", ids)
	}
}

// A reference point of the aggregation tests: what the test wrote, kept by
// the test itself (latest write per observedAt wins, as in the store).
type truth map[int64]float64

func (tr truth) sorted() []int64 {
	ts := make([]int64, 0, len(tr))
	for t := range tr {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// expectedPeriods computes the aggregation independently: periods from
// origin stepped with time.AddDate (months clamped to the month's last day)
// or fixed lengths, methods by direct formulas over the values.
func expectedPeriods(tr truth, lo, hi int64, origin time.Time, months, days int, fixed time.Duration, methods []Method) []Period {
	step := func(k int) int64 {
		if months == 0 && days == 0 && fixed == 0 {
			if k == 0 {
				return origin.UnixMilli()
			}
			return hi
		}
		t := origin
		if months != 0 {
			y, m, d := origin.Date()
			total := int(m) - 1 + k*months
			ty, tm := y+total/12, time.Month(total%12+1)
			last := time.Date(ty, tm+1, 0, 0, 0, 0, 0, time.UTC).Day()
			t = time.Date(ty, tm, min(d, last), origin.Hour(), origin.Minute(), origin.Second(), 0, time.UTC)
		}
		t = t.AddDate(0, 0, k*days).Add(time.Duration(k) * fixed)
		return t.UnixMilli()
	}
	var out []Period
	for k := 0; step(k) < hi; k++ {
		a, b := step(k), step(k+1)
		var vals []float64
		for _, ts := range tr.sorted() {
			if ts >= a && ts < b && ts >= lo && ts < hi {
				vals = append(vals, tr[ts])
			}
		}
		if len(vals) == 0 {
			continue
		}
		p := Period{Start: a, End: b}
		var sum, sq float64
		mn, mx := math.Inf(1), math.Inf(-1)
		distinct := map[float64]bool{}
		for _, v := range vals {
			sum += v
			sq += v * v
			mn, mx = math.Min(mn, v), math.Max(mx, v)
			distinct[v] = true
		}
		n := float64(len(vals))
		mean := sum / n
		var dev float64
		for _, v := range vals {
			dev += (v - mean) * (v - mean)
		}
		for _, m := range methods {
			var v any
			switch m {
			case TotalCount:
				v = n
			case DistinctCount:
				v = float64(len(distinct))
			case Sum:
				v = sum
			case Avg:
				v = mean
			case Min:
				v = mn
			case Max:
				v = mx
			case Stddev:
				v = math.Sqrt(dev / n)
			case Sumsq:
				v = sq
			}
			p.Values = append(p.Values, v)
		}
		out = append(out, p)
	}
	return out
}

func comparePeriods(t *testing.T, what string, got, want []Period) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d periods, want %d\n got %v\nwant %v", what, len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Start != w.Start || g.End != w.End {
			t.Fatalf("%s: period %d is [%s, %s), want [%s, %s)", what, i, msTime(g.Start), msTime(g.End), msTime(w.Start), msTime(w.End))
		}
		for k := range w.Values {
			gv, ok := g.Values[k].(float64)
			wv := w.Values[k].(float64)
			if !ok || math.Abs(gv-wv) > 1e-9*math.Max(1, math.Abs(wv)) {
				t.Fatalf("%s: period %d (%s) value %d: got %v, want %v", what, i, msTime(g.Start), k, g.Values[k], wv)
			}
		}
	}
}

// TestAggregationsMatchIndependentComputation writes two months of
// readings at irregular intervals with gaps, in shuffled batches (late and
// out-of-order data), rewrites, patches and deletes some, and compares
// every aggregation method for periods answered from the roll-ups (PT1H,
// P1D, P1M from aligned origins) and from the instances (PT7M, unaligned
// origins, PT0S) with values computed here from what was written.
func TestAggregationsMatchIndependentComputation(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	rng := rand.New(rand.NewPCG(7, 11))
	tr := truth{}
	var all []*ngsild.Attr
	at := t0.Add(-3 * 24 * time.Hour) // from late February, over the month boundaries
	end := t0.Add(62 * 24 * time.Hour)
	for at.Before(end) {
		switch r := rng.IntN(100); {
		case r < 2:
			at = at.Add(time.Duration(1+rng.IntN(3)) * 24 * time.Hour) // a gap of days
		case r < 10:
			at = at.Add(time.Duration(1+rng.IntN(300)) * time.Minute)
		default:
			at = at.Add(time.Duration(10+rng.IntN(1200)) * time.Second)
		}
		v := math.Round((20+10*math.Sin(float64(at.Unix())/86400)+rng.NormFloat64())*100) / 100
		all = append(all, reading(v, at))
		tr[at.UnixMilli()] = v
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for i := 0; i < len(all); {
		n := 1 + rng.IntN(2000)
		appendReadings(t, s, tEntity, tAttr, all[i:min(i+n, len(all))])
		i += n
	}
	// Late corrections of existing readings and late new ones.
	var late []*ngsild.Attr
	ts := tr.sorted()
	for range 300 {
		t := ts[rng.IntN(len(ts))]
		v := math.Round(rng.Float64()*5000) / 100
		late = append(late, reading(v, msTime(t)))
		tr[t] = v
		nt := t + int64(1+rng.IntN(59))*1000
		if _, ok := tr[nt]; !ok {
			late = append(late, reading(1.5, msTime(nt)))
			tr[nt] = 1.5
		}
	}
	appendReadings(t, s, tEntity, tAttr, late)
	si := seriesOf(t, s, tEntity, tAttr, "")
	// Patch and delete instances by id.
	page := readAll(t, s, si, Query{}, 0)
	for range 50 {
		in := page.Instances[rng.IntN(len(page.Instances))]
		key := in.Attr.ObservedAt.UnixMilli()
		if _, ok := tr[key]; !ok {
			continue
		}
		if rng.IntN(2) == 0 {
			v := -float64(rng.IntN(1000)) / 10
			if err := s.PatchInstance(context.Background(), "", tEntity, tAttr, in.ID, reading(v, in.Attr.ObservedAt)); err != nil {
				t.Fatal(err)
			}
			tr[key] = v
		} else {
			if err := s.DeleteInstance(context.Background(), "", tEntity, tAttr, in.ID); err != nil {
				t.Fatal(err)
			}
			delete(tr, key)
		}
	}
	if n := len(readAll(t, s, si, Query{}, 0).Instances); n != len(tr) {
		t.Fatalf("%d instances stored, %d written", n, len(tr))
	}
	all8 := []Method{TotalCount, DistinctCount, Sum, Avg, Min, Max, Stddev, Sumsq}
	noDistinct := []Method{TotalCount, Sum, Avg, Min, Max, Stddev, Sumsq}
	first, last := tr.sorted()[0], tr.sorted()[len(tr)-1]
	aligned := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	odd := time.Date(2026, 3, 3, 7, 13, 0, 0, time.UTC)
	cases := []struct {
		name          string
		q             Query
		origin        time.Time
		months, days  int
		fixed         time.Duration
		methods       []Method
		wantRollupUse bool
	}{
		{"PT1H from a day start (roll-ups)", Query{Rel: Between, At: aligned.UnixMilli(), End: aligned.AddDate(0, 2, 0).UnixMilli()}, aligned, 0, 0, time.Hour, noDistinct, true},
		{"P1D (roll-ups)", Query{Rel: Between, At: aligned.UnixMilli(), End: aligned.AddDate(0, 3, 0).UnixMilli()}, aligned, 0, 1, 0, noDistinct, true},
		{"P1M calendar months (roll-ups)", Query{Rel: Between, At: aligned.UnixMilli(), End: aligned.AddDate(0, 3, 0).UnixMilli()}, aligned, 1, 0, 0, noDistinct, true},
		{"PT1H with distinctCount (instances)", Query{Rel: Between, At: aligned.UnixMilli(), End: aligned.AddDate(0, 1, 0).UnixMilli()}, aligned, 0, 0, time.Hour, all8, false},
		{"PT7M (instances)", Query{Rel: Between, At: t0.UnixMilli(), End: t0.AddDate(0, 0, 10).UnixMilli()}, t0, 0, 0, 7 * time.Minute, all8, false},
		{"PT1H from an odd origin (instances)", Query{Rel: After, At: odd.UnixMilli()}, odd, 0, 0, time.Hour, all8, false},
		{"P1M from the 31st (instances)", Query{Rel: Between, At: time.Date(2026, 1, 31, 6, 0, 0, 0, time.UTC).UnixMilli(), End: end.UnixMilli()}, time.Date(2026, 1, 31, 6, 0, 0, 0, time.UTC), 1, 0, 0, all8, false},
		{"P1W before", Query{Rel: Before, At: t0.AddDate(0, 0, 20).UnixMilli()}, msTime(first), 0, 7, 0, all8, false},
		{"PT0S whole range", Query{Rel: Between, At: t0.UnixMilli(), End: t0.AddDate(0, 0, 30).UnixMilli()}, t0, 0, 0, 0, all8, false},
	}
	r, err := s.NewReader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, c := range cases {
		lo, hi := rangeLo(c.q), rangeHi(c.q)
		origin := c.origin.UnixMilli()
		endAt := hi
		if hi == math.MaxInt64 {
			endAt = last + 1
		}
		agg := Aggregation{Methods: c.methods, Period: Duration{Months: c.months, Days: c.days, Millis: c.fixed.Milliseconds()}}
		q := c.q
		q.PropGiven = true
		r.rollupBuckets = 0
		got, err := r.Aggregate(si, q, agg, origin, endAt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if used := r.rollupBuckets > 0; used != c.wantRollupUse {
			t.Errorf("%s: roll-ups used: %v", c.name, used)
		}
		want := expectedPeriods(tr, max(lo, math.MinInt64), endAt, c.origin, c.months, c.days, c.fixed, c.methods)
		if len(want) < 2 && c.months+c.days+int(c.fixed) != 0 {
			t.Fatalf("%s: the case is too small (%d periods)", c.name, len(want))
		}
		comparePeriods(t, c.name, got, want)
	}
}

// TestAggregationKinds: booleans count as 1 and 0, arrays by their size,
// strings and DateTimes by their order, relationships by their targets;
// methods that apply to no value of a period give nil.
func TestAggregationKinds(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	ctx := context.Background()
	m := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	attrs := map[string][]*ngsild.Attr{
		"urn:bool":  {reading(true, m(0)), reading(false, m(1)), reading(true, m(2))},
		"urn:str":   {reading("b", m(0)), reading("a", m(1)), reading("c", m(2)), reading("a", m(3))},
		"urn:arr":   {reading([]any{1.0, 2.0}, m(0)), reading([]any{}, m(1)), reading([]any{"x", "y", "z", "w"}, m(2))},
		"urn:time":  {reading("2026-01-01T00:00:00Z", m(0)), reading("2026-01-03T00:00:00Z", m(1))},
		"urn:rel":   {{Type: ngsild.Relationship, Object: "urn:p:1", ObservedAt: m(0)}, {Type: ngsild.Relationship, Object: "urn:p:2", ObservedAt: m(1)}, {Type: ngsild.Relationship, Object: "urn:p:1", ObservedAt: m(2)}},
		"urn:mixed": {reading(3.0, m(0)), reading(true, m(1))},
	}
	if _, err := s.Append(ctx, Entry{ID: tEntity, Types: []string{tType}, Attrs: attrs}); err != nil {
		t.Fatal(err)
	}
	r, _ := s.NewReader()
	defer r.Close()
	all := []Method{TotalCount, DistinctCount, Sum, Avg, Min, Max, Stddev, Sumsq}
	q := Query{Rel: Between, At: t0.UnixMilli(), End: t0.Add(time.Hour).UnixMilli(), PropGiven: true}
	want := map[string][]any{
		"urn:bool":  {3.0, 2.0, 2.0, 2.0 / 3, false, true, math.Sqrt(2.0 / 9), 2.0},
		"urn:str":   {4.0, 3.0, nil, nil, "a", "c", nil, nil},
		"urn:arr":   {3.0, 3.0, 6.0, 2.0, 0.0, 4.0, nil, nil},
		"urn:time":  {2.0, 2.0, nil, "2026-01-02T00:00:00.000Z", "2026-01-01T00:00:00.000Z", "2026-01-03T00:00:00.000Z", nil, nil},
		"urn:rel":   {3.0, 2.0, nil, nil, nil, nil, nil, nil},
		"urn:mixed": {2.0, 2.0, 4.0, 2.0, 1.0, 3.0, 1.0, 10.0},
	}
	eligible := map[string][]bool{
		"urn:bool": {true, true, true, true, true, true, true, true},
		"urn:str":  {true, true, false, false, true, true, false, false},
		"urn:arr":  {true, true, true, true, true, true, false, false},
		"urn:time": {true, true, false, true, true, true, false, false},
		"urn:rel":  {true, true, false, false, false, false, false, false},
	}
	for attr, w := range want {
		si := seriesOf(t, s, tEntity, attr, "")
		got, err := r.Aggregate(si, q, Aggregation{Methods: all}, t0.UnixMilli(), t0.Add(time.Hour).UnixMilli())
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v %v", attr, got, err)
		}
		for k := range w {
			gf, gok := got[0].Values[k].(float64)
			wf, wok := w[k].(float64)
			if gok && wok {
				if math.Abs(gf-wf) > 1e-12 {
					t.Errorf("%s %s = %v, want %v", attr, all[k], gf, wf)
				}
				continue
			}
			if got[0].Values[k] != w[k] {
				t.Errorf("%s %s = %#v, want %#v", attr, all[k], got[0].Values[k], w[k])
			}
		}
		for k, e := range eligible[attr] {
			if si.Eligible(all[k]) != e {
				t.Errorf("%s eligible for %s: %v", attr, all[k], !e)
			}
		}
	}
}

func TestRetention(t *testing.T) {
	c := &clock{t: t0.AddDate(0, 0, 10).Add(13 * time.Hour)} // 11 March, 13:00
	s := openTest(t, t.TempDir(), c)
	ctx := context.Background()
	var rs []*ngsild.Attr
	for h := 0; h < 10*24+13; h++ {
		rs = append(rs, reading(float64(h), t0.Add(time.Duration(h)*time.Hour)))
	}
	appendReadings(t, s, tEntity, tAttr, rs)
	// Another entity whose readings are all old, and one of another type.
	appendReadings(t, s, "urn:ngsi-ld:AirQualityObserved:old", tAttr, []*ngsild.Attr{reading(1.0, t0)})
	if _, err := s.Append(ctx, Entry{ID: "urn:ngsi-ld:Tree:1", Types: []string{"urn:t:Tree"}, Attrs: map[string][]*ngsild.Attr{tAttr: {reading(1.0, t0)}}}); err != nil {
		t.Fatal(err)
	}
	p3 := "P3D"
	if _, err := s.SetConfig(Config{Enabled: true, Rules: []Rule{{Type: tType, Retention: &p3}}}); err != nil {
		t.Fatal(err)
	}
	res, err := s.ApplyRetention(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Series != 2 || res.Removed != 1 || res.Entities != 1 {
		t.Errorf("retention result %+v", res)
	}
	// Now - P3D is 8 March 13:00: the days before 8 March are dropped whole,
	// 8 March is kept whole.
	cutoff := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)
	si := seriesOf(t, s, tEntity, tAttr, "")
	p := readAll(t, s, si, Query{}, 0)
	var want []int64
	for _, r := range rs {
		if !r.ObservedAt.Before(cutoff) {
			want = append(want, r.ObservedAt.UnixMilli())
		}
	}
	var got []int64
	for _, in := range p.Instances {
		got = append(got, in.Time)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("kept %d instances from %s, want %d from %s", len(got), msTime(got[0]), len(want), cutoff)
	}
	// The roll-ups of the dropped days are gone too.
	r, _ := s.NewReader()
	defer r.Close()
	q := Query{Rel: Before, At: cutoff.UnixMilli(), PropGiven: true}
	got2, err := r.Aggregate(si, q, Aggregation{Methods: []Method{TotalCount}, Period: Duration{Days: 1}}, t0.UnixMilli(), cutoff.UnixMilli())
	if err != nil || len(got2) != 0 {
		t.Errorf("aggregation over dropped days: %v %v", got2, err)
	}
	if _, ok := s.Entity("", "urn:ngsi-ld:AirQualityObserved:old"); ok {
		t.Errorf("an entity whose history all expired is still there")
	}
	if _, ok := s.Entity("", "urn:ngsi-ld:Tree:1"); !ok {
		t.Errorf("an entity without retention lost its history")
	}
	// Another pass drops nothing more.
	if res, _ := s.ApplyRetention(ctx); res.Series != 0 {
		t.Errorf("second pass: %+v", res)
	}
}

func TestCompaction(t *testing.T) {
	c := &clock{t: t0.Add(12 * time.Hour)}
	s := openTest(t, t.TempDir(), c)
	// One reading per write, as the change log brings them.
	for i := range 300 {
		appendReadings(t, s, tEntity, tAttr, []*ngsild.Attr{reading(float64(i), t0.Add(time.Duration(i)*time.Minute))})
	}
	si := seriesOf(t, s, tEntity, tAttr, "")
	chunks := func() int {
		n := 0
		lo, hi := seriesChunkRange(si.ID)
		it, _ := s.db.NewIter(nil)
		defer it.Close()
		for ok := it.SeekGE(lo); ok && string(it.Key()) < string(hi); ok = it.Next() {
			n++
		}
		return n
	}
	before := readAll(t, s, si, Query{}, 0)
	if n := chunks(); n != 300 {
		t.Fatalf("%d chunks before compaction", n)
	}
	if _, err := s.Compact(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if n := chunks(); n != 1 {
		t.Errorf("%d chunks after merging small ones, want 1", n)
	}
	appendReadings(t, s, tEntity, tAttr, []*ngsild.Attr{reading(1000.0, t0.Add(301*time.Minute))})
	c.t = t0.Add(26 * time.Hour) // the day is over: the window is sealed
	if _, err := s.Compact(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if n := chunks(); n != 1 {
		t.Errorf("%d chunks after sealing", n)
	}
	if s.PendingCompactions() != 0 {
		t.Errorf("%d windows still pending", s.PendingCompactions())
	}
	after := readAll(t, s, si, Query{}, 0)
	if len(after.Instances) != len(before.Instances)+1 {
		t.Fatalf("%d instances after compaction, %d before", len(after.Instances), len(before.Instances))
	}
	for i, in := range before.Instances {
		if after.Instances[i].ID != in.ID || after.Instances[i].Attr.Value != in.Attr.Value {
			t.Fatalf("instance %d changed: %+v → %+v", i, in, after.Instances[i])
		}
	}
}

func ExampleDuration_Step() {
	p1m := Duration{Months: 1}
	origin := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	for k := range 3 {
		fmt.Println(p1m.Step(origin, k).Format("2006-01-02"))
	}
	// Output:
	// 2026-01-31
	// 2026-02-28
	// 2026-03-31
}

// TestAny checks the roll-up shortcut of Any against reading instances, on
// ranges aligned on hours and not.
func TestAny(t *testing.T) {
	s := openTest(t, t.TempDir(), nil)
	at := []time.Duration{90 * time.Minute, 5*time.Hour + 10*time.Minute, 30 * time.Hour}
	var rs []*ngsild.Attr
	for _, d := range at {
		rs = append(rs, reading(1.0, t0.Add(d)))
	}
	appendReadings(t, s, tEntity, tAttr, rs)
	// A reading without observedAt: never selected by an observedAt range.
	if _, err := s.Append(context.Background(), Entry{ID: tEntity, Attrs: map[string][]*ngsild.Attr{tAttr: {{Type: ngsild.Property, Value: 2.0}}}}); err != nil {
		t.Fatal(err)
	}
	si := seriesOf(t, s, tEntity, tAttr, "")
	r, _ := s.NewReader()
	defer r.Close()
	ms := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	for lo := -2 * time.Hour; lo < 32*time.Hour; lo += 25 * time.Minute {
		for hi := lo + 5*time.Minute; hi < 33*time.Hour; hi += 55 * time.Minute {
			for _, q := range []Query{
				{Rel: Between, At: ms(lo), End: ms(hi)},
				{Rel: After, At: ms(lo)},
				{Rel: Before, At: ms(hi)},
			} {
				want := false
				for _, d := range at {
					want = want || q.InRange(t0.Add(d).UnixMilli())
				}
				got, err := r.Any(si, q)
				if err != nil || got != want {
					t.Fatalf("%+v: Any = %v %v, want %v", q, got, err, want)
				}
			}
		}
	}
}

// A window of one chunk needs no compaction pass (there is nothing to
// merge, now or when it seals), so it leaves the pending set; a later write
// brings it back, and the sealed window is then merged.
func TestCompactionForgetsSingleChunkWindows(t *testing.T) {
	c := &clock{t: t0.Add(12 * time.Hour)}
	dir := t.TempDir()
	s := openTest(t, dir, c)
	appendReadings(t, s, tEntity, tAttr, []*ngsild.Attr{reading(1, t0.Add(time.Minute))})
	if n := s.PendingCompactions(); n != 0 {
		t.Fatalf("%d windows pending after the first write to a window, want 0", n)
	}
	appendReadings(t, s, tEntity, tAttr, []*ngsild.Attr{reading(2, t0.Add(2*time.Minute))})
	if n := s.PendingCompactions(); n != 1 {
		t.Fatalf("%d windows pending after a second write, want 1", n)
	}
	if _, err := s.Compact(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if n := s.PendingCompactions(); n != 1 {
		t.Fatalf("two small chunks of a current window: %d pending, want 1", n)
	}
	c.t = t0.Add(26 * time.Hour)
	if merged, err := s.Compact(context.Background(), false); err != nil || merged != 1 {
		t.Fatalf("sealed window: merged %d, %v; want 1", merged, err)
	}
	if n := s.PendingCompactions(); n != 0 {
		t.Fatalf("%d windows pending after sealing, want 0", n)
	}
	// A restart marks each series' last window (a crash may have left small
	// chunks); one pass over a window of one chunk forgets it.
	appendReadings(t, s, tEntity, tAttr, []*ngsild.Attr{reading(3, t0.Add(25*time.Hour))})
	if n := s.PendingCompactions(); n != 0 {
		t.Fatalf("%d windows pending after the first write of a new day, want 0", n)
	}
	si := seriesOf(t, s, tEntity, tAttr, "")
	if got := readAll(t, s, si, Query{}, 0); len(got.Instances) != 3 {
		t.Fatalf("%d instances, want 3", len(got.Instances))
	}
	s.Close()
	s = openTest(t, dir, c)
	if n := s.PendingCompactions(); n != 1 {
		t.Fatalf("%d windows pending after a restart, want 1", n)
	}
	if _, err := s.Compact(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if n := s.PendingCompactions(); n != 0 {
		t.Fatalf("%d windows pending after a pass over one chunk, want 0", n)
	}
}
