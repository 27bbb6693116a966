package query

import (
	"math"
	"testing"

	"github.com/qala-city/qala/internal/geo"
)

var (
	baiterek   = geo.Pos{Lon: 71.4304, Lat: 51.1283}
	khanShatyr = geo.Pos{Lon: 71.4035, Lat: 51.1327}
)

func pt(lon, lat float64) geo.Geometry {
	return geo.Geometry{Type: geo.Point, Coords: []geo.Pos{{Lon: lon, Lat: lat}}}
}

func line(ps ...float64) geo.Geometry {
	g := geo.Geometry{Type: geo.LineString}
	for i := 0; i+1 < len(ps); i += 2 {
		g.Coords = append(g.Coords, geo.Pos{Lon: ps[i], Lat: ps[i+1]})
	}
	return g
}

// square returns the ring of the axis-aligned square [x0,x1]×[y0,y1].
func square(x0, y0, x1, y1 float64) []geo.Pos {
	return []geo.Pos{{Lon: x0, Lat: y0}, {Lon: x1, Lat: y0}, {Lon: x1, Lat: y1}, {Lon: x0, Lat: y1}, {Lon: x0, Lat: y0}}
}

func poly(rings ...[]geo.Pos) geo.Geometry {
	return geo.Geometry{Type: geo.Polygon, Lines: rings}
}

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.1f, want %.1f ± %.1f", name, got, want, tol)
	}
}

func TestDistanceTo(t *testing.T) {
	// Baiterek to Khan Shatyr: 0.0269° of longitude at 51.13° N (~1877.6 m)
	// and 0.0044° of latitude (~489.3 m).
	near(t, "Baiterek-KhanShatyr", DistanceTo(baiterek, pt(khanShatyr.Lon, khanShatyr.Lat)), 1940, 5)
	// 0.001° north of the equator, over the middle of a segment on it.
	near(t, "cross-track", DistanceTo(geo.Pos{Lon: 0.5, Lat: 0.001}, line(0, 0, 1, 0)), 111.195, 0.01)
	// Beyond the end of the segment: the distance to the end.
	near(t, "past the end", DistanceTo(geo.Pos{Lon: 2, Lat: 0}, line(0, 0, 1, 0)), 111195, 1)
	// On the sphere the edge from (0,60) to (10,60) is a great-circle arc
	// that bulges north to ~60.095° at lon 5, so the point on the parallel
	// is ~10.6 km from it (planar lon/lat maths would say 0).
	near(t, "great-circle edge", DistanceTo(geo.Pos{Lon: 5, Lat: 60}, line(0, 60, 10, 60)), 10560, 60)
	// Inside a polygon: 0; inside its hole: the distance to the hole.
	donut := poly(square(0, 0, 1, 1), square(0.4, 0.4, 0.6, 0.6))
	near(t, "inside", DistanceTo(geo.Pos{Lon: 0.2, Lat: 0.5}, donut), 0, 0)
	near(t, "in hole", DistanceTo(geo.Pos{Lon: 0.5, Lat: 0.5}, donut), 0.1*111195, 20)
	near(t, "outside", DistanceTo(geo.Pos{Lon: 0.5, Lat: -0.01}, donut), 0.01*111195, 1)
}

func TestInPolygon(t *testing.T) {
	donut := [][]geo.Pos{square(0, 0, 4, 4), square(1, 1, 2, 2)}
	for _, c := range []struct {
		p    geo.Pos
		want int
	}{
		{geo.Pos{Lon: 3, Lat: 3}, 2},
		{geo.Pos{Lon: 1.5, Lat: 1.5}, 0}, // in the hole
		{geo.Pos{Lon: 1, Lat: 1.5}, 1},   // on the hole's border
		{geo.Pos{Lon: 4, Lat: 2}, 1},     // on the exterior ring
		{geo.Pos{Lon: 0, Lat: 0}, 1},     // a vertex
		{geo.Pos{Lon: 5, Lat: 2}, 0},
		{geo.Pos{Lon: -1, Lat: 0}, 0}, // on the line of an edge, outside
	} {
		if got := inPolygon(c.p, donut); got != c.want {
			t.Errorf("inPolygon(%v) = %d, want %d", c.p, got, c.want)
		}
	}
}

