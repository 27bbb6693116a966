package query

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/qala-city/qala/internal/geo"
	"github.com/qala-city/qala/internal/jsondec"
	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
)

// GeoRel is the geospatial relationship of a geo-query (clause 4.10).
type GeoRel uint8

// The relationships of clause 4.10. Each relates the entity's geometry (A)
// to the query geometry (B): "within" is A within B, "contains" is A
// contains B.
const (
	Near GeoRel = iota + 1
	Within
	Contains
	Intersects
	Equals
	Disjoint
	Overlaps
)

var geoRelNames = [...]string{"", "near", "within", "contains", "intersects", "equals", "disjoint", "overlaps"}

// String returns the georel keyword.
func (r GeoRel) String() string {
	if int(r) < len(geoRelNames) {
		return geoRelNames[r]
	}
	return "?"
}

// GeoQuery is a parsed geo-query (clause 4.10).
type GeoQuery struct {
	Rel GeoRel
	// MaxDistance and MinDistance (metres) qualify Near; each is used when
	// its Has flag is set.
	MaxDistance, MinDistance float64
	HasMax, HasMin           bool
	Geometry                 geo.Geometry
	// Property is the expanded name of the GeoProperty tested
	// (ngsild.IRILocation by default).
	Property string
	// fast is the form prepared by ParseGeoQuery for point entities
	// (geofast.go); nil when none applies.
	fast *pointFast
}

// ParseGeoQuery parses the geo-query parameters georel, geometry,
// coordinates and geoproperty (clause 4.10, 6.4.3.2). It returns nil when
// none of georel, geometry and coordinates is given; georel, geometry and
// coordinates must otherwise come together. geoproperty is expanded with ctx.
func ParseGeoQuery(georel, geometry, coordinates, geoproperty string, ctx *jsonld.Context) (*GeoQuery, error) {
	if georel == "" && geometry == "" && coordinates == "" {
		return nil, nil
	}
	switch {
	case georel == "":
		return nil, problem.BadData("georel: missing; geometry and coordinates need a georel (clause 4.10)")
	case geometry == "":
		return nil, problem.BadData("geometry: missing; georel %q needs geometry and coordinates (clause 4.10)", georel)
	case coordinates == "":
		return nil, problem.BadData("coordinates: missing; georel %q needs geometry and coordinates (clause 4.10)", georel)
	}
	g := &GeoQuery{Property: ngsild.IRILocation}
	if err := g.parseRel(georel); err != nil {
		return nil, err
	}
	gt, ok := geo.ParseType(strings.TrimSpace(geometry))
	if !ok || gt == geo.GeometryCollection {
		return nil, problem.BadData("geometry: %q is not one of Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon", geometry)
	}
	ce, err := parseCoordinatesPrepared(gt, coordinates)
	if err != nil {
		return nil, err
	}
	g.Geometry = ce.g
	g.prepare(ce.grid)
	if p := strings.TrimSpace(geoproperty); p != "" {
		g.Property = ctx.ExpandTerm(p)
	}
	return g, nil
}

func (g *GeoQuery) parseRel(src string) error {
	if err := checkLen("georel", src); err != nil {
		return err
	}
	s := &scanner{param: "georel", src: src}
	s.skipSpace()
	at := s.pos
	rel := s.name()
	for i, n := range geoRelNames {
		if i > 0 && n == rel {
			g.Rel = GeoRel(i)
		}
	}
	if g.Rel == 0 {
		return s.errAt(at, "unknown relationship %q (want near, within, contains, intersects, equals, disjoint or overlaps)", rel)
	}
	for {
		s.skipSpace()
		if s.eof() {
			break
		}
		if !s.accept(";") {
			return s.errAt(s.pos, "expected \";\" or end, found %s", s.describe(s.pos))
		}
		s.skipSpace()
		at := s.pos
		mod := s.name()
		if g.Rel != Near {
			return s.errAt(at, "%q takes no modifiers; only near takes maxDistance or minDistance", rel)
		}
		if mod != "maxDistance" && mod != "minDistance" {
			return s.errAt(at, "unknown modifier %q (want maxDistance or minDistance)", mod)
		}
		s.skipSpace()
		if !s.accept("==") {
			return s.errAt(s.pos, "expected \"==\" after %q", mod)
		}
		s.skipSpace()
		numAt := s.pos
		for !s.eof() && s.peek() != ';' && s.peek() != ' ' {
			s.pos++
		}
		d, err := strconv.ParseFloat(s.src[numAt:s.pos], 64)
		if err != nil || d <= 0 || math.IsInf(d, 0) || math.IsNaN(d) {
			return s.errAt(numAt, "%s must be a positive number of metres (clause 4.10: PositiveNumber, excluding 0), got %q", mod, s.src[numAt:s.pos])
		}
		if g.HasMax || g.HasMin {
			return s.errAt(at, "near takes one distance modifier, maxDistance or minDistance, not two (clause 4.10)")
		}
		if mod == "maxDistance" {
			g.MaxDistance, g.HasMax = d, true
		} else {
			g.MinDistance, g.HasMin = d, true
		}
	}
	if g.Rel == Near && !g.HasMax && !g.HasMin {
		return s.errAt(len(src), "near needs maxDistance or minDistance, e.g. \"near;maxDistance==500\"")
	}
	return nil
}

