package demo

import (
	"testing"
	"time"
)

// local builds an Astana local time.
func local(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, Zone)
}

// values returns attribute attr of every asset of kind k at t.
func values(c *City, k kind, attr string, t time.Time) []any {
	var out []any
	for _, a := range c.assets {
		if a.kind == k {
			out = append(out, c.dynamic(a, t)[attr].(map[string]any)["value"])
		}
	}
	return out
}

// mean averages numeric attribute values.
func mean(t *testing.T, vs []any) float64 {
	t.Helper()
	if len(vs) == 0 {
		t.Fatal("no values")
	}
	sum := 0.0
	for _, v := range vs {
		sum += v.(float64)
	}
	return sum / float64(len(vs))
}

// count counts attribute values equal to want.
func count(vs []any, want any) int {
	n := 0
	for _, v := range vs {
		if v == want {
			n++
		}
	}
	return n
}

func TestTrafficRushHour(t *testing.T) {
	c := newCity(t, 1)
	// Wednesday 2026-01-14 and Thursday 2026-07-16.
	for _, day := range []time.Time{local(2026, 1, 14, 0, 0), local(2026, 7, 16, 0, 0)} {
		at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
		rush := mean(t, values(c, kindTraffic, "intensity", at(8, 30)))
		evening := mean(t, values(c, kindTraffic, "intensity", at(18, 30)))
		night := mean(t, values(c, kindTraffic, "intensity", at(3, 0)))
		noon := mean(t, values(c, kindTraffic, "intensity", at(12, 0)))
		if !(rush > 2*night && evening > 2*night && rush > noon && evening > noon) {
			t.Errorf("%s: mean intensity 03:00 %.1f, 08:30 %.1f, 12:00 %.1f, 18:30 %.1f; want rush-hour peaks",
				day.Format("2006-01-02"), night, rush, noon, evening)
		}
		rushSpeed := mean(t, values(c, kindTraffic, "averageVehicleSpeed", at(8, 30)))
		nightSpeed := mean(t, values(c, kindTraffic, "averageVehicleSpeed", at(3, 0)))
		if rushSpeed >= nightSpeed {
			t.Errorf("%s: speed at 08:30 %.1f km/h, at 03:00 %.1f km/h; want slower at rush hour", day.Format("2006-01-02"), rushSpeed, nightSpeed)
		}
	}
}

func TestStreetlightsFollowTheSun(t *testing.T) {
	c := newCity(t, 1)
	for _, tc := range []struct {
		at      time.Time
		on, off bool // all working lamps on / all off
	}{
		{local(2026, 6, 21, 23, 0), true, false},
		{local(2026, 6, 21, 13, 0), false, true},
		{local(2026, 12, 21, 18, 0), true, false}, // long winter evening
		{local(2026, 12, 21, 12, 0), false, true},
		{local(2026, 12, 21, 7, 30), true, false}, // dark winter morning
	} {
		power := values(c, kindStreetlight, "powerState", tc.at)
		status := values(c, kindStreetlight, "status", tc.at)
		off := count(power, "off")
		lit := len(power) - off
		working := count(status, "ok")
		if tc.on && lit != len(power) {
			t.Errorf("%v: %d of %d lamps powered, want all", tc.at, lit, len(power))
		}
		if tc.off && off != len(power) {
			t.Errorf("%v: %d of %d lamps off, want all", tc.at, off, len(power))
		}
		if working == len(status) || working < len(status)*97/100 {
			t.Errorf("%v: %d of %d lamps ok; want rare faults", tc.at, working, len(status))
		}
	}
}

func TestSunTimes(t *testing.T) {
	// Reference times for Astana (51.13 N, 71.43 E) in UTC+5, from published almanacs, ±15 min.
	for _, tc := range []struct {
		day       time.Time
		rise, set string
	}{
		{local(2026, 6, 21, 12, 0), "03:56", "20:25"},
		{local(2026, 12, 21, 12, 0), "08:04", "16:02"},
		{local(2026, 3, 20, 12, 0), "06:10", "18:20"},
	} {
		rise, set := sunTimes(tc.day)
		for _, x := range []struct {
			got  time.Time
			want string
		}{{rise, tc.rise}, {set, tc.set}} {
			w, _ := time.ParseInLocation("15:04", x.want, Zone)
			want := time.Date(tc.day.Year(), tc.day.Month(), tc.day.Day(), w.Hour(), w.Minute(), 0, 0, Zone)
			if d := x.got.Sub(want); d < -15*time.Minute || d > 15*time.Minute {
				t.Errorf("%s: got %s, want %s", tc.day.Format("2006-01-02"), x.got.In(Zone).Format("15:04"), x.want)
			}
		}
	}
}

