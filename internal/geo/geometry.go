// Package geo holds GeoJSON geometries (RFC 7946) as NGSI-LD uses them for
// GeoProperty values: strict parsing from decoded JSON, bounding boxes,
// representative points and great-circle distances.
//
// Coordinates are longitude/latitude in degrees (WGS 84). An altitude, when
// given, is validated but not kept: every computation in this package is on
// the sphere's surface.
package geo

import (
	"fmt"
	"math"
)

// Type is the kind of a geometry. The zero value is invalid.
type Type uint8

// The GeoJSON geometry types of RFC 7946 clause 3.1.
const (
	Point Type = iota + 1
	MultiPoint
	LineString
	MultiLineString
	Polygon
	MultiPolygon
	GeometryCollection
)

var typeNames = [...]string{"", "Point", "MultiPoint", "LineString", "MultiLineString",
	"Polygon", "MultiPolygon", "GeometryCollection"}

// String returns the GeoJSON name of t, e.g. "Polygon".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(?)"
}

// ParseType returns the geometry type with GeoJSON name s, and false if s
// names none.
func ParseType(s string) (Type, bool) {
	for i := 1; i < len(typeNames); i++ {
		if typeNames[i] == s {
			return Type(i), true
		}
	}
	return 0, false
}

// Pos is one position: longitude and latitude in degrees.
type Pos struct {
	Lon, Lat float64
}

// Geometry is a parsed GeoJSON geometry. Which coordinate field is set depends
// on Type:
//
//	Point                       Coords[0]
//	MultiPoint, LineString      Coords
//	MultiLineString, Polygon    Lines (for a Polygon: exterior ring, then holes)
//	MultiPolygon                Polygons
//	GeometryCollection          Geometries
//
// A Geometry is a value: functions of this package never modify one.
type Geometry struct {
	Type       Type
	Coords     []Pos
	Lines      [][]Pos
	Polygons   [][][]Pos
	Geometries []Geometry
}

// BBox is a bounding box in degrees. Boxes are plain min/max boxes: a
// geometry crossing the antimeridian gets a box spanning the whole longitude
// range between its extremes.
type BBox struct {
	MinLon, MinLat, MaxLon, MaxLat float64
}

// Contains reports whether p lies inside or on the border of b.
func (b BBox) Contains(p Pos) bool {
	return p.Lon >= b.MinLon && p.Lon <= b.MaxLon && p.Lat >= b.MinLat && p.Lat <= b.MaxLat
}

// Intersects reports whether b and o share at least one point.
func (b BBox) Intersects(o BBox) bool {
	return b.MinLon <= o.MaxLon && o.MinLon <= b.MaxLon && b.MinLat <= o.MaxLat && o.MinLat <= b.MaxLat
}

// Extend returns the smallest box holding b and o.
func (b BBox) Extend(o BBox) BBox {
	return BBox{
		MinLon: math.Min(b.MinLon, o.MinLon), MinLat: math.Min(b.MinLat, o.MinLat),
		MaxLon: math.Max(b.MaxLon, o.MaxLon), MaxLat: math.Max(b.MaxLat, o.MaxLat),
	}
}

// BBox returns the bounding box of g. A parsed geometry always has at least
// one position, so the box is never empty.
func (g Geometry) BBox() BBox {
	b := BBox{MinLon: math.Inf(1), MinLat: math.Inf(1), MaxLon: math.Inf(-1), MaxLat: math.Inf(-1)}
	g.eachPos(func(p Pos) {
		b.MinLon = math.Min(b.MinLon, p.Lon)
		b.MinLat = math.Min(b.MinLat, p.Lat)
		b.MaxLon = math.Max(b.MaxLon, p.Lon)
		b.MaxLat = math.Max(b.MaxLat, p.Lat)
	})
	if math.IsInf(b.MinLon, 1) {
		return BBox{}
	}
	return b
}

func (g Geometry) eachPos(f func(Pos)) {
	for _, p := range g.Coords {
		f(p)
	}
	for _, l := range g.Lines {
		for _, p := range l {
			f(p)
		}
	}
	for _, poly := range g.Polygons {
		for _, l := range poly {
			for _, p := range l {
				f(p)
			}
		}
	}
	for _, c := range g.Geometries {
		c.eachPos(f)
	}
}

