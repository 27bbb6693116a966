package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// JSON-LD contexts the demo documents carry, in order: the aggregated Smart Data Models context,
// then the NGSI-LD core context.
const (
	SmartDataModelsContext = "https://smartdatamodels.org/context.jsonld"
	CoreContext            = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
)

// Counts of generated assets; the city has about 3,700 entities in all.
const (
	numAirQuality   = 60
	numWeather      = 15
	numTraffic      = 200
	numParkingSpots = 1000
	numStreetlights = 1500
	numWaste        = 600
	numEVChargers   = 60
	numBuses        = 80
)

// kind tells the simulator how an asset behaves.
type kind int

const (
	kindStatic kind = iota // areas, points of interest, devices
	kindBuilding
	kindAirQuality
	kindWeather
	kindTraffic
	kindParkingSpot
	kindOffStreetParking
	kindStreetlight
	kindWaste
	kindEVCharger
	kindBus
	kindKPI
)

// asset is one generated entity with the parameters that drive its simulated readings.
type asset struct {
	kind     kind
	id, typ  string
	district string
	idx      uint64 // ordinal, mixed into every hash
	at       point
	static   map[string]any // normalized attributes that never change
	scale    float64        // per-asset multiplier on its readings
	phase    float64        // per-asset phase in [0, 1)
	capacity int            // traffic lane capacity per minute, EV points, parking spots, people
	period   time.Duration  // waste-collection interval, parking dwell time
	spots    []*asset       // an OffStreetParking's ParkingSpots
	route    *busRoute
	metric   string // a KeyPerformanceIndicator's metric
}

// City is a generated Astana: a fixed set of entities whose dynamic attributes are a pure
// function of the seed and the time, so that any instant can be (re)computed. A City is
// immutable and safe for concurrent use.
type City struct {
	seed   int64
	geo    *geoData
	assets []*asset
}

// New generates the city for seed. It fails only if the embedded data cannot be read.
func New(seed int64) (*City, error) {
	g, err := loadGeo()
	if err != nil {
		return nil, fmt.Errorf("demo data: %w", err)
	}
	gen := &generator{
		city:   &City{seed: seed, geo: g},
		rng:    rand.New(rand.NewPCG(uint64(seed), 0xa57a4a)),
		counts: map[string]int{},
	}
	gen.build()
	return gen.city, nil
}

// Entities returns the full city as NGSI-LD entities in normalized form, with dynamic attributes
// as they are at the instant at. Each call returns fresh maps the caller may modify.
func (c *City) Entities(at time.Time) []map[string]any {
	out := make([]map[string]any, 0, len(c.assets))
	for _, a := range c.assets {
		doc := map[string]any{"id": a.id, "type": a.typ}
		for k, v := range a.static {
			doc[k] = deepCopy(v)
		}
		for k, v := range c.dynamic(a, at) {
			doc[k] = v
		}
		doc["@context"] = contextValue()
		out = append(out, doc)
	}
	return out
}

// Generate returns the city for seed as NGSI-LD entities in normalized form, as it is at the
// instant at; it is New followed by Entities.
func Generate(seed int64, at time.Time) ([]map[string]any, error) {
	c, err := New(seed)
	if err != nil {
		return nil, err
	}
	return c.Entities(at), nil
}

// Len returns the number of entities in the city.
func (c *City) Len() int { return len(c.assets) }

// Seed returns the seed the city was generated from.
func (c *City) Seed() int64 { return c.seed }

// contextValue returns a fresh @context array for one document.
func contextValue() []any { return []any{SmartDataModelsContext, CoreContext} }

// deepCopy copies JSON-like values so documents never share mutable maps or slices.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// districtWeights spreads assets over districts: denser in central Yesil (left bank, the
// government quarter) and the old right-bank districts Almaty and Saryarka.
var districtWeights = []struct {
	key string
	w   float64
}{
	{"yesil", 0.28}, {"almaty", 0.25}, {"saryarka", 0.19}, {"baikonur", 0.16}, {"nura", 0.12},
}

// generator holds the state of one city generation.
type generator struct {
	city   *City
	rng    *rand.Rand
	counts map[string]int // per type and district, for ids
}

