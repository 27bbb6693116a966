package demo

import (
	"math"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
)

// Hash salts keep the random streams of different quantities independent.
const (
	saltWeather uint64 = iota + 1
	saltWeatherSlow
	saltSensor
	saltPM
	saltTraffic
	saltParking
	saltLight
	saltWaste
	saltEV
	saltBus
	saltPeople
)

// reportEvery is how often each kind of periodic sensor reports; kinds not listed report when
// their state changes.
var reportEvery = map[kind]time.Duration{
	kindAirQuality: time.Minute,
	kindWeather:    time.Minute,
	kindTraffic:    time.Minute,
	kindWaste:      15 * time.Minute,
	kindBus:        10 * time.Second,
	kindBuilding:   5 * time.Minute,
	kindKPI:        15 * time.Minute,
}

// reportTime is the observation time of a periodic sensor's latest report at or before t.
func reportTime(a *asset, t time.Time) time.Time {
	p, ok := reportEvery[a.kind]
	if !ok {
		return t
	}
	s := slot(t, p, a.phase)
	return time.Unix(0, s*int64(p)-int64(a.phase*float64(p))).UTC()
}

// dynamic returns the changing attributes of a at t, in normalized form; static assets have none.
func (c *City) dynamic(a *asset, t time.Time) map[string]any {
	at := reportTime(a, t)
	switch a.kind {
	case kindAirQuality:
		return c.airQuality(a, at)
	case kindWeather:
		return c.weather(a, at)
	case kindTraffic:
		return c.trafficFlow(a, at)
	case kindParkingSpot:
		return map[string]any{"status": observed(c.spotStatus(a, t), t.UTC())}
	case kindOffStreetParking:
		return c.offStreet(a, t)
	case kindStreetlight:
		return c.streetlight(a, t)
	case kindWaste:
		return c.wasteContainer(a, at)
	case kindEVCharger:
		return c.charger(a, t)
	case kindBus:
		return c.bus(a, at)
	case kindKPI:
		return c.kpi(a, at)
	case kindBuilding:
		occ := float64(a.capacity) * mallOccupancy(at) * (1 + 0.15*noise(c.seed, hash(saltPeople, a.idx), at, 20*time.Minute))
		return map[string]any{"peopleOccupancy": measure(math.Round(occ), "", at)}
	}
	return nil
}

// temperatureC is the temperature a station reads at t: climate, a city-wide weather system
// that drifts over days and hours, and a little local variation.
func (c *City) temperatureC(a *asset, t time.Time) float64 {
	return baseTemperatureC(t) +
		4*noise(c.seed, saltWeatherSlow, t, 60*time.Hour) +
		1.5*noise(c.seed, saltWeather, t, 5*time.Hour) +
		0.4*noise(c.seed, hash(saltSensor, a.idx), t, 2*time.Hour)
}

// relativeHumidity is a fraction: higher in winter and at night, falling as the air warms.
func (c *City) relativeHumidity(a *asset, t time.Time) float64 {
	h := localHour(t)
	base := 0.55 + 0.22*heatingSeason(t) - 0.12*math.Cos(2*math.Pi*(h-15)/24)
	return round(clamp(base+0.08*noise(c.seed, hash(saltWeather, 7), t, 8*time.Hour)+0.02*noise(c.seed, hash(saltSensor, a.idx, 7), t, time.Hour), 0.15, 1), 2)
}