func TestPredicates(t *testing.T) {
	sq := poly(square(0, 0, 2, 2))
	donut := poly(square(0, 0, 4, 4), square(1, 1, 2, 2))
	for _, c := range []struct {
		name                   string
		a, b                   geo.Geometry
		intersects, within, ov bool
	}{
		{"point in square", pt(1, 1), sq, true, true, false},
		{"point on border", pt(2, 1), sq, true, true, false},
		{"point outside", pt(3, 1), sq, false, false, false},
		{"point in hole", pt(1.5, 1.5), donut, false, false, false},
		{"crossing lines", line(0, 0, 2, 2), line(0, 2, 2, 0), true, false, false},
		{"touching lines", line(0, 0, 1, 1), line(1, 1, 2, 0), true, false, false},
		{"parallel lines", line(0, 0, 1, 0), line(0, 1, 1, 1), false, false, false},
		{"collinear overlapping", line(0, 0, 2, 0), line(1, 0, 3, 0), true, false, true},
		{"sub-line", line(0.5, 0, 1, 0), line(0, 0, 2, 0), true, true, false},
		{"line in square", line(0.5, 0.5, 1.5, 1.5), sq, true, true, false},
		{"line leaving square", line(1, 1, 3, 1), sq, true, false, false},
		{"line through hole", line(0.5, 1.5, 3.5, 1.5), donut, true, false, false},
		{"line around hole", line(0.5, 0.5, 3.5, 0.5, 3.5, 3.5), donut, true, true, false},
		{"square in square", poly(square(0.5, 0.5, 1.5, 1.5)), sq, true, true, false},
		{"square over hole", poly(square(0.5, 0.5, 2.5, 2.5)), donut, true, false, true},
		{"square beside hole", poly(square(2.5, 2.5, 3.5, 3.5)), donut, true, true, false},
		{"overlapping squares", poly(square(1, 1, 3, 3)), sq, true, false, true},
		{"edge-touching squares", poly(square(2, 0, 3, 2)), sq, true, false, false},
		{"far squares", poly(square(5, 5, 6, 6)), sq, false, false, false},
		{"square around square", poly(square(-1, -1, 3, 3)), sq, true, false, false},
		{"ring enclosing line", sq, line(0.5, 0.5, 1, 1), true, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Intersect(c.a, c.b); got != c.intersects {
				t.Errorf("Intersect = %v, want %v", got, c.intersects)
			}
			if got := Intersect(c.b, c.a); got != c.intersects {
				t.Errorf("Intersect (swapped) = %v, want %v", got, c.intersects)
			}
			if got := CoveredBy(c.a, c.b); got != c.within {
				t.Errorf("CoveredBy = %v, want %v", got, c.within)
			}
			if got := Overlap(c.a, c.b); got != c.ov {
				t.Errorf("Overlap = %v, want %v", got, c.ov)
			}
		})
	}
}

func TestEquals(t *testing.T) {
	g := &GeoQuery{Rel: Equals, Geometry: poly(square(0, 0, 1, 1))}
	rotated := poly([]geo.Pos{{Lon: 1, Lat: 1}, {Lon: 0, Lat: 1}, {Lon: 0, Lat: 0}, {Lon: 1, Lat: 0}, {Lon: 1, Lat: 1}})
	if !g.MatchGeometry(rotated) {
		t.Error("a ring starting elsewhere should equal the square")
	}
	if g.MatchGeometry(poly(square(0, 0, 1, 1.1))) {
		t.Error("a larger rectangle should not equal the square")
	}
}

func TestNearBounds(t *testing.T) {
	for _, d := range []float64{10, 500, 20000, 1e6} {
		g := &GeoQuery{Rel: Near, HasMax: true, MaxDistance: d, Geometry: pt(baiterek.Lon, baiterek.Lat)}
		b, ok := g.Bounds()
		if !ok {
			t.Fatal("near;maxDistance must be bounded")
		}
		// Points at distance slightly under d in many bearings lie in the box.
		for deg := 0.0; deg < 360; deg += 7.5 {
			p := destination(baiterek, deg, d*0.999)
			if got := geo.Distance(baiterek, p); math.Abs(got-d*0.999) > d*1e-6+1e-6 {
				t.Fatalf("destination is %.3f m away, want %.3f", got, d*0.999)
			}
			if !b.Contains(p) {
				t.Errorf("d=%g: point at bearing %g (%v) outside box %+v", d, deg, p, b)
			}
		}
		// The box is not grossly larger than the circle.
		if h := (b.MaxLat - b.MinLat) * math.Pi / 180 * geo.EarthRadius; h > 2*d*1.01 {
			t.Errorf("d=%g: box %.0f m tall", d, h)
		}
	}
	if _, ok := (&GeoQuery{Rel: Disjoint, Geometry: pt(0, 0)}).Bounds(); ok {
		t.Error("disjoint cannot be bounded")
	}
}

// destination returns the point at distance d (metres) from p on bearing
// brng (degrees), on the sphere.
func destination(p geo.Pos, brng, d float64) geo.Pos {
	const rad = math.Pi / 180
	a := d / geo.EarthRadius
	lat1, lon1, th := p.Lat*rad, p.Lon*rad, brng*rad
	lat2 := math.Asin(math.Sin(lat1)*math.Cos(a) + math.Cos(lat1)*math.Sin(a)*math.Cos(th))
	lon2 := lon1 + math.Atan2(math.Sin(th)*math.Sin(a)*math.Cos(lat1), math.Cos(a)-math.Sin(lat1)*math.Sin(lat2))
	return geo.Pos{Lon: lon2 / rad, Lat: lat2 / rad}
}