// add creates an asset with the next id for its type and district.
func (gen *generator) add(k kind, typ, district string, at point) *asset {
	key := typ + "/" + district
	gen.counts[key]++
	a := &asset{
		kind: k, typ: typ, district: district, at: at,
		id:     fmt.Sprintf("urn:ngsi-ld:%s:astana-%s-%d", typ, district, gen.counts[key]),
		idx:    uint64(len(gen.city.assets)),
		static: map[string]any{},
		scale:  1,
		phase:  gen.rng.Float64(),
	}
	if at != (point{}) {
		a.static["location"] = geoPoint(at)
	}
	gen.city.assets = append(gen.city.assets, a)
	return a
}

// pickDistrict draws a district by districtWeights.
func (gen *generator) pickDistrict() *district {
	r := gen.rng.Float64()
	for _, dw := range districtWeights {
		if r < dw.w {
			return gen.city.geo.district(dw.key)
		}
		r -= dw.w
	}
	return gen.city.geo.district(districtWeights[0].key)
}

// hotspots returns the points around which assets cluster in a district: its landmarks, its
// malls and its label point.
func (gen *generator) hotspots(d *district) []point {
	g := gen.city.geo
	pts := []point{d.Label}
	for _, l := range g.Landmarks {
		if l.District == d.Key && l.Category != "airport" {
			pts = append(pts, l.At)
		}
	}
	for _, m := range g.Malls {
		if m.District == d.Key {
			pts = append(pts, m.Centroid)
		}
	}
	return pts
}

// inside reports whether p lies in district d and in the city boundary.
func (gen *generator) inside(d *district, p point) bool {
	return d.Shape.contains(p) && gen.city.geo.Boundary.contains(p)
}

// pointIn draws a point in district d: with probability pHot near a hotspot (Gaussian, sigma
// metres), otherwise uniformly over the district.
func (gen *generator) pointIn(d *district, pHot, sigma float64) point {
	hs := gen.hotspots(d)
	lo, hi := d.Shape.bbox()
	for range 10000 {
		var p point
		if gen.rng.Float64() < pHot {
			h := hs[gen.rng.IntN(len(hs))]
			dx, dy := metresToDegrees(gen.rng.NormFloat64()*sigma, gen.rng.NormFloat64()*sigma)
			p = point{h[0] + dx, h[1] + dy}
		} else {
			p = point{lo[0] + gen.rng.Float64()*(hi[0]-lo[0]), lo[1] + gen.rng.Float64()*(hi[1]-lo[1])}
		}
		p = roundPoint(p)
		if gen.inside(d, p) {
			return p
		}
	}
	// Unreachable with the embedded data; the label point is inside every district.
	return d.Label
}

// near draws a point within radius metres of c that lies in a district and the city; it returns
// the point and its district.
func (gen *generator) near(c point, radius float64) (point, *district) {
	g := gen.city.geo
	for range 1000 {
		dx, dy := metresToDegrees((2*gen.rng.Float64()-1)*radius, (2*gen.rng.Float64()-1)*radius)
		p := roundPoint(point{c[0] + dx, c[1] + dy})
		if d := g.district(g.districtAt(p)); d != nil && g.Boundary.contains(p) {
			return p, d
		}
	}
	return c, g.district(g.districtAt(c))
}

// onRoad draws a point on a synthetic road, weighted by road length, offset sideways by up to
// side metres; it returns the point, its district and the road.
func (gen *generator) onRoad(roads []*polyline, side float64) (point, *district, *polyline) {
	total := 0.0
	for _, r := range roads {
		total += r.length()
	}
	g := gen.city.geo
	for {
		s := gen.rng.Float64() * total
		r := roads[0]
		for _, rr := range roads {
			if s <= rr.length() {
				r = rr
				break
			}
			s -= rr.length()
		}
		p, bearing := r.at(s)
		off := (2*gen.rng.Float64() - 1) * side
		rad := bearing * math.Pi / 180
		dx, dy := metresToDegrees(off*math.Cos(rad), -off*math.Sin(rad))
		p = roundPoint(point{p[0] + dx, p[1] + dy})
		if d := g.district(g.districtAt(p)); d != nil && g.Boundary.contains(p) {
			return p, d, r
		}
	}
}

// roundPoint rounds coordinates to 7 decimals (about 1 cm), as GPS feeds do.
func roundPoint(p point) point { return point{round(p[0], 7), round(p[1], 7)} }

// build generates every asset, in a fixed order so that the same seed gives the same city.
func (gen *generator) build() {
	gen.areas()
	gen.landmarks()
	gen.malls()
	gen.environment()
	gen.traffic()
	gen.streetlights()
	gen.waste()
	gen.chargers()
	gen.buses()
	gen.kpis()
}