// airQuality computes an AirQualityObserved station's readings.
func (c *City) airQuality(a *asset, t time.Time) map[string]any {
	traffic := trafficFactor(t)
	heat := heatingSeason(t)
	n := noise(c.seed, hash(saltPM, a.idx), t, 40*time.Minute)
	pm25 := round(math.Max(1, pm25Base(t)*a.scale*(1+0.25*n)), 1)
	dust := 8 * (1 - heat) * (1 + noise(c.seed, hash(saltPM, 2), t, 6*time.Hour)) // summer steppe dust
	pm10 := pm25*1.5 + dust
	no2 := (12 + 45*traffic + 10*heat) * (0.9 + 0.2*a.scale) * (1 + 0.2*n)
	o3 := math.Max(5, (20+70*daylight(t))*(1-0.3*traffic)*(1+0.15*noise(c.seed, hash(saltPM, a.idx, 3), t, time.Hour)))
	co := (0.3 + 0.8*traffic + 0.7*heat*pm25Base(t)/60) * a.scale
	aqi, level := aqiPM25(pm25)
	return map[string]any{
		"dateObserved":     prop(dateTime(t)),
		"pm25":             measure(pm25, unitMicrogramPerM3, t),
		"pm10":             measure(round(pm10, 1), unitMicrogramPerM3, t),
		"no2":              measure(round(no2, 1), unitMicrogramPerM3, t),
		"o3":               measure(round(o3, 1), unitMicrogramPerM3, t),
		"co":               measure(round(co, 2), unitMilligramPerM3, t),
		"temperature":      measure(round(c.temperatureC(a, t), 1), unitCelsius, t),
		"relativeHumidity": measure(c.relativeHumidity(a, t), "", t),
		"airQualityIndex":  measure(float64(aqi), "", t),
		"airQualityLevel":  observed(level, t),
	}
}

// weather computes a WeatherObserved station's readings.
func (c *City) weather(a *asset, t time.Time) map[string]any {
	temp := c.temperatureC(a, t)
	wind := 4.5 + 2.5*noise(c.seed, saltWeather+100, t, 3*time.Hour) + 0.8*noise(c.seed, hash(saltSensor, a.idx, 1), t, 10*time.Minute)
	dir := math.Mod(225+90*noise(c.seed, saltWeather+101, t, 12*time.Hour)+360, 360) // prevailing south-westerlies
	pressure := 975 + 12*noise(c.seed, saltWeather+102, t, 72*time.Hour)
	rain := math.Max(0, noise(c.seed, saltWeather+103, t, 4*time.Hour)-0.6) * 5
	m := map[string]any{
		"dateObserved":        prop(dateTime(t)),
		"temperature":         measure(round(temp, 1), unitCelsius, t),
		"relativeHumidity":    measure(c.relativeHumidity(a, t), "", t),
		"atmosphericPressure": measure(round(pressure, 1), unitHectopascal, t),
		"windSpeed":           measure(round(math.Max(0, wind), 1), unitMetrePerSecond, t),
		"windDirection":       measure(math.Round(dir), unitDegree, t),
		"precipitation":       measure(round(rain, 1), unitMillimetre, t),
		"illuminance":         measure(math.Round(100000*daylight(t)), unitLux, t),
	}
	if heatingSeason(t) > 0.5 {
		m["snowHeight"] = measure(math.Round(25*heatingSeason(t)*(1+0.2*noise(c.seed, saltWeather+104, t, 240*time.Hour))), unitCentimetre, t)
	}
	return m
}

// trafficFlow computes a traffic counter's observation for the minute ending at t.
func (c *City) trafficFlow(a *asset, t time.Time) map[string]any {
	demand := trafficFactor(t) * a.scale * (1 + 0.15*noise(c.seed, hash(saltTraffic, a.idx), t, 10*time.Minute))
	intensity := math.Round(float64(a.capacity) * clamp(demand, 0, 1.1))
	occupancy := clamp(0.03+0.75*math.Pow(clamp(demand, 0, 1), 2), 0, 0.95)
	winter := 1 - 0.15*heatingSeason(t) // snow and ice
	speed := math.Max(8, 62*winter*(1-0.75*math.Pow(occupancy, 1.5)))
	return map[string]any{
		"dateObserved":        prop(dateTime(t)),
		"dateObservedFrom":    prop(dateTime(t.Add(-time.Minute))),
		"dateObservedTo":      prop(dateTime(t)),
		"intensity":           measure(intensity, "", t),
		"averageVehicleSpeed": measure(round(speed, 1), unitKmPerHour, t),
		"occupancy":           measure(round(occupancy, 2), "", t),
		"congested":           observed(occupancy > 0.5, t),
	}
}

