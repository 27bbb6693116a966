package query

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/geo"
)

// randomRing returns a closed star-shaped ring of n vertices around c, with
// radii (degrees) between r/4 and r.
func randomRing(rng *rand.Rand, c geo.Pos, r float64, n int) []geo.Pos {
	ring := make([]geo.Pos, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * (float64(i) + rng.Float64()*0.9) / float64(n)
		d := r * (0.25 + 0.75*rng.Float64())
		ring = append(ring, geo.Pos{Lon: c.Lon + d*math.Cos(a), Lat: c.Lat + d*math.Sin(a)})
	}
	return append(ring, ring[0])
}

// randomArea returns a Polygon (sometimes with a hole) or a MultiPolygon.
func randomArea(rng *rand.Rand) geo.Geometry {
	c := geo.Pos{Lon: rng.Float64()*300 - 150, Lat: rng.Float64()*140 - 70}
	r := 0.001 + rng.Float64()*0.2
	poly := func(c geo.Pos) [][]geo.Pos {
		p := [][]geo.Pos{randomRing(rng, c, r, 24+rng.IntN(200))}
		if rng.IntN(2) == 0 {
			p = append(p, randomRing(rng, c, r/5, 3+rng.IntN(30))) // inside the exterior's r/4
		}
		return p
	}
	if rng.IntN(3) == 0 {
		return geo.Geometry{Type: geo.MultiPolygon, Polygons: [][][]geo.Pos{
			poly(c), poly(geo.Pos{Lon: c.Lon + 3*r, Lat: c.Lat + r/2}),
		}}
	}
	return geo.Geometry{Type: geo.Polygon, Lines: poly(c)}
}

// probes returns points to test against area g: spread over its box and
// beyond, its vertices, points on its edges and points just off them.
func probes(rng *rand.Rand, g geo.Geometry) []geo.Pos {
	b := g.BBox()
	w, h := b.MaxLon-b.MinLon, b.MaxLat-b.MinLat
	var out []geo.Pos
	for range 3000 {
		out = append(out, geo.Pos{Lon: b.MinLon - w/10 + rng.Float64()*w*1.2, Lat: b.MinLat - h/10 + rng.Float64()*h*1.2})
	}
	var s shape
	s.add(g)
	offs := []float64{0, 1e-13, -1e-13, 1e-12, -1e-12, 3e-10, -3e-10, 1e-9, -1e-9, 2e-9, -2e-9, 1e-7, -1e-7}
	for i := range s.numPolys() {
		for _, r := range s.polyAt(i) {
			for k := 1; k < len(r); k++ {
				a, c := r[k-1], r[k]
				t := rng.Float64()
				on := geo.Pos{Lon: a.Lon + t*(c.Lon-a.Lon), Lat: a.Lat + t*(c.Lat-a.Lat)}
				out = append(out, a)
				for _, o := range offs {
					out = append(out, geo.Pos{Lon: on.Lon + o, Lat: on.Lat}, geo.Pos{Lon: on.Lon, Lat: on.Lat - o},
						geo.Pos{Lon: a.Lon + o, Lat: a.Lat + o})
				}
			}
		}
	}
	// The corners of the box and just beyond.
	for _, o := range offs {
		out = append(out, geo.Pos{Lon: b.MinLon + o, Lat: b.MinLat + o}, geo.Pos{Lon: b.MaxLon + o, Lat: b.MaxLat - o})
	}
	return out
}

// TestPolyGridMatchesPlain compares the grid's answers with coversPoint on
// random polygons, holes and multipolygons.
func TestPolyGridMatchesPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 7))
	grids := 0
	for n := range 150 {
		g := randomArea(rng)
		pg := newPolyGrid(g)
		if pg == nil {
			t.Fatalf("area %d (%v): no grid", n, g)
		}
		grids++
		var s shape
		s.add(g)
		decided := 0
		for _, p := range probes(rng, g) {
			want := s.coversPoint(p)
			if got := pg.covers(p); got != want {
				t.Fatalf("area %d (%v): covers(%v) = %v, plain %v", n, g, p, got, want)
			}
			if c := pg.cells[pg.row(p.Lat)*pg.nx+pg.col(p.Lon)]; c != cellEdge {
				decided++
			}
		}
		if decided == 0 {
			t.Fatalf("area %d: the grid decided no point", n)
		}
	}
	if grids == 0 {
		t.Fatal("no grid built")
	}
}

