package temporal

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/problem"
)

// Duration is an ISO 8601 duration as aggrPeriodDuration takes it (clause
// 4.5.19.1): P[n]Y[n]M[n]DT[n]H[n]M[n]S or P[n]W. Years and months are kept
// apart from the fixed part because their length depends on the calendar:
// P1M from the 31st of January ends on the last day of February.
type Duration struct {
	Months int   // 12 per year
	Days   int   // 7 per week
	Millis int64 // hours, minutes and seconds
}

// IsZero reports whether d is a zero duration (PT0S, P0D), which spans the
// whole time range of the query.
func (d Duration) IsZero() bool { return d.Months == 0 && d.Days == 0 && d.Millis == 0 }

// Fixed reports whether d has no calendar part (no years, months or days),
// so that every period has the same length, d.Millis.
func (d Duration) Fixed() bool { return d.Months == 0 && d.Days == 0 }

// maxDurationMillis bounds each part of a duration (about 300 years), so that
// no arithmetic on periods overflows.
const maxDurationMillis = 1e13

// ParseDuration parses an aggrPeriodDuration. Errors are BadRequestData
// problems whose detail says what is wrong.
func ParseDuration(s string) (Duration, error) {
	bad := func(why string) (Duration, error) {
		return Duration{}, problem.BadData("aggrPeriodDuration %q is not an ISO 8601 duration such as PT1H, P1D or P1M: %s", s, why)
	}
	if len(s) > 64 {
		return bad("too long")
	}
	rest, ok := strings.CutPrefix(s, "P")
	if !ok {
		return bad("it must start with P")
	}
	if rest == "" {
		return bad("it names no element")
	}
	var d Duration
	inTime := false
	weeks := false
	pos := 0 // the next allowed index in "YMWDTHMS"
	elements := 0
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return bad("T appears twice")
			}
			inTime = true
			rest = rest[1:]
			if rest == "" {
				return bad("T must be followed by hours, minutes or seconds")
			}
			pos = 5
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == ',') {
			i++
		}
		if i == 0 {
			return bad("a number must come before " + strconv.Quote(rest[:1]))
		}
		if i == len(rest) {
			return bad("the number " + rest[:i] + " has no designator")
		}
		num, unit := strings.ReplaceAll(rest[:i], ",", "."), rest[i]
		rest = rest[i+1:]
		idx := designatorIndex(unit, inTime)
		if idx < 0 {
			return bad("unknown designator " + strconv.Quote(string(unit)))
		}
		if idx < pos {
			return bad("elements are out of order or repeated")
		}
		pos = idx + 1
		weeks = weeks || idx == 2
		elements++
		frac := strings.Contains(num, ".")
		if frac && !(inTime && unit == 'S') {
			return bad("only seconds may have a fraction")
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) {
			return bad("bad number " + num)
		}
		var ms float64
		switch {
		case !inTime && unit == 'Y':
			if v > 300 {
				return bad("more than 300 years")
			}
			d.Months += int(v) * 12
		case !inTime && unit == 'M':
			if v > 3600 {
				return bad("more than 3600 months")
			}
			d.Months += int(v)
		case !inTime && unit == 'W':
			if v > 15600 {
				return bad("more than 15600 weeks")
			}
			d.Days += int(v) * 7
		case !inTime && unit == 'D':
			if v > 110000 {
				return bad("more than 110000 days")
			}
			d.Days += int(v)
		case inTime && unit == 'H':
			ms = v * 3600e3
		case inTime && unit == 'M':
			ms = v * 60e3
		case inTime && unit == 'S':
			ms = math.Round(v * 1e3)
		}
		if ms > maxDurationMillis || float64(d.Millis)+ms > maxDurationMillis {
			return bad("too long")
		}
		d.Millis += int64(ms)
	}
	if weeks && elements > 1 {
		return bad("weeks (P[n]W) cannot be combined with other elements")
	}
	if d.Months > 3600 || d.Days > 110000 {
		return bad("too long")
	}
	return d, nil
}

// designatorIndex returns the position of a designator in "YMWDTHMS", taking
// M as months before T and minutes after it; -1 if unit is not one.
func designatorIndex(unit byte, inTime bool) int {
	switch {
	case !inTime && unit == 'Y':
		return 0
	case !inTime && unit == 'M':
		return 1
	case !inTime && unit == 'W':
		return 2
	case !inTime && unit == 'D':
		return 3
	case inTime && unit == 'H':
		return 5
	case inTime && unit == 'M':
		return 6
	case inTime && unit == 'S':
		return 7
	}
	return -1
}

// String renders d in ISO 8601 form (P1M, PT1H, P1DT12H, PT0S).
func (d Duration) String() string {
	if d.IsZero() {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteByte('P')
	if y := d.Months / 12; y > 0 {
		b.WriteString(strconv.Itoa(y) + "Y")
	}
	if m := d.Months % 12; m > 0 {
		b.WriteString(strconv.Itoa(m) + "M")
	}
	if d.Days > 0 {
		b.WriteString(strconv.Itoa(d.Days) + "D")
	}
	if d.Millis > 0 {
		b.WriteByte('T')
		ms := d.Millis
		if h := ms / 3600e3; h > 0 {
			b.WriteString(strconv.FormatInt(h, 10) + "H")
			ms %= 3600e3
		}
		if m := ms / 60e3; m > 0 {
			b.WriteString(strconv.FormatInt(m, 10) + "M")
			ms %= 60e3
		}
		if ms > 0 {
			b.WriteString(strconv.FormatFloat(float64(ms)/1e3, 'f', -1, 64) + "S")
		}
	}
	return b.String()
}

// Step returns origin + k×d in UTC, in calendar arithmetic: months are added
// first, and a day of month the target month lacks becomes its last day
// (2026-01-31 + P1M = 2026-02-28), then days, then the fixed part. Step is
// computed from origin for every k, so periods never drift.
func (d Duration) Step(origin time.Time, k int) time.Time {
	t := origin.UTC()
	if d.Months != 0 {
		t = addMonths(t, k*d.Months)
	}
	if d.Days != 0 {
		t = t.AddDate(0, 0, k*d.Days)
	}
	if d.Millis != 0 {
		t = t.Add(time.Duration(int64(k)*d.Millis) * time.Millisecond)
	}
	return t
}

// addMonths adds n calendar months to t, clamping the day of month.
func addMonths(t time.Time, n int) time.Time {
	y, m, day := t.Date()
	total := int(m) - 1 + n
	y += total / 12
	total %= 12
	if total < 0 {
		total += 12
		y--
	}
	month := time.Month(total + 1)
	if last := daysIn(y, month); day > last {
		day = last
	}
	h, mi, s := t.Clock()
	return time.Date(y, month, day, h, mi, s, t.Nanosecond(), time.UTC)
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// approxMillis is the average length of d, to estimate period counts.
func (d Duration) approxMillis() float64 {
	return float64(d.Months)*30.436875*86400e3 + float64(d.Days)*86400e3 + float64(d.Millis)
}