func TestAirQualitySeasons(t *testing.T) {
	c := newCity(t, 1)
	// Average over a week of January evenings and July noons.
	var winter, summer float64
	for d := range 7 {
		winter += mean(t, values(c, kindAirQuality, "pm25", local(2026, 1, 12+d, 20, 0)))
		summer += mean(t, values(c, kindAirQuality, "pm25", local(2026, 7, 13+d, 12, 0)))
	}
	winter, summer = winter/7, summer/7
	if winter < 2*summer || winter < 35 || summer > 25 {
		t.Errorf("mean PM2.5 January 20:00 %.1f µg/m³, July 12:00 %.1f µg/m³; want a coal-heating winter peak", winter, summer)
	}
	// The index follows the concentration.
	for _, a := range c.assets {
		if a.kind != kindAirQuality {
			continue
		}
		m := c.dynamic(a, local(2026, 1, 14, 20, 0))
		pm := m["pm25"].(map[string]any)["value"].(float64)
		aqi := m["airQualityIndex"].(map[string]any)["value"].(float64)
		want, _ := aqiPM25(pm)
		if aqi != float64(want) {
			t.Errorf("%s: pm25 %.1f, AQI %v, want %d", a.id, pm, aqi, want)
		}
	}
}

func TestAQI(t *testing.T) {
	for _, tc := range []struct {
		c     float64
		aqi   int
		level string
	}{
		{0, 0, "good"}, {9, 50, "good"}, {9.05, 50, "good"}, {35.4, 100, "moderate"}, {35.5, 101, "unhealthyForSensitiveGroups"},
		{55.5, 151, "unhealthy"}, {125.4, 200, "unhealthy"}, {300, 449, "hazardous"}, {1000, 500, "hazardous"},
	} {
		aqi, level := aqiPM25(tc.c)
		if aqi != tc.aqi || level != tc.level {
			t.Errorf("aqiPM25(%v) = %d %s, want %d %s", tc.c, aqi, level, tc.aqi, tc.level)
		}
	}
}

func TestTemperatureClimate(t *testing.T) {
	c := newCity(t, 1)
	monthMean := func(m time.Month, h int) float64 {
		sum := 0.0
		for d := 1; d <= 28; d++ {
			sum += mean(t, values(c, kindWeather, "temperature", local(2026, m, d, h, 0)))
		}
		return sum / 28
	}
	janNight, janDay := monthMean(time.January, 5), monthMean(time.January, 15)
	julNight, julDay := monthMean(time.July, 5), monthMean(time.July, 15)
	if janDay > -5 || janNight < -30 || janNight >= janDay {
		t.Errorf("January: 05:00 %.1f °C, 15:00 %.1f °C; want a cold winter with a daily cycle", janNight, janDay)
	}
	if julDay < 20 || julDay > 32 || julNight >= julDay {
		t.Errorf("July: 05:00 %.1f °C, 15:00 %.1f °C; want a warm summer with a daily cycle", julNight, julDay)
	}
}

func TestParkingEveningPeak(t *testing.T) {
	c := newCity(t, 1)
	evening := count(values(c, kindParkingSpot, "status", local(2026, 1, 14, 19, 0)), "occupied")
	night := count(values(c, kindParkingSpot, "status", local(2026, 1, 14, 4, 0)), "occupied")
	if evening < numParkingSpots/2 || night > numParkingSpots/5 {
		t.Errorf("occupied spots at 19:00 %d, at 04:00 %d of %d; want busy evenings and empty nights", evening, night, numParkingSpots)
	}
	// Car-park counts agree with their spots.
	at := local(2026, 1, 14, 19, 0)
	for _, a := range c.assets {
		if a.kind != kindOffStreetParking {
			continue
		}
		free := 0
		for _, s := range a.spots {
			if c.spotStatus(s, at) == "free" {
				free++
			}
		}
		got := c.dynamic(a, at)["availableSpotNumber"].(map[string]any)["value"].(float64)
		if got != float64(free) {
			t.Errorf("%s: availableSpotNumber %v, spots free %d", a.id, got, free)
		}
	}
}

