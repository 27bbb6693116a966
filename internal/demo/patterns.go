package demo

import (
	"math"
	"time"
)

// Astana's position (the OSM admin-centre node) and time zone. Kazakhstan moved to a single
// UTC+5 zone on 2024-03-01, so a fixed zone is exact for current dates.
const (
	cityLat = 51.1282205
	cityLon = 71.4306682
)

// Zone is Astana's time zone (UTC+5), in which the simulated daily patterns run.
var Zone = time.FixedZone("UTC+5", 5*3600)

// localHour returns the fractional hour of day in Astana, in [0, 24).
func localHour(t time.Time) float64 {
	l := t.In(Zone)
	return float64(l.Hour()) + float64(l.Minute())/60 + float64(l.Second())/3600
}

// weekend reports whether t falls on a Saturday or Sunday in Astana.
func weekend(t time.Time) bool {
	wd := t.In(Zone).Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// bell is a Gaussian bump around mu (hours) of width sigma on the 24-hour circle, peaking at 1.
func bell(h, mu, sigma float64) float64 {
	d := math.Abs(h - mu)
	d = math.Min(d, 24-d)
	return math.Exp(-d * d / (2 * sigma * sigma))
}

// trafficFactor is the city-wide traffic demand in [0, 1]: weekday peaks at 08:00–09:00 and
// 18:00–19:00, a daytime plateau, and quiet nights; weekends have a late, flat midday hump.
func trafficFactor(t time.Time) float64 {
	h := localHour(t)
	var f float64
	if weekend(t) {
		f = 0.07 + 0.45*bell(h, 14, 3.5) + 0.1*bell(h, 19, 1.5)
	} else {
		f = 0.06 + 0.33*bell(h, 13, 4.5) + 0.6*bell(h, 8.5, 0.9) + 0.62*bell(h, 18.5, 1.1)
	}
	return clamp(f, 0, 1)
}

// monthlyMeanC and monthlyHalfRangeC are Astana's climate normals (°C): mean temperature and
// half the mean daily range, January first. Continental: about −14 °C in January, +21 °C in July
// with afternoon highs near +27 °C.
var (
	monthlyMeanC      = [12]float64{-14.2, -13.6, -6.6, 5.1, 13.4, 19.0, 20.9, 18.7, 12.0, 3.9, -5.4, -11.4}
	monthlyHalfRangeC = [12]float64{4.0, 4.5, 5.0, 6.0, 7.0, 7.0, 6.5, 6.5, 6.5, 5.0, 4.0, 4.0}
)

// seasonal interpolates a monthly table at t, treating each value as the mid-month figure.
func seasonal(table *[12]float64, t time.Time) float64 {
	l := t.In(Zone)
	// Position in months from mid-January, wrapping around the year.
	m := float64(l.Month()-1) + (float64(l.Day())-0.5)/float64(daysIn(l)) - 0.5
	if m < 0 {
		m += 12
	}
	i := int(m) % 12
	f := m - math.Floor(m)
	return table[i]*(1-f) + table[(i+1)%12]*f
}

// daysIn returns the number of days in t's month.
func daysIn(t time.Time) int {
	return time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// baseTemperatureC is the climatological temperature at t: monthly mean plus a daily cycle with
// its minimum near 05:00 and maximum near 15:00 local time.
func baseTemperatureC(t time.Time) float64 {
	h := localHour(t)
	return seasonal(&monthlyMeanC, t) + seasonal(&monthlyHalfRangeC, t)*math.Cos(2*math.Pi*(h-15)/24)
}

// heatingSeason is 1 in the heating season (mid-October to mid-April in Astana), 0 in summer,
// following temperature smoothly between.
func heatingSeason(t time.Time) float64 {
	return clamp((10-seasonal(&monthlyMeanC, t))/8, 0, 1)
}

// sunTimes returns approximate sunrise and sunset (UTC instants) for the local calendar day of t,
// from the NOAA low-precision formulas (accurate to a few minutes at 51° N).
func sunTimes(t time.Time) (rise, set time.Time) {
	l := t.In(Zone)
	n := float64(l.YearDay())
	g := 2 * math.Pi / 365 * (n - 1)
	decl := 0.006918 - 0.399912*math.Cos(g) + 0.070257*math.Sin(g) - 0.006758*math.Cos(2*g) +
		0.000907*math.Sin(2*g) - 0.002697*math.Cos(3*g) + 0.00148*math.Sin(3*g)
	eqTime := 229.18 * (0.000075 + 0.001868*math.Cos(g) - 0.032077*math.Sin(g) -
		0.014615*math.Cos(2*g) - 0.040849*math.Sin(2*g))
	lat := cityLat * math.Pi / 180
	cosH := (math.Cos(90.833*math.Pi/180) - math.Sin(lat)*math.Sin(decl)) / (math.Cos(lat) * math.Cos(decl))
	ha := math.Acos(clamp(cosH, -1, 1)) * 180 / math.Pi
	noonUTC := 720 - 4*cityLon - eqTime // minutes after UTC midnight
	// Minutes are counted from 00:00 UTC of the local calendar date; sunrise in Astana comes
	// before that instant (22:00–01:00 UTC), so the offset may be negative.
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	rise = day.Add(time.Duration((noonUTC - 4*ha) * float64(time.Minute)))
	set = day.Add(time.Duration((noonUTC + 4*ha) * float64(time.Minute)))
	return rise, set
}

// dark reports whether street lighting is needed at t: from shortly after sunset to shortly
// before sunrise, shifted by offset (a lamp's photocell tolerance).
func dark(t time.Time, offset time.Duration) bool {
	rise, set := sunTimes(t)
	return t.Before(rise.Add(-10*time.Minute+offset)) || t.After(set.Add(10*time.Minute+offset))
}

// daylight is the relative solar strength in [0, 1]: zero at night, peaking at solar noon, and
// stronger in summer.
func daylight(t time.Time) float64 {
	rise, set := sunTimes(t)
	if t.Before(rise) || t.After(set) {
		return 0
	}
	x := float64(t.Sub(rise)) / float64(set.Sub(rise))
	return math.Sin(math.Pi*x) * (0.35 + 0.65*(1-heatingSeason(t)))
}

// pm25Base is the city-wide PM2.5 level (µg/m³): traffic contributes at rush hours; in the
// heating season coal-fired private houses and the CHP plants add a strong evening peak
// (19:00–23:00) and a smaller morning one, made worse by the cold-air inversion.
func pm25Base(t time.Time) float64 {
	h := localHour(t)
	heat := heatingSeason(t)
	return 7 + 9*trafficFactor(t) + heat*(14+48*bell(h, 21, 2.5)+16*bell(h, 8, 1.5))
}

// mallOccupancy is the share of a mall car park in use: near empty at night, a lunchtime hump,
// and a peak around 19:00 (higher at weekends).
func mallOccupancy(t time.Time) float64 {
	h := localHour(t)
	f := 0.04 + 0.3*bell(h, 13.5, 2.5) + 0.55*bell(h, 19, 2)
	if weekend(t) {
		f += 0.2 * bell(h, 15, 4)
	}
	return clamp(f, 0, 0.97)
}

// chargerUsage is the probability that a charging point is in use at t.
func chargerUsage(t time.Time) float64 {
	h := localHour(t)
	return clamp(0.08+0.3*bell(h, 13, 3)+0.45*bell(h, 20.5, 2.5), 0, 0.95)
}

// busInService reports whether city buses run at t (06:00–23:30 local).
func busInService(t time.Time) bool {
	h := localHour(t)
	return h >= 6 && h < 23.5
}

// aqiPM25 converts a PM2.5 concentration (µg/m³, 24-hour basis) to the US EPA Air Quality Index
// (2024 breakpoints) and its level name.
func aqiPM25(c float64) (int, string) {
	bp := []struct {
		cLo, cHi float64
		iLo, iHi float64
		level    string
	}{
		{0, 9.0, 0, 50, "good"},
		{9.1, 35.4, 51, 100, "moderate"},
		{35.5, 55.4, 101, 150, "unhealthyForSensitiveGroups"},
		{55.5, 125.4, 151, 200, "unhealthy"},
		{125.5, 225.4, 201, 300, "veryUnhealthy"},
		{225.5, 325.4, 301, 500, "hazardous"},
	}
	c = math.Floor(c*10) / 10
	for _, b := range bp {
		if c <= b.cHi {
			c = math.Max(c, b.cLo)
			return int(math.Round((b.iHi-b.iLo)/(b.cHi-b.cLo)*(c-b.cLo) + b.iLo)), b.level
		}
	}
	return 500, "hazardous"
}

// clamp limits v to [lo, hi].
func clamp(v, lo, hi float64) float64 {
	return math.Max(lo, math.Min(hi, v))
}

// mix64 is the splitmix64 finaliser, a cheap and well-distributed 64-bit hash step.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash combines the values into one 64-bit hash; the simulator's randomness is a pure function
// of the seed, an entity and a time slot, so any instant can be recomputed.
func hash(vals ...uint64) uint64 {
	h := uint64(0x51ed270b27a3c9f1)
	for _, v := range vals {
		h = mix64(h ^ v)
	}
	return h
}

// unit maps a hash to a float in [0, 1).
func unit(h uint64) float64 {
	return float64(h>>11) / (1 << 53)
}

// slot returns the index of the period-long time slot containing t, shifted by phase in [0, 1).
func slot(t time.Time, period time.Duration, phase float64) int64 {
	ns := t.UnixNano() + int64(phase*float64(period))
	s := ns / int64(period)
	if ns < 0 && ns%int64(period) != 0 {
		s--
	}
	return s
}

// noise is smooth value noise in [-1, 1]: random values at slot boundaries, cosine-interpolated,
// so readings drift rather than jump.
func noise(seed int64, key uint64, t time.Time, period time.Duration) float64 {
	s := slot(t, period, 0)
	f := float64(t.UnixNano()-s*int64(period)) / float64(period)
	a := 2*unit(hash(uint64(seed), key, uint64(s))) - 1
	b := 2*unit(hash(uint64(seed), key, uint64(s+1))) - 1
	w := (1 - math.Cos(math.Pi*f)) / 2
	return a*(1-w) + b*w
}

// round rounds v to the given number of decimals.
func round(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(v*p) / p
}