// Centroid returns a representative point of g: the point itself; the mean of
// a MultiPoint; the length-weighted centre of lines; the area-weighted
// centroid of polygons (holes subtracted), computed in the lon/lat plane,
// which is accurate enough at city scale. For a GeometryCollection it is the
// centroid of its members of the highest dimension.
func (g Geometry) Centroid() Pos {
	switch g.Type {
	case Point:
		if len(g.Coords) > 0 {
			return g.Coords[0]
		}
	case MultiPoint:
		return meanPos(g.Coords)
	case LineString:
		return linesCentroid([][]Pos{g.Coords})
	case MultiLineString:
		return linesCentroid(g.Lines)
	case Polygon:
		return polygonsCentroid([][][]Pos{g.Lines})
	case MultiPolygon:
		return polygonsCentroid(g.Polygons)
	case GeometryCollection:
		return collectionCentroid(g.Geometries)
	}
	return Pos{}
}

// dim is the topological dimension of g's type (0 points, 1 lines, 2 areas).
func (g Geometry) dim() int {
	switch g.Type {
	case LineString, MultiLineString:
		return 1
	case Polygon, MultiPolygon:
		return 2
	case GeometryCollection:
		d := 0
		for _, c := range g.Geometries {
			d = max(d, c.dim())
		}
		return d
	}
	return 0
}

func collectionCentroid(gs []Geometry) Pos {
	d := 0
	for _, c := range gs {
		d = max(d, c.dim())
	}
	var pts []Pos
	for _, c := range gs {
		if c.dim() == d {
			pts = append(pts, c.Centroid())
		}
	}
	return meanPos(pts)
}

func meanPos(ps []Pos) Pos {
	if len(ps) == 0 {
		return Pos{}
	}
	var s Pos
	for _, p := range ps {
		s.Lon += p.Lon
		s.Lat += p.Lat
	}
	return Pos{Lon: s.Lon / float64(len(ps)), Lat: s.Lat / float64(len(ps))}
}

func linesCentroid(lines [][]Pos) Pos {
	var sx, sy, total float64
	var all []Pos
	for _, l := range lines {
		all = append(all, l...)
		for i := 1; i < len(l); i++ {
			a, b := l[i-1], l[i]
			w := math.Hypot(b.Lon-a.Lon, b.Lat-a.Lat)
			sx += w * (a.Lon + b.Lon) / 2
			sy += w * (a.Lat + b.Lat) / 2
			total += w
		}
	}
	if total == 0 {
		return meanPos(all)
	}
	return Pos{Lon: sx / total, Lat: sy / total}
}

// ringCentroid returns the signed area and the area-weighted centroid sums of
// a closed ring (shoelace formula).
func ringCentroid(r []Pos) (a, cx, cy float64) {
	for i := 1; i < len(r); i++ {
		p, q := r[i-1], r[i]
		cross := p.Lon*q.Lat - q.Lon*p.Lat
		a += cross
		cx += (p.Lon + q.Lon) * cross
		cy += (p.Lat + q.Lat) * cross
	}
	return a / 2, cx / 6, cy / 6
}

func polygonsCentroid(polys [][][]Pos) Pos {
	var area, sx, sy float64
	var outer [][]Pos
	for _, poly := range polys {
		for i, ring := range poly {
			a, cx, cy := ringCentroid(ring)
			// Outer rings add, holes subtract, whatever their winding.
			sign := 1.0
			if (i == 0) != (a >= 0) {
				sign = -1
			}
			area += sign * a
			sx += sign * cx
			sy += sign * cy
		}
		if len(poly) > 0 {
			outer = append(outer, poly[0])
		}
	}
	if math.Abs(area) < 1e-18 {
		return linesCentroid(outer)
	}
	return Pos{Lon: sx / area, Lat: sy / area}
}

// EarthRadius is the mean Earth radius in metres (IUGG).
const EarthRadius = 6371008.8

// Distance returns the great-circle distance in metres between a and b on a
// sphere of radius EarthRadius (haversine formula).
func Distance(a, b Pos) float64 {
	const rad = math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLon := (b.Lon - a.Lon) * rad
	s := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * EarthRadius * math.Asin(math.Sqrt(math.Min(1, s)))
}

// String renders g briefly for logs and test failures.
func (g Geometry) String() string {
	b := g.BBox()
	return fmt.Sprintf("%s[%g,%g %g,%g]", g.Type, b.MinLon, b.MinLat, b.MaxLon, b.MaxLat)
}