// spotStatus is a parking spot's state at t: each spot is decided afresh every dwell period,
// with the mall car-park occupancy for that time of day as the probability of being taken.
func (c *City) spotStatus(a *asset, t time.Time) string {
	s := slot(t, a.period, a.phase)
	mid := time.Unix(0, s*int64(a.period)).Add(a.period / 2)
	if unit(hash(uint64(c.seed), saltParking, a.idx, uint64(s))) < mallOccupancy(mid) {
		return "occupied"
	}
	return "free"
}

// offStreet computes a car park's counts from its spots.
func (c *City) offStreet(a *asset, t time.Time) map[string]any {
	free := c.freeSpots(a, t)
	total := len(a.spots)
	occ := 0.0
	if total > 0 {
		occ = float64(total-free) / float64(total)
	}
	status := "spacesAvailable"
	switch {
	case free == 0:
		status = "full"
	case occ >= 0.9:
		status = "almostFull"
	}
	return map[string]any{
		"availableSpotNumber": observed(float64(free), t.UTC()),
		"occupancy":           observed(round(occ, 2), t.UTC()),
		"status":              observed(strs(status), t.UTC()),
	}
}

// freeSpots counts a car park's free spots at t.
func (c *City) freeSpots(a *asset, t time.Time) int {
	free := 0
	for _, s := range a.spots {
		if c.spotStatus(s, t) == "free" {
			free++
		}
	}
	return free
}

// lightState is a streetlight's state: lamps switch on after sunset and off before sunrise
// (each photocell a few minutes apart), dim to 60 % after midnight, and rarely fail for a day.
type lightState struct {
	power  string
	status string
	level  float64
}

// streetlightState computes a lamp's state at t.
func (c *City) streetlightState(a *asset, t time.Time) lightState {
	day := t.In(Zone).YearDay() + 366*t.In(Zone).Year()
	r := unit(hash(uint64(c.seed), saltLight, a.idx, uint64(day)))
	status := "ok"
	switch {
	case r < 0.003:
		status = "defectiveLamp"
	case r < 0.004:
		status = "brokenLantern"
	case r < 0.0045:
		status = "columnIssue"
	}
	offset := time.Duration((a.phase - 0.5) * float64(10*time.Minute))
	if !dark(t, offset) {
		return lightState{"off", status, 0}
	}
	if status != "ok" {
		return lightState{"on", status, 0}
	}
	if h := localHour(t); h >= 1 && h < 5 {
		return lightState{"low", status, 0.6}
	}
	return lightState{"on", status, 1}
}

// streetlight renders a lamp's state.
func (c *City) streetlight(a *asset, t time.Time) map[string]any {
	s := c.streetlightState(a, t)
	return map[string]any{
		"powerState":       observed(s.power, t.UTC()),
		"status":           observed(s.status, t.UTC()),
		"illuminanceLevel": observed(s.level, t.UTC()),
	}
}

// wasteContainer computes a container's filling level: it fills at a steady rate (scale > 1
// overflows before collection) and is emptied once per period in the early morning.
func (c *City) wasteContainer(a *asset, t time.Time) map[string]any {
	// Collections happen at 06:00 local plus up to 4 hours, on a per-container cycle.
	offset := time.Duration(a.phase * float64(a.period))
	start := time.Date(2020, 1, 1, 6, 0, 0, 0, Zone).Add(time.Duration(a.phase*4*float64(time.Hour)) + offset.Truncate(24*time.Hour))
	since := t.Sub(start)
	n := since / a.period
	if since < 0 {
		n--
	}
	last := start.Add(n * a.period)
	f := float64(t.Sub(last)) / float64(a.period)
	level := clamp(f*a.scale+0.03*noise(c.seed, hash(saltWaste, a.idx), t, time.Hour), 0, 1)
	status := "ok"
	if r := unit(hash(uint64(c.seed), saltWaste, a.idx, uint64(slot(t, 6*time.Hour, 0)))); r < 0.01 {
		status = "lidOpen"
	}
	return map[string]any{
		"fillingLevel":     measure(round(level, 2), "", t),
		"status":           observed(status, t),
		"dateLastEmptying": prop(dateTime(last.UTC())),
	}
}

