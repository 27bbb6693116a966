package demo

import (
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
)

//go:embed data/*.geojson data/*.jsonld data/SOURCES.md
var dataFS embed.FS

// Attribution is the line that must accompany the demo city wherever its map data ships or shows
// (console map footer, README, API docs), as required by the ODbL.
const Attribution = "© OpenStreetMap contributors — data available under the Open Database License (ODbL), https://www.openstreetmap.org/copyright"

// ModelsAttribution credits the Smart Data Models whose schemas the demo entities follow (CC BY 4.0).
const ModelsAttribution = "Data models from the Smart Data Models Program (https://smartdatamodels.org), github.com/smart-data-models, licensed CC BY 4.0."

// point is a WGS84 position as GeoJSON orders it: longitude, latitude.
type point [2]float64

// ring is a closed linear ring; the last vertex repeats the first.
type ring []point

// polygon is an outer ring followed by its holes.
type polygon []ring

// multiPolygon is a set of polygons; a point is inside if it is inside any of them.
type multiPolygon []polygon

// contains reports whether p lies inside the ring, by the even-odd (ray casting) rule.
func (r ring) contains(p point) bool {
	in := false
	n := len(r)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a[1] > p[1]) != (b[1] > p[1]) {
			x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if p[0] < x {
				in = !in
			}
		}
	}
	return in
}

// contains reports whether p lies inside the outer ring and outside every hole.
func (pg polygon) contains(p point) bool {
	if len(pg) == 0 || !pg[0].contains(p) {
		return false
	}
	for _, hole := range pg[1:] {
		if hole.contains(p) {
			return false
		}
	}
	return true
}

// contains reports whether p lies inside any of the polygons.
func (m multiPolygon) contains(p point) bool {
	for _, pg := range m {
		if pg.contains(p) {
			return true
		}
	}
	return false
}

// bbox returns the bounding box of the outer rings as min and max corners.
func (m multiPolygon) bbox() (lo, hi point) {
	lo = point{math.Inf(1), math.Inf(1)}
	hi = point{math.Inf(-1), math.Inf(-1)}
	for _, pg := range m {
		if len(pg) == 0 {
			continue
		}
		for _, v := range pg[0] {
			lo[0], lo[1] = math.Min(lo[0], v[0]), math.Min(lo[1], v[1])
			hi[0], hi[1] = math.Max(hi[0], v[0]), math.Max(hi[1], v[1])
		}
	}
	return lo, hi
}

