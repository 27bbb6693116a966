package temporal

import (
	"strings"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/problem"
)

func TestParseDuration(t *testing.T) {
	ok := []struct {
		in   string
		want Duration
		str  string
	}{
		{"PT1H", Duration{Millis: 3600e3}, "PT1H"},
		{"PT0S", Duration{}, "PT0S"},
		{"P0D", Duration{}, "PT0S"},
		{"P1D", Duration{Days: 1}, "P1D"},
		{"P1W", Duration{Days: 7}, "P7D"},
		{"P1M", Duration{Months: 1}, "P1M"},
		{"P1Y", Duration{Months: 12}, "P1Y"},
		{"P3Y6M4DT12H30M5S", Duration{Months: 42, Days: 4, Millis: 12*3600e3 + 30*60e3 + 5e3}, "P3Y6M4DT12H30M5S"},
		{"PT15M", Duration{Millis: 15 * 60e3}, "PT15M"},
		{"PT0.5S", Duration{Millis: 500}, "PT0.5S"},
		{"PT1,5S", Duration{Millis: 1500}, "PT1.5S"},
		{"P1DT", Duration{}, ""}, // refused below
	}
	for _, c := range ok[:len(ok)-1] {
		got, err := ParseDuration(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.in, got, c.want)
		}
		if s := got.String(); s != c.str {
			t.Errorf("%s: String() = %s, want %s", c.in, s, c.str)
		}
	}
	for _, bad := range []string{"", "P", "PT", "P1DT", "1H", "PT1D", "P1H", "P1M1Y", "P1DT1H1H", "P-1D", "P1.5D", "PT1HX",
		"P1W1D", "PTH", "P1Y2W", "R2/PT1H", "P2026-01-01", "P99999999999Y", "PT999999999999999H", "P1DT2H3M4.5.6S", "pt1h"} {
		_, err := ParseDuration(bad)
		if err == nil {
			t.Errorf("%q: accepted", bad)
			continue
		}
		if !problem.Is(err, problem.BadRequestData) || !strings.Contains(err.Error(), "aggrPeriodDuration") {
			t.Errorf("%q: %v is not a BadRequestData naming the parameter", bad, err)
		}
	}
}

func TestDurationStepCalendar(t *testing.T) {
	jan31 := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	m := Duration{Months: 1}
	want := []string{"2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"}
	for k, w := range want {
		if got := m.Step(jan31, k).Format("2006-01-02"); got != w {
			t.Errorf("Jan 31 + %d months = %s, want %s", k, got, w)
		}
	}
	// Leap year, and steps that are always taken from the origin.
	feb29 := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	if got := (Duration{Months: 12}).Step(feb29, 1).Format("2006-01-02"); got != "2025-02-28" {
		t.Errorf("2024-02-29 + P1Y = %s", got)
	}
	if got := (Duration{Months: 12}).Step(feb29, 4).Format("2006-01-02"); got != "2028-02-29" {
		t.Errorf("2024-02-29 + 4×P1Y = %s", got)
	}
	// Month boundaries from a month start: every P1M period is a calendar month.
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for k := range 24 {
		got := m.Step(start, k)
		if got.Day() != 1 || got.Hour() != 0 || int(got.Month()) != k%12+1 {
			t.Errorf("month %d starts %s", k, got)
		}
	}
	// Days then time.
	d := Duration{Days: 1, Millis: 3600e3}
	if got := d.Step(start, 2); !got.Equal(start.Add(50 * time.Hour)) {
		t.Errorf("P1DT1H ×2 = %s", got)
	}
	// Backwards (retention).
	if got := (Duration{Months: 1}).Step(time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), -1).Format("2006-01-02"); got != "2026-02-28" {
		t.Errorf("Mar 31 - P1M = %s", got)
	}
}

func TestParseQuery(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	q, err := ParseQuery(Params{TimeRel: "between", TimeAt: "2026-01-01T00:00:00Z", EndTimeAt: "2026-01-02T00:00:00Z", TimeProperty: "modifiedAt", LastN: "5"})
	if err != nil {
		t.Fatal(err)
	}
	want := Query{Rel: Between, At: at, End: at + dayMillis, Prop: ModifiedAt, PropGiven: true, LastN: 5}
	if q != want {
		t.Errorf("got %+v, want %+v", q, want)
	}
	if !q.InRange(at) || q.InRange(at+dayMillis) || q.InRange(at-1) {
		t.Errorf("between is [timeAt, endTimeAt)")
	}
	b, _ := ParseQuery(Params{TimeRel: "before", TimeAt: "2026-01-01T00:00:00Z"})
	a, _ := ParseQuery(Params{TimeRel: "after", TimeAt: "2026-01-01T00:00:00Z"})
	if b.InRange(at) || !b.InRange(at-1) || !a.InRange(at) || a.InRange(at-1) {
		t.Errorf("before is exclusive and after inclusive (clause 4.11)")
	}
	bad := []Params{
		{TimeRel: "during", TimeAt: "2026-01-01T00:00:00Z"},
		{TimeRel: "after"},
		{TimeRel: "after", TimeAt: "yesterday"},
		{TimeRel: "between", TimeAt: "2026-01-01T00:00:00Z"},
		{TimeRel: "between", TimeAt: "2026-01-02T00:00:00Z", EndTimeAt: "2026-01-01T00:00:00Z"},
		{TimeRel: "between", TimeAt: "2026-01-01T00:00:00Z", EndTimeAt: "2026-01-01T00:00:00Z"},
		{TimeRel: "after", TimeAt: "2026-01-01T00:00:00Z", EndTimeAt: "2026-01-02T00:00:00Z"},
		{TimeAt: "2026-01-01T00:00:00Z"},
		{TimeProperty: "observedat"},
		{LastN: "0"},
		{LastN: "-3"},
		{LastN: "ten"},
		{TimeRel: "after", TimeAt: "99999-01-01T00:00:00Z"},
	}
	for _, p := range bad {
		if _, err := ParseQuery(p); !problem.Is(err, problem.BadRequestData) {
			t.Errorf("%+v: %v, want BadRequestData", p, err)
		}
	}
}