func TestPolyGridDeclines(t *testing.T) {
	pos := func(lon, lat float64) geo.Pos { return geo.Pos{Lon: lon, Lat: lat} }
	square := geo.Geometry{Type: geo.Polygon, Lines: [][]geo.Pos{{pos(0, 0), pos(1, 0), pos(1, 1), pos(0, 1), pos(0, 0)}}}
	if newPolyGrid(square) != nil {
		t.Error("a grid for a square: a plain test is cheaper")
	}
	if newPolyGrid(geo.Geometry{Type: geo.LineString, Coords: []geo.Pos{pos(0, 0), pos(1, 1)}}) != nil {
		t.Error("a grid for a line")
	}
	flat := make([]geo.Pos, 0, 40)
	for i := range 40 {
		flat = append(flat, geo.Pos{Lon: float64(i), Lat: 5})
	}
	if newPolyGrid(geo.Geometry{Type: geo.Polygon, Lines: [][]geo.Pos{append(flat, flat[0])}}) != nil {
		t.Error("a grid for an area of no height")
	}
}

// coordsJSON renders the coordinates of an area as the coordinates parameter.
func coordsJSON(g geo.Geometry) string {
	var b strings.Builder
	ring := func(r []geo.Pos) {
		b.WriteByte('[')
		for i, p := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("[" + strconv.FormatFloat(p.Lon, 'g', -1, 64) + "," + strconv.FormatFloat(p.Lat, 'g', -1, 64) + "]")
		}
		b.WriteByte(']')
	}
	poly := func(p [][]geo.Pos) {
		b.WriteByte('[')
		for i, r := range p {
			if i > 0 {
				b.WriteByte(',')
			}
			ring(r)
		}
		b.WriteByte(']')
	}
	if g.Type == geo.Polygon {
		poly(g.Lines)
		return b.String()
	}
	b.WriteByte('[')
	for i, p := range g.Polygons {
		if i > 0 {
			b.WriteByte(',')
		}
		poly(p)
	}
	b.WriteByte(']')
	return b.String()
}

// TestGeoQueryAreaShortcut checks MatchGeometry of parsed within,
// intersects and disjoint queries on points against the plain predicates.
func TestGeoQueryAreaShortcut(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 11))
	for n := range 30 {
		g := randomArea(rng)
		for _, rel := range []string{"within", "intersects", "disjoint"} {
			q, err := ParseGeoQuery(rel, g.Type.String(), coordsJSON(g), "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if q.fast == nil || q.fast.grid == nil {
				t.Fatalf("%s area %d: not prepared", rel, n)
			}
			plain := *q
			plain.fast = nil
			for _, p := range probes(rng, q.Geometry) {
				pt := geo.Geometry{Type: geo.Point, Coords: []geo.Pos{p}}
				if got, want := q.MatchGeometry(pt), plain.MatchGeometry(pt); got != want {
					t.Fatalf("%s area %d: %v gives %v, plain %v", rel, n, p, got, want)
				}
			}
			// A query whose geometry was replaced after parsing no longer
			// uses the prepared area.
			other := *q
			other.Geometry = randomArea(rng)
			plainOther := other
			plainOther.fast = nil
			for _, p := range probes(rng, other.Geometry)[:500] {
				pt := geo.Geometry{Type: geo.Point, Coords: []geo.Pos{p}}
				if got, want := other.MatchGeometry(pt), plainOther.MatchGeometry(pt); got != want {
					t.Fatalf("%s area %d, geometry replaced: %v gives %v, plain %v", rel, n, p, got, want)
				}
			}
		}
	}
}