func TestWasteFillsAndEmpties(t *testing.T) {
	c := newCity(t, 1)
	start := local(2026, 3, 2, 0, 0)
	for _, a := range c.assets {
		if a.kind != kindWaste || a.idx%4 != 0 {
			continue
		}
		prev, drops, rises := -1.0, 0, 0
		for h := range 4 * 24 {
			v := c.dynamic(a, start.Add(time.Duration(h)*time.Hour))["fillingLevel"].(map[string]any)["value"].(float64)
			if v < 0 || v > 1 {
				t.Fatalf("%s: fillingLevel %v out of [0, 1]", a.id, v)
			}
			switch {
			case prev >= 0 && v < prev-0.3:
				drops++
			case v > prev:
				rises++
			}
			prev = v
		}
		if drops == 0 || rises < 24 {
			t.Errorf("%s (every %v): %d emptyings and %d rises in 4 days", a.id, a.period, drops, rises)
		}
	}
}

func TestChargersAndBuses(t *testing.T) {
	c := newCity(t, 1)
	evening := local(2026, 1, 14, 20, 30)
	night := local(2026, 1, 14, 3, 30)
	if e, n := mean(t, values(c, kindEVCharger, "availableCapacity", evening)), mean(t, values(c, kindEVCharger, "availableCapacity", night)); e >= n {
		t.Errorf("mean free charging points at 20:30 %.2f, at 03:30 %.2f; want busier evenings", e, n)
	}
	// Buses stay in the city and move at about 300 m a minute during service hours (less at
	// corners and turn-arounds); at night they are parked.
	moved, reports := 0, 0
	for i := range 20 {
		at := local(2026, 1, 14, 7, 0).Add(time.Duration(i) * 37 * time.Minute)
		for _, a := range c.assets {
			if a.kind != kindBus {
				continue
			}
			m := c.dynamic(a, at)
			p := toPoint(t, m["location"].(map[string]any)["value"].(map[string]any)["coordinates"])
			if !c.geo.Boundary.contains(p) {
				t.Fatalf("%s at %v: %v is outside the city", a.id, at, p)
			}
			later := c.dynamic(a, at.Add(time.Minute))["location"].(map[string]any)["value"].(map[string]any)["coordinates"]
			d := distanceMetres(p, toPoint(t, later))
			if d > 310 {
				t.Errorf("%s moved %.0f m in a minute, want at most 300 m", a.id, d)
			}
			reports++
			if d > 250 {
				moved++
			}
		}
	}
	if moved < reports*8/10 {
		t.Errorf("%d of %d bus reports moved about 300 m in a minute; want most", moved, reports)
	}
	for _, v := range values(c, kindBus, "serviceStatus", night) {
		if v != "parked" {
			t.Fatalf("bus serviceStatus at 03:30 is %v, want parked", v)
		}
	}
}

func TestKPIs(t *testing.T) {
	c := newCity(t, 1)
	at := local(2026, 1, 14, 20, 0)
	for _, a := range c.assets {
		if a.kind != kindKPI {
			continue
		}
		rt := reportTime(a, at)
		m := c.dynamic(a, at)
		got := m["kpiValue"].(map[string]any)["value"].(float64)
		switch a.metric {
		case metricParking:
			occ, n := 0, 0
			for _, s := range c.assets {
				if s.kind == kindParkingSpot && (a.district == "" || s.district == a.district) {
					n++
					if c.spotStatus(s, rt) == "occupied" {
						occ++
					}
				}
			}
			if want := round(100*float64(occ)/float64(n), 1); got != want {
				t.Errorf("%s: kpiValue %v, want %v (%d of %d spots occupied)", a.id, got, want, occ, n)
			}
		case metricPM25:
			// January evenings are smoggy everywhere.
			if got < 35 || m["currentStanding"].(map[string]any)["value"] == "veryGood" {
				t.Errorf("%s: mean PM2.5 %v (%v) on a January evening", a.id, got, m["currentStanding"])
			}
		}
	}
}