// chargerState is the number of free charging points and the station status at t.
func (c *City) chargerState(a *asset, t time.Time) (int, string) {
	day := uint64(t.In(Zone).YearDay() + 366*t.In(Zone).Year())
	if unit(hash(uint64(c.seed), saltEV, a.idx, day)) < 0.02 {
		return 0, "outOfService"
	}
	free := 0
	for k := range a.capacity {
		const session = 45 * time.Minute
		ph := math.Mod(a.phase+float64(k)*0.37, 1)
		s := slot(t, session, ph)
		if unit(hash(uint64(c.seed), saltEV, a.idx, uint64(k), uint64(s))) >= chargerUsage(t) {
			free++
		}
	}
	switch {
	case free == 0:
		return 0, "full"
	case free == 1 && a.capacity > 2:
		return free, "almostFull"
	}
	return free, "working"
}

// charger renders a station's availability.
func (c *City) charger(a *asset, t time.Time) map[string]any {
	free, status := c.chargerState(a, t)
	return map[string]any{
		"availableCapacity": observed(float64(free), t.UTC()),
		"status":            observed(status, t.UTC()),
	}
}

// bus computes a bus's position report.
func (c *City) bus(a *asset, t time.Time) map[string]any {
	p, heading, running := busPosition(a.route.Line, a.phase, t)
	p = roundPoint(p)
	speed, status := 0.0, "parked"
	if running {
		status = "onRoute"
		// Stopped at a stop or a light about a fifth of the time; slower in heavy traffic.
		if unit(hash(uint64(c.seed), saltBus, a.idx, uint64(slot(t, 30*time.Second, 0)))) >= 0.2 {
			speed = round(math.Max(5, 34*(1-0.5*trafficFactor(t))*(1+0.2*noise(c.seed, hash(saltBus, a.idx), t, time.Minute))), 1)
		}
	}
	loc := geoPoint(p)
	loc["observedAt"] = ngsild.FormatTime(t)
	return map[string]any{
		"location":      loc,
		"speed":         measure(speed, unitKmPerHour, t),
		"heading":       measure(math.Round(heading), unitDegree, t),
		"serviceStatus": observed(status, t),
	}
}

// kpi computes a KeyPerformanceIndicator over the sensors of its district (all districts for
// the city-wide ones).
func (c *City) kpi(a *asset, t time.Time) map[string]any {
	sum, n := 0.0, 0
	for _, s := range c.assets {
		if a.district != "" && s.district != a.district {
			continue
		}
		switch {
		case a.metric == metricPM25 && s.kind == kindAirQuality:
			sum += c.airQuality(s, t)["pm25"].(map[string]any)["value"].(float64)
			n++
		case a.metric == metricParking && s.kind == kindParkingSpot:
			if c.spotStatus(s, t) == "occupied" {
				sum += 100
			}
			n++
		}
	}
	v := 0.0
	if n > 0 {
		v = round(sum/float64(n), 1)
	}
	standing := "good"
	switch a.metric {
	case metricPM25:
		switch _, level := aqiPM25(v); level {
		case "good":
			standing = "veryGood"
		case "moderate":
			standing = "good"
		case "unhealthyForSensitiveGroups":
			standing = "fair"
		case "unhealthy":
			standing = "bad"
		default:
			standing = "veryBad"
		}
	case metricParking:
		switch {
		case v >= 90:
			standing = "bad"
		case v >= 75:
			standing = "fair"
		}
	}
	day := t.In(Zone).Format(time.DateOnly)
	return map[string]any{
		"kpiValue":            measure(v, "", t),
		"currentStanding":     observed(standing, t),
		"calculationPeriod":   prop(map[string]any{"from": day, "to": day}),
		"dateNextCalculation": prop(dateTime(t.Add(reportEvery[kindKPI]))),
	}
}