// TestNearShortcut compares near on points with the plain predicate, with
// many points at (and within rounding of) the distance asked for.
func TestNearShortcut(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1))
	fast := 0
	for n := range 300 {
		at := geo.Pos{Lon: rng.Float64()*360 - 180, Lat: rng.Float64()*180 - 90}
		if n%3 == 0 {
			at.Lat = rng.Float64()*170 - 85
		}
		dist := math.Pow(10, rng.Float64()*7-1) // 0.1 m to 1,000 km
		mod := "maxDistance"
		if n%4 == 0 {
			mod = "minDistance"
		}
		q, err := ParseGeoQuery("near;"+mod+"=="+strconv.FormatFloat(dist, 'g', -1, 64), "Point",
			"["+strconv.FormatFloat(at.Lon, 'g', -1, 64)+","+strconv.FormatFloat(at.Lat, 'g', -1, 64)+"]", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if q.fast != nil {
			fast++
		}
		plain := *q
		plain.fast = nil
		for k := range 400 {
			d := dist * rng.Float64() * 2
			switch k % 4 {
			case 0:
				d = dist * (1 + (rng.Float64()-0.5)*1e-8)
			case 1:
				d = dist
			}
			p := destination(at, rng.Float64()*360, d)
			if k%50 == 0 {
				p = geo.Pos{Lon: at.Lon + (rng.Float64()-0.5)*0.02, Lat: at.Lat + (rng.Float64()-0.5)*0.02}
			}
			pt := geo.Geometry{Type: geo.Point, Coords: []geo.Pos{p}}
			if got, want := q.MatchGeometry(pt), plain.MatchGeometry(pt); got != want {
				t.Fatalf("near %s==%g of %v: %v (at %g m) gives %v, plain %v", mod, dist, at, p, geo.Distance(at, p), got, want)
			}
		}
	}
	if fast == 0 {
		t.Fatal("no near query was prepared")
	}
}

func BenchmarkGeoQueryPoint(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	area := randomArea(rng)
	for area.Type != geo.Polygon {
		area = randomArea(rng)
	}
	c := area.BBox()
	pts := make([]geo.Geometry, 1024)
	for i := range pts {
		pts[i] = geo.Geometry{Type: geo.Point, Coords: []geo.Pos{{Lon: c.MinLon + rng.Float64()*(c.MaxLon-c.MinLon), Lat: c.MinLat + rng.Float64()*(c.MaxLat-c.MinLat)}}}
	}
	centre := area.Lines[0][0]
	near, err := ParseGeoQuery("near;maxDistance==500", "Point", "["+strconv.FormatFloat(centre.Lon, 'g', -1, 64)+","+strconv.FormatFloat(centre.Lat, 'g', -1, 64)+"]", "", nil)
	if err != nil {
		b.Fatal(err)
	}
	within, err := ParseGeoQuery("within", "Polygon", coordsJSON(area), "", nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		q    *GeoQuery
	}{{"near", near}, {"within", within}} {
		plain := *c.q
		plain.fast = nil
		for _, v := range []struct {
			name string
			q    *GeoQuery
		}{{"prepared", c.q}, {"plain", &plain}} {
			b.Run(c.name+"/"+v.name, func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					v.q.MatchGeometry(pts[i%len(pts)])
				}
			})
		}
	}
}

// TestPolyGridBudget checks that preparing a contrived area stays cheap: a
// comb of 15,000 teeth (60,000 edges) would need a plain test of every
// edge for each gap between teeth; the grid gives up and the area is
// tested plainly.
func TestPolyGridBudget(t *testing.T) {
	const teeth = 15000
	ring := []geo.Pos{{Lon: 0, Lat: 0}}
	for k := range teeth {
		x := float64(k) / teeth
		ring = append(ring, geo.Pos{Lon: x, Lat: 1}, geo.Pos{Lon: x + 0.5/teeth, Lat: 1}, geo.Pos{Lon: x + 0.5/teeth, Lat: 0.01}, geo.Pos{Lon: x + 1.0/teeth, Lat: 0.01})
	}
	ring = append(ring, geo.Pos{Lon: 1, Lat: 0}, geo.Pos{Lon: 0, Lat: 0})
	start := time.Now()
	pg := newPolyGrid(geo.Geometry{Type: geo.Polygon, Lines: [][]geo.Pos{ring}})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("preparing the comb took %v", took)
	}
	if pg != nil {
		t.Errorf("a grid for the comb (%d×%d cells): past the budget", pg.nx, pg.ny)
	}
}
