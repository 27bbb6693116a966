package query

import (
	"math"

	"github.com/qala-city/qala/internal/geo"
)

// Fast exact tests of point entities. Most entities of a city are points,
// and a geo-query tests thousands of them: GeoQuery.MatchGeometry answers a
// point through a form of the query prepared once (by ParseGeoQuery) that
// decides most points with a few multiplications and falls back to the
// plain predicate for the rest. The answers are those of the plain
// predicate, bit for bit: a shortcut only decides points that lie clearly
// (far beyond rounding) on one side.

// pointFast is the prepared form of a geo-query for point entities.
type pointFast struct {
	// What it was prepared for: MatchGeometry uses it only while the
	// query still says the same.
	rel            GeoRel
	max, min       float64
	hasMax, hasMin bool
	at             geo.Pos // near: the query point
	near           *nearFast
	grid           *polyGrid // within, intersects, disjoint a polygon
}

// prepare sets g.fast when a shortcut applies, with grid the prepared form
// of g.Geometry when it is an area (nil otherwise).
func (g *GeoQuery) prepare(grid *polyGrid) {
	f := &pointFast{rel: g.Rel, max: g.MaxDistance, min: g.MinDistance, hasMax: g.HasMax, hasMin: g.HasMin}
	switch g.Rel {
	case Near:
		if g.Geometry.Type != geo.Point || len(g.Geometry.Coords) != 1 {
			return
		}
		f.at = g.Geometry.Coords[0]
		f.near = newNearFast(f.at, g)
		if f.near == nil {
			return
		}
	case Within, Intersects, Disjoint:
		if grid == nil {
			return
		}
		f.grid = grid
	default:
		return
	}
	g.fast = f
}

// matchPoint answers MatchGeometry for the point p when g's prepared form
// applies (ok false otherwise).
func (g *GeoQuery) matchPoint(p geo.Pos) (match, ok bool) {
	f := g.fast
	if f.rel != g.Rel || f.hasMax != g.HasMax || f.hasMin != g.HasMin || f.max != g.MaxDistance || f.min != g.MinDistance {
		return false, false
	}
	switch {
	case f.near != nil:
		if len(g.Geometry.Coords) != 1 || g.Geometry.Coords[0] != f.at {
			return false, false
		}
		return f.near.match(p), true
	case f.grid != nil:
		if !sameArea(g.Geometry, f.grid.src) {
			return false, false
		}
		in := f.grid.covers(p)
		if g.Rel == Disjoint {
			return !in, true
		}
		return in, true
	}
	return false, false
}

// nearFast decides near;maxDistance/minDistance between two points from
// the haversine term s (geo.Distance is 2R·asin(√s)) approximated by
// Taylor polynomials, without trigonometry, when both points are close
// (|Δlat|, |Δlon| ≤ nearSpan radians); points whose approximate s lies
// within its error bound of a threshold go to geo.Distance.
type nearFast struct {
	at           geo.Pos
	cosA, sinA   float64
	tMax, tMin   float64 // s thresholds of MaxDistance and MinDistance
	hasMax, hasM bool
	max, min     float64
}

// nearSpan bounds the coordinate differences (radians) of the shortcut;
// nearSlack is the relative margin kept around each threshold for the
// rounding of asin, sqrt and the products in geo.Distance.
const (
	nearSpan  = 0.01
	nearSlack = 1e-9
)

func newNearFast(at geo.Pos, g *GeoQuery) *nearFast {
	const rad = math.Pi / 180
	if math.Abs(at.Lat) > 80 || math.IsNaN(at.Lat) || math.IsNaN(at.Lon) {
		return nil
	}
	half := func(d float64) float64 {
		s := math.Sin(d / (2 * geo.EarthRadius))
		return s * s
	}
	n := &nearFast{at: at, cosA: math.Cos(at.Lat * rad), sinA: math.Sin(at.Lat * rad),
		hasMax: g.HasMax, hasM: g.HasMin, max: g.MaxDistance, min: g.MinDistance}
	// Beyond a quarter of the circumference asin's slope makes the margin
	// meaningless; such distances take the exact path (nearSpan already
	// keeps the shortcut to points far closer than that).
	if (g.HasMax && g.MaxDistance > 1e6) || (g.HasMin && g.MinDistance > 1e6) {
		return nil
	}
	n.tMax, n.tMin = half(g.MaxDistance), half(g.MinDistance)
	return n
}

// match reports geo.Distance(n.at, p) within the bounds, as the plain test.
func (n *nearFast) match(p geo.Pos) bool {
	const rad = math.Pi / 180
	d := (p.Lat - n.at.Lat) * rad
	x, y := d/2, (p.Lon-n.at.Lon)*rad/2
	if math.Abs(d) <= nearSpan && math.Abs(y) <= nearSpan/2 {
		// sin²x ≈ x² (relative error ≤ x²/3), cos(latB) ≈ cosA(1-d²/2) -
		// sinA·d (absolute error ≤ |d|³/6 + d⁴/24): s is within err.
		x2, y2 := x*x, y*y
		cosB := n.cosA*(1-d*d/2) - n.sinA*d
		s := x2 + n.cosA*cosB*y2
		err := 1.2e-5*(x2+y2) + 1e-300
		decided := true
		ok := true
		if n.hasMax {
			switch {
			case s+err <= n.tMax*(1-nearSlack):
			case s-err >= n.tMax*(1+nearSlack):
				ok = false
			default:
				decided = false
			}
		}
		if ok && decided && n.hasM {
			switch {
			case s-err >= n.tMin*(1+nearSlack):
			case s+err <= n.tMin*(1-nearSlack):
				ok = false
			default:
				decided = false
			}
		}
		if decided {
			return ok
		}
	}
	dist := geo.Distance(n.at, p)
	return (!n.hasMax || dist <= n.max) && (!n.hasM || dist >= n.min)
}

// sameArea reports whether a and b are the same parsed area (sharing their
// coordinate slices, as a cached geometry and its copies do).
func sameArea(a, b geo.Geometry) bool {
	if a.Type != b.Type || len(a.Lines) != len(b.Lines) || len(a.Polygons) != len(b.Polygons) {
		return false
	}
	switch {
	case len(a.Lines) > 0:
		return &a.Lines[0] == &b.Lines[0]
	case len(a.Polygons) > 0:
		return &a.Polygons[0] == &b.Polygons[0]
	}
	return false
}