// geometry is a GeoJSON geometry as read from the data files.
type geometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// shape converts a Polygon or MultiPolygon geometry into a multiPolygon.
func (g geometry) shape() (multiPolygon, error) {
	switch g.Type {
	case "Polygon":
		var pg polygon
		if err := json.Unmarshal(g.Coordinates, &pg); err != nil {
			return nil, fmt.Errorf("polygon coordinates: %w", err)
		}
		return multiPolygon{pg}, nil
	case "MultiPolygon":
		var m multiPolygon
		if err := json.Unmarshal(g.Coordinates, &m); err != nil {
			return nil, fmt.Errorf("multipolygon coordinates: %w", err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("geometry type %q is not a Polygon or MultiPolygon", g.Type)
}

// value returns the geometry as a fresh GeoJSON object for a GeoProperty value.
func (g geometry) value() map[string]any {
	var coords any
	// The coordinates were valid JSON when the file was parsed, so this cannot fail.
	_ = json.Unmarshal(g.Coordinates, &coords)
	return map[string]any{"type": g.Type, "coordinates": coords}
}

// district is one of the five districts of the 5-district model.
type district struct {
	Key          string // almaty, baikonur, yesil, saryarka, nura
	NameEN       string
	NameKK       string
	NameRU       string
	OSMRelations []int64
	AreaKm2      float64
	Label        point
	Geometry     geometry
	Shape        multiPolygon
}

// landmark is a named point of interest.
type landmark struct {
	Key      string // slug from the data file id, e.g. "bayterek"
	NameEN   string
	NameKK   string
	NameRU   string
	Category string
	District string
	Source   string
	Accuracy string
	At       point
}

// mall is a shopping-mall building footprint from OpenStreetMap.
type mall struct {
	OSMID    string
	Name     string
	Street   string
	House    string
	Levels   int
	Centroid point
	District string
	Geometry geometry
}

// geoData is the parsed content of the embedded data files.
type geoData struct {
	Boundary     multiPolygon
	BoundaryGeom geometry
	Districts    []district
	Landmarks    []landmark
	Malls        []mall
}

// district returns the district with the given key, or nil.
func (g *geoData) district(key string) *district {
	for i := range g.Districts {
		if g.Districts[i].Key == key {
			return &g.Districts[i]
		}
	}
	return nil
}

// districtAt returns the key of the first district containing p, or "" if none does.
func (g *geoData) districtAt(p point) string {
	for _, d := range g.Districts {
		if d.Shape.contains(p) {
			return d.Key
		}
	}
	return ""
}

// landmark returns the landmark with the given key; it panics on an unknown key, which is a
// programming error in the synthetic road table, caught by the tests.
func (g *geoData) landmark(key string) point {
	for _, l := range g.Landmarks {
		if l.Key == key {
			return l.At
		}
	}
	panic("demo: unknown landmark " + key)
}

var loadGeo = sync.OnceValues(parseGeo)

// parseGeo reads the embedded GeoJSON files.
func parseGeo() (*geoData, error) {
	g := &geoData{}
	var fc struct {
		Features []struct {
			ID         string          `json:"id"`
			Properties json.RawMessage `json:"properties"`
			Geometry   geometry        `json:"geometry"`
		} `json:"features"`
	}
	read := func(name string) error {
		b, err := dataFS.ReadFile("data/" + name)
		if err != nil {
			return err
		}
		fc.Features = nil
		if err := json.Unmarshal(b, &fc); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}

	if err := read("astana-city-boundary.geojson"); err != nil {
		return nil, err
	}
	if len(fc.Features) != 1 {
		return nil, fmt.Errorf("city boundary: want 1 feature, got %d", len(fc.Features))
	}
	g.BoundaryGeom = fc.Features[0].Geometry
	b, err := g.BoundaryGeom.shape()
	if err != nil {
		return nil, fmt.Errorf("city boundary: %w", err)
	}
	g.Boundary = b

	if err := read("astana-districts.geojson"); err != nil {
		return nil, err
	}
	for _, f := range fc.Features {
		var p struct {
			District     string     `json:"district"`
			NameEN       string     `json:"name_en"`
			NameKK       string     `json:"name_kk"`
			NameRU       string     `json:"name_ru"`
			OSMRelations []int64    `json:"osmRelations"`
			AreaKm2      float64    `json:"areaKm2"`
			LabelPoint   [2]float64 `json:"labelPoint"`
		}
		if err := json.Unmarshal(f.Properties, &p); err != nil {
			return nil, fmt.Errorf("district properties: %w", err)
		}
		s, err := f.Geometry.shape()
		if err != nil {
			return nil, fmt.Errorf("district %s: %w", p.District, err)
		}
		g.Districts = append(g.Districts, district{
			Key: p.District, NameEN: p.NameEN, NameKK: p.NameKK, NameRU: p.NameRU,
			OSMRelations: p.OSMRelations, AreaKm2: p.AreaKm2, Label: p.LabelPoint,
			Geometry: f.Geometry, Shape: s,
		})
	}

	if err := read("astana-landmarks.geojson"); err != nil {
		return nil, err
	}
	for _, f := range fc.Features {
		var p struct {
			NameEN   string `json:"name_en"`
			NameKK   string `json:"name_kk"`
			NameRU   string `json:"name_ru"`
			Category string `json:"category"`
			District string `json:"district"`
			Source   string `json:"source"`
			Accuracy string `json:"accuracy"`
		}
		if err := json.Unmarshal(f.Properties, &p); err != nil {
			return nil, fmt.Errorf("landmark properties: %w", err)
		}
		var at point
		if err := json.Unmarshal(f.Geometry.Coordinates, &at); err != nil {
			return nil, fmt.Errorf("landmark %s: %w", f.ID, err)
		}
		g.Landmarks = append(g.Landmarks, landmark{
			Key: f.ID[strings.LastIndex(f.ID, ":")+1:], NameEN: p.NameEN, NameKK: p.NameKK, NameRU: p.NameRU,
			Category: p.Category, District: p.District, Source: p.Source, Accuracy: p.Accuracy, At: at,
		})
	}

	if err := read("astana-malls-osm-2022.geojson"); err != nil {
		return nil, err
	}
	for _, f := range fc.Features {
		var p struct {
			OSMID    string     `json:"osmId"`
			Name     string     `json:"name"`
			Street   string     `json:"addr_street"`
			House    string     `json:"addr_housenumber"`
			Levels   string     `json:"building_levels"`
			Centroid [2]float64 `json:"centroid"`
			District string     `json:"district"`
		}
		if err := json.Unmarshal(f.Properties, &p); err != nil {
			return nil, fmt.Errorf("mall properties: %w", err)
		}
		levels, _ := strconv.Atoi(p.Levels)
		g.Malls = append(g.Malls, mall{
			OSMID: p.OSMID, Name: p.Name, Street: p.Street, House: p.House, Levels: max(levels, 1),
			Centroid: p.Centroid, District: p.District, Geometry: f.Geometry,
		})
	}
	return g, nil
}

// ContextDocuments returns the JSON-LD context documents the demo entities reference that are
// not NGSI-LD core contexts, keyed by URL, so that a server can serve them from its context cache
// without network access.
func ContextDocuments() map[string][]byte {
	b, err := dataFS.ReadFile("data/smartdatamodels-context.jsonld")
	if err != nil {
		panic("demo: embedded context missing: " + err.Error())
	}
	return map[string][]byte{SmartDataModelsContext: b}
}

// metresToDegrees converts a metre offset at Astana's latitude into degree offsets (dlon, dlat).
func metresToDegrees(east, north float64) (float64, float64) {
	const metresPerDegLat = 111_320.0
	return east / (metresPerDegLat * math.Cos(cityLat*math.Pi/180)), north / metresPerDegLat
}

// distanceMetres is the equirectangular distance between two nearby points.
func distanceMetres(a, b point) float64 {
	const metresPerDegLat = 111_320.0
	dx := (b[0] - a[0]) * metresPerDegLat * math.Cos(cityLat*math.Pi/180)
	dy := (b[1] - a[1]) * metresPerDegLat
	return math.Hypot(dx, dy)
}

// bearingDegrees is the compass bearing from a to b in [0, 360).
func bearingDegrees(a, b point) float64 {
	dx := (b[0] - a[0]) * math.Cos(cityLat*math.Pi/180)
	dy := b[1] - a[1]
	d := math.Atan2(dx, dy) * 180 / math.Pi
	if d < 0 {
		d += 360
	}
	return d
}
