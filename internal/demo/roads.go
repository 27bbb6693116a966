package demo

import (
	"math"
	"time"
)

// polyline is a synthetic road or bus route: straight segments between known points, with the
// cumulative length in metres at each vertex.
type polyline struct {
	Name string
	Pts  []point
	Cum  []float64
}

// newPolyline measures the vertices of a polyline.
func newPolyline(name string, pts []point) *polyline {
	pl := &polyline{Name: name, Pts: pts, Cum: make([]float64, len(pts))}
	for i := 1; i < len(pts); i++ {
		pl.Cum[i] = pl.Cum[i-1] + distanceMetres(pts[i-1], pts[i])
	}
	return pl
}

// length is the total length in metres.
func (pl *polyline) length() float64 { return pl.Cum[len(pl.Cum)-1] }

// at returns the position s metres along the polyline (clamped to its ends) and the bearing of
// the segment there.
func (pl *polyline) at(s float64) (point, float64) {
	s = clamp(s, 0, pl.length())
	for i := 1; i < len(pl.Pts); i++ {
		if s <= pl.Cum[i] || i == len(pl.Pts)-1 {
			a, b := pl.Pts[i-1], pl.Pts[i]
			seg := pl.Cum[i] - pl.Cum[i-1]
			f := 0.0
			if seg > 0 {
				f = (s - pl.Cum[i-1]) / seg
			}
			return point{a[0] + (b[0]-a[0])*f, a[1] + (b[1]-a[1])*f}, bearingDegrees(a, b)
		}
	}
	return pl.Pts[0], 0
}

// stop is one end of a synthetic segment: a landmark key or a mall's OSM id.
type stop string

// resolve looks a stop up in the embedded data.
func (g *geoData) resolve(s stop) point {
	for _, m := range g.Malls {
		if m.OSMID == string(s) {
			return m.Centroid
		}
	}
	return g.landmark(string(s))
}

// line builds a polyline through the given stops.
func (g *geoData) line(name string, stops ...stop) *polyline {
	pts := make([]point, len(stops))
	for i, s := range stops {
		pts[i] = g.resolve(s)
	}
	return newPolyline(name, pts)
}

// Mall OSM ids used as road and route vertices.
const (
	mallKhanShatyr    stop = "way/108292453"
	mallMegaSilkWay   stop = "way/499328514"
	mallSaryarka      stop = "way/240909210"
	mallKeruenCity    stop = "way/209448027"
	mallSauran        stop = "way/915690898"
	mallAsiaPark      stop = "way/239713764"
	mallAsem          stop = "way/241594875"
	mallArtem         stop = "way/240376713"
	mallRakhmetWest   stop = "way/241090093"
	mallShelkoviyPut  stop = "way/426120388"
	mallSineTempore   stop = "way/241206128"
	mall12Mesyacev    stop = "way/240363774"
	mallZhibekZholy   stop = "way/242346787"
	mallRakhmetEast   stop = "way/240860160"
	mallMereke        stop = "way/241464966"
	mallMeridian      stop = "way/240502743"
	mallAruzhan       stop = "way/167091817"
	mallCentralMarket stop = "way/242016673"
	mallKoktal        stop = "way/241584576"
	mallAlem          stop = "way/240376710"
)

// roads returns the synthetic major avenues: straight lines between landmarks and malls that
// follow the real avenues' general course. They are not OSM road geometry.
func (g *geoData) roads() []*polyline {
	return []*polyline{
		g.line("Nurzhol Boulevard", "khan-shatyr", "keruen", "bayterek", "akorda"),
		g.line("Turan Avenue", mallMegaSilkWay, mallKhanShatyr, mallSaryarka, mallKeruenCity),
		g.line("Kabanbay Batyr Avenue", "nur-alem-expo", mallSauran, mallAsiaPark),
		g.line("Kabanbay Batyr Avenue (airport road)", "nur-alem-expo", "airport-nqz"),
		g.line("Respublika Avenue", "station-astana-1", mallAsem, mallArtem, "bayterek"),
		g.line("Abay Avenue", mallRakhmetWest, mallShelkoviyPut, mallSineTempore, mallArtem, mall12Mesyacev, mallZhibekZholy),
		g.line("Tauelsizdik Avenue", "palace-of-peace", mallRakhmetEast, mallMereke, "station-nurly-zhol"),
		g.line("Alash Highway", mallMeridian, mallAruzhan, mallCentralMarket),
		g.line("Tlendiyev Avenue", mallKoktal, mallRakhmetWest, "station-astana-1"),
		g.line("Mangilik El Avenue", "akorda", "aifc"),
	}
}

// busRoute is a synthetic bus line: buses shuttle along its polyline, out and back.
type busRoute struct {
	Number string
	Line   *polyline
}

// busRoutes returns the synthetic bus lines between landmarks and malls.
func (g *geoData) busRoutes() []busRoute {
	return []busRoute{
		{"10", g.line("Astana-1 – Bayterek – EXPO – Airport", "station-astana-1", "bayterek", "nur-alem-expo", "airport-nqz")},
		{"12", g.line("Nurly Zhol – Palace of Peace – Bayterek – Khan Shatyr", "station-nurly-zhol", "palace-of-peace", "bayterek", "khan-shatyr")},
		{"21", g.line("Koktal – Astana-1 – Central Market", mallKoktal, mallRakhmetWest, "station-astana-1", mallCentralMarket)},
		{"32", g.line("Mega Silk Way – Khan Shatyr – Artem – 12 Mesyacev", mallMegaSilkWay, mallKhanShatyr, mallKeruenCity, mallArtem, mall12Mesyacev)},
		{"40", g.line("Meridian – Aruzhan – Mereke – Nurly Zhol", mallMeridian, mallAruzhan, mallMereke, "station-nurly-zhol")},
		{"46", g.line("Akorda – AIFC – Mega Silk Way", "akorda", "aifc", mallMegaSilkWay)},
		{"54", g.line("Alem – Asem – Keruen City – Asia-Park", mallAlem, mallAsem, mallKeruenCity, mallAsiaPark)},
	}
}

// busPosition returns where a bus is at t on its route: it shuttles out and back at a constant
// commercial speed, starting at phase (a fraction of the round trip); outside service hours it
// waits at the first stop. The bearing is the direction of travel.
func busPosition(r *polyline, phase float64, t time.Time) (point, float64, bool) {
	if !busInService(t) {
		p, _ := r.at(0)
		return p, 0, false
	}
	const speedMps = 18 / 3.6 // average commercial speed including stops
	loop := 2 * r.length()
	s := math.Mod(float64(t.Unix())*speedMps+phase*loop, loop)
	if s <= r.length() {
		p, b := r.at(s)
		return p, b, true
	}
	p, b := r.at(loop - s)
	return p, math.Mod(b+180, 360), true
}