func TestParseMethods(t *testing.T) {
	got, err := ParseMethods("avg, max,avg,totalCount")
	if err != nil || len(got) != 3 || got[0] != Avg || got[1] != Max || got[2] != TotalCount {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", ",", "mean", "avg,median", "AVG"} {
		if _, err := ParseMethods(bad); !problem.Is(err, problem.BadRequestData) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseRules(t *testing.T) {
	rules, err := ParseRules("type=Vehicle,retention=P30D; tenant=lab,enabled=false ;tenant=,type=Sensor,enabled=on,retention=")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 3 || rules[0].Type != "Vehicle" || *rules[0].Retention != "P30D" || *rules[1].Tenant != "lab" || *rules[1].Enabled ||
		*rules[2].Tenant != "" || !*rules[2].Enabled || *rules[2].Retention != "" {
		t.Errorf("got %+v", rules)
	}
	for _, bad := range []string{"type", "colour=red", "enabled=maybe"} {
		if _, err := ParseRules(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestConfigResolution(t *testing.T) {
	lab, empty := "lab", ""
	off, on := false, true
	p30, p1y, forever := "P30D", "P1Y", ""
	c := Config{Enabled: true, Retention: "P90D", Rules: []Rule{
		{Type: "Vehicle", Retention: &p30},
		{Type: "Sensor", Retention: &p1y},
		{Tenant: &lab, Enabled: &off},
		{Tenant: &lab, Type: "Sensor", Enabled: &on, Retention: &forever},
		{Tenant: &empty, Type: "Camera", Enabled: &off},
	}}
	ec, err := compile(c, func(s string) string { return "urn:t:" + s })
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		tenant  string
		types   []string
		enabled bool
		ret     string
	}{
		{"", []string{"urn:t:Other"}, true, "P90D"},
		{"", []string{"urn:t:Vehicle"}, true, "P30D"},
		{"", []string{"urn:t:Vehicle", "urn:t:Sensor"}, true, "P1Y"}, // the longer of two as specific
		{"lab", []string{"urn:t:Vehicle"}, false, "P30D"},
		{"lab", []string{"urn:t:Sensor"}, true, "PT0S"}, // tenant and type beat type
		{"", []string{"urn:t:Camera"}, false, "P90D"},
		{"city", []string{"urn:t:Camera"}, true, "P90D"},
	}
	for _, k := range cases {
		if got := ec.enabled(k.tenant, k.types); got != k.enabled {
			t.Errorf("%q %v enabled = %v", k.tenant, k.types, got)
		}
		if got := ec.retentionFor(k.tenant, k.types).String(); got != k.ret {
			t.Errorf("%q %v retention = %s, want %s", k.tenant, k.types, got, k.ret)
		}
	}
	for _, bad := range []Config{
		{Retention: "ninety days"},
		{Rules: []Rule{{Enabled: &on}}},
		{Rules: []Rule{{Type: "X"}}},
		{Rules: []Rule{{Type: "X", Retention: &lab}}},
	} {
		if _, err := compile(bad, func(s string) string { return s }); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// FuzzParseTemporal feeds the temporal query parameter parsers (timerel,
// timeAt, endTimeAt, timeproperty, lastN, aggrMethods, aggrPeriodDuration)
// arbitrary text: they return a parsed query or a BadRequestData problem,
// never panic, and what they accept stays consistent.
func FuzzParseTemporal(f *testing.F) {
	f.Add("between", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "observedAt", "10", "avg,max", "PT1H")
	f.Add("after", "2026-01-31T23:59:59.999+05:00", "", "deletedAt", "", "distinctCount", "P1M")
	f.Add("before", "1969-12-31T23:59:59Z", "", "", "1", "totalCount", "P1Y2M3DT4H5M6.7S")
	f.Add("", "", "", "", "", "sumsq", "P2W")
	f.Fuzz(func(t *testing.T, rel, at, end, prop, lastN, methods, period string) {
		q, err := ParseQuery(Params{rel, at, end, prop, lastN})
		if err != nil {
			if !problem.Is(err, problem.BadRequestData) {
				t.Fatalf("ParseQuery error is not BadRequestData: %v", err)
			}
		} else {
			if q.Rel == Between && q.End <= q.At {
				t.Fatalf("accepted an empty between range: %+v", q)
			}
			if q.LastN < 0 {
				t.Fatalf("negative lastN %d", q.LastN)
			}
		}
		a, err := ParseAggregation(methods, period)
		if err != nil {
			if !problem.Is(err, problem.BadRequestData) {
				t.Fatalf("ParseAggregation error is not BadRequestData: %v", err)
			}
			return
		}
		if len(a.Methods) == 0 {
			t.Fatalf("no methods accepted from %q", methods)
		}
		// An accepted duration prints as one that parses to the same.
		again, err := ParseDuration(a.Period.String())
		if err != nil || again != a.Period {
			t.Fatalf("%q → %s → %+v, %v", period, a.Period, again, err)
		}
		// Periods always advance.
		origin := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
		if !a.Period.IsZero() && !a.Period.Step(origin, 1).After(origin) {
			t.Fatalf("period %s does not advance", a.Period)
		}
	})
}
