package query

import (
	"math"

	"github.com/qala-city/qala/internal/geo"
)

// GeometryDistance returns the great-circle distance in metres between the
// nearest points of a and b: 0 when they intersect, else the least distance
// from a vertex of one to the other (between two disjoint geometries made of
// straight edges the nearest pair of points always has a vertex at one end).
// For a Point it is DistanceTo.
func GeometryDistance(a, b geo.Geometry) float64 {
	if a.Type == geo.Point {
		return DistanceTo(a.Coords[0], b)
	}
	if b.Type == geo.Point {
		return DistanceTo(b.Coords[0], a)
	}
	if Intersect(a, b) {
		return 0
	}
	d := math.Inf(1)
	eachVertex(a, func(p geo.Pos) { d = math.Min(d, DistanceTo(p, b)) })
	eachVertex(b, func(p geo.Pos) { d = math.Min(d, DistanceTo(p, a)) })
	return d
}

// eachVertex calls f with every position of g.
func eachVertex(g geo.Geometry, f func(geo.Pos)) {
	for _, p := range g.Coords {
		f(p)
	}
	for _, l := range g.Lines {
		for _, p := range l {
			f(p)
		}
	}
	for _, poly := range g.Polygons {
		for _, r := range poly {
			for _, p := range r {
				f(p)
			}
		}
	}
	for _, c := range g.Geometries {
		eachVertex(c, f)
	}
}