// parseCoordinates reads the coordinates parameter (the JSON array of a
// GeoJSON geometry's coordinates) and validates the geometry.
func parseCoordinates(t geo.Type, src string) (geo.Geometry, error) {
	if len(src) > 1<<20 {
		return geo.Geometry{}, problem.BadData("coordinates: %d bytes exceeds the limit of 1 MiB", len(src))
	}
	// jsondec, not encoding/json: a district's boundary is ~10 KB, parsed on
	// every request (same values and messages, a third of the time).
	v, err := jsondec.Decode([]byte(src))
	if err != nil {
		var se *jsondec.SyntaxError
		if errors.As(err, &se) {
			return geo.Geometry{}, problem.BadData("coordinates: not a JSON array (%s) at offset %d: %s", se.Msg, se.Offset, quoteSrc(src))
		}
		return geo.Geometry{}, problem.BadData("coordinates: not a JSON array (%v): %s", err, quoteSrc(src))
	}
	if _, ok := v.([]any); !ok {
		return geo.Geometry{}, problem.BadData("coordinates: must be a JSON array, e.g. [71.43,51.12]: %s", quoteSrc(src))
	}
	g, err := geo.ParseGeometry(map[string]any{"type": t.String(), "coordinates": v})
	if err != nil {
		return geo.Geometry{}, problem.BadData("coordinates: invalid %s: %v", t, err)
	}
	return g, nil
}

// Bounds returns a box that the geometry of every matching entity
// intersects, so that a store can take candidates from its spatial index;
// ok is false when no box bounds the matches (disjoint, or near with only
// minDistance). For near with maxDistance the box holds every point within
// that distance of the query point on the sphere.
func (g *GeoQuery) Bounds() (b geo.BBox, ok bool) {
	switch g.Rel {
	case Disjoint:
		return geo.BBox{}, false
	case Near:
		if !g.HasMax {
			return geo.BBox{}, false
		}
		if g.Geometry.Type == geo.Point {
			return nearBox(g.Geometry.Coords[0], g.MaxDistance), true
		}
		return grow(g.Geometry.BBox(), g.MaxDistance), true
	}
	return g.Geometry.BBox(), true
}

// grow returns a lon/lat box holding every point within d metres of b.
func grow(b geo.BBox, d float64) geo.BBox {
	lo, hi := nearBox(geo.Pos{Lon: b.MinLon, Lat: b.MinLat}, d), nearBox(geo.Pos{Lon: b.MaxLon, Lat: b.MaxLat}, d)
	out := geo.BBox{MinLon: lo.MinLon, MinLat: lo.MinLat, MaxLon: hi.MaxLon, MaxLat: hi.MaxLat}
	// The longitude reach is widest at the latitude farthest from the
	// equator: take the wider of the two corner boxes on each side.
	for _, c := range []geo.BBox{lo, hi, nearBox(geo.Pos{Lon: b.MinLon, Lat: b.MaxLat}, d), nearBox(geo.Pos{Lon: b.MaxLon, Lat: b.MinLat}, d)} {
		out = out.Extend(c)
	}
	return out
}

// nearBox returns the lon/lat box of the spherical cap of radius d metres
// around p.
func nearBox(p geo.Pos, d float64) geo.BBox {
	const deg = 180 / math.Pi
	ang := d / geo.EarthRadius // radians
	b := geo.BBox{MinLat: p.Lat - ang*deg, MaxLat: p.Lat + ang*deg, MinLon: -180, MaxLon: 180}
	if b.MinLat <= -90 || b.MaxLat >= 90 || ang >= math.Pi/2 {
		b.MinLat, b.MaxLat = math.Max(b.MinLat, -90), math.Min(b.MaxLat, 90)
		return b
	}
	s := math.Sin(ang) / math.Cos(p.Lat/deg)
	if s >= 1 {
		return b
	}
	dLon := math.Asin(s) * deg
	if p.Lon-dLon < -180 || p.Lon+dLon > 180 {
		return b // crosses the antimeridian: keep every longitude
	}
	b.MinLon, b.MaxLon = p.Lon-dLon, p.Lon+dLon
	return b
}

// Match reports whether some instance of e's GeoProperty g.Property holds
// a valid geometry that satisfies g.
func (g *GeoQuery) Match(e *ngsild.Entity) bool {
	for _, a := range e.Attrs[g.Property] {
		if a.Type != ngsild.GeoProperty {
			continue
		}
		geom, err := geo.ParseGeometry(a.Value)
		if err != nil {
			continue
		}
		if g.MatchGeometry(geom) {
			return true
		}
	}
	return false
}

// MatchGeometry reports whether the entity geometry a satisfies g, for
// stores that keep geometries parsed.
func (g *GeoQuery) MatchGeometry(a geo.Geometry) bool {
	if g.fast != nil && a.Type == geo.Point && len(a.Coords) == 1 {
		if m, ok := g.matchPoint(a.Coords[0]); ok {
			return m
		}
	}
	b := g.Geometry
	switch g.Rel {
	case Near:
		d := GeometryDistance(b, a)
		return (!g.HasMax || d <= g.MaxDistance) && (!g.HasMin || d >= g.MinDistance)
	case Within:
		return CoveredBy(a, b)
	case Contains:
		return CoveredBy(b, a)
	case Intersects:
		return Intersect(a, b)
	case Disjoint:
		return !Intersect(a, b)
	case Equals:
		return CoveredBy(a, b) && CoveredBy(b, a)
	case Overlaps:
		return Overlap(a, b)
	}
	return false
}

// String renders g as its georel parameter.
func (g *GeoQuery) String() string {
	s := g.Rel.String()
	if g.HasMax {
		s += ";maxDistance==" + strconv.FormatFloat(g.MaxDistance, 'g', -1, 64)
	}
	if g.HasMin {
		s += ";minDistance==" + strconv.FormatFloat(g.MinDistance, 'g', -1, 64)
	}
	return s
}
