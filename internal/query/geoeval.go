package query

import (
	"math"

	"github.com/qala-city/qala/internal/geo"
)

// Geometry predicates. "near" is measured on the sphere (metres, great-circle
// distances, the package geo Earth radius). The other relationships are
// computed in the plane of longitude and latitude, which is what GeoJSON
// (RFC 7946, 3.1.1) prescribes for the edges of lines and polygons. Borders
// count as part of an area: a point on a polygon's edge is within it.

// shape is a geometry flattened into its points, lines and polygons (the
// members of a GeometryCollection merged). It shares g's coordinate slices
// and never modifies them. A single line or polygon is held in line or poly
// rather than in a one-element slice, so that a shape of a simple geometry
// lives on its user's stack.
type shape struct {
	pts   []geo.Pos
	lines [][]geo.Pos
	polys [][][]geo.Pos
	line  []geo.Pos   // one more line, when set
	poly  [][]geo.Pos // one more polygon, when set
}

func (s *shape) add(g geo.Geometry) {
	switch g.Type {
	case geo.Point, geo.MultiPoint:
		if s.pts == nil {
			s.pts = g.Coords
		} else {
			s.pts = append(s.pts[:len(s.pts):len(s.pts)], g.Coords...)
		}
	case geo.LineString:
		if s.line == nil {
			s.line = g.Coords
		} else {
			s.lines = append(s.lines[:len(s.lines):len(s.lines)], g.Coords)
		}
	case geo.MultiLineString:
		if s.lines == nil {
			s.lines = g.Lines
		} else {
			s.lines = append(s.lines[:len(s.lines):len(s.lines)], g.Lines...)
		}
	case geo.Polygon:
		if s.poly == nil {
			s.poly = g.Lines
		} else {
			s.polys = append(s.polys[:len(s.polys):len(s.polys)], g.Lines)
		}
	case geo.MultiPolygon:
		if s.polys == nil {
			s.polys = g.Polygons
		} else {
			s.polys = append(s.polys[:len(s.polys):len(s.polys)], g.Polygons...)
		}
	case geo.GeometryCollection:
		for _, c := range g.Geometries {
			s.add(c)
		}
	}
}

func (s *shape) numLines() int { return len(s.lines) + b2i(s.line != nil) }
func (s *shape) numPolys() int { return len(s.polys) + b2i(s.poly != nil) }

func (s *shape) lineAt(i int) []geo.Pos {
	if i < len(s.lines) {
		return s.lines[i]
	}
	return s.line
}

func (s *shape) polyAt(i int) [][]geo.Pos {
	if i < len(s.polys) {
		return s.polys[i]
	}
	return s.poly
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *shape) dim() int {
	switch {
	case s.numPolys() > 0:
		return 2
	case s.numLines() > 0:
		return 1
	}
	return 0
}

// DistanceTo returns the great-circle distance in metres from p to the
// nearest point of g: to a point, to the nearest point of a line, to the
// nearest point of a polygon's boundary, and 0 when p lies inside a polygon.
func DistanceTo(p geo.Pos, g geo.Geometry) float64 {
	var s shape
	s.add(g)
	d := math.Inf(1)
	for _, q := range s.pts {
		d = math.Min(d, geo.Distance(p, q))
	}
	for i := range s.numLines() {
		l := s.lineAt(i)
		d = math.Min(d, distLine(p, l))
	}
	for i := range s.numPolys() {
		poly := s.polyAt(i)
		if inPolygon(p, poly) > 0 {
			return 0
		}
		for _, r := range poly {
			d = math.Min(d, distLine(p, r))
		}
	}
	return d
}

func distLine(p geo.Pos, l []geo.Pos) float64 {
	d := math.Inf(1)
	if len(l) == 1 {
		return geo.Distance(p, l[0])
	}
	for i := 1; i < len(l); i++ {
		d = math.Min(d, distSegment(p, l[i-1], l[i]))
	}
	return d
}

type vec3 struct{ x, y, z float64 }

func unit(p geo.Pos) vec3 {
	const rad = math.Pi / 180
	lat, lon := p.Lat*rad, p.Lon*rad
	return vec3{math.Cos(lat) * math.Cos(lon), math.Cos(lat) * math.Sin(lon), math.Sin(lat)}
}

func cross(a, b vec3) vec3 {
	return vec3{a.y*b.z - a.z*b.y, a.z*b.x - a.x*b.z, a.x*b.y - a.y*b.x}
}

func dot(a, b vec3) float64 { return a.x*b.x + a.y*b.y + a.z*b.z }

// distSegment returns the great-circle distance from p to the great-circle
// arc a–b: the cross-track distance when the foot of the perpendicular falls
// on the arc, else the distance to the nearer end.
func distSegment(p, a, b geo.Pos) float64 {
	ends := math.Min(geo.Distance(p, a), geo.Distance(p, b))
	va, vb, vp := unit(a), unit(b), unit(p)
	n := cross(va, vb)
	nn := math.Sqrt(dot(n, n))
	if nn < 1e-15 {
		return ends
	}
	n = vec3{n.x / nn, n.y / nn, n.z / nn}
	// The foot of the perpendicular from p lies on the arc when it is on
	// the same side of a as b and on the same side of b as a.
	if dot(cross(va, vp), n) < 0 || dot(cross(vp, vb), n) < 0 {
		return ends
	}
	s := math.Abs(dot(vp, n))
	return math.Min(ends, geo.EarthRadius*math.Asin(math.Min(1, s)))
}

// Planar primitives.

const eps = 1e-12

func orient(a, b, c geo.Pos) float64 {
	return (b.Lon-a.Lon)*(c.Lat-a.Lat) - (b.Lat-a.Lat)*(c.Lon-a.Lon)
}

func sign(x float64) int {
	switch {
	case x > eps:
		return 1
	case x < -eps:
		return -1
	}
	return 0
}

// onSegment reports whether p lies on the segment a–b.
func onSegment(p, a, b geo.Pos) bool {
	return sign(orient(a, b, p)) == 0 &&
		p.Lon >= math.Min(a.Lon, b.Lon)-eps && p.Lon <= math.Max(a.Lon, b.Lon)+eps &&
		p.Lat >= math.Min(a.Lat, b.Lat)-eps && p.Lat <= math.Max(a.Lat, b.Lat)+eps
}

// segmentsMeet reports whether segments a–b and c–d share a point.
func segmentsMeet(a, b, c, d geo.Pos) bool {
	o1, o2 := sign(orient(a, b, c)), sign(orient(a, b, d))
	o3, o4 := sign(orient(c, d, a)), sign(orient(c, d, b))
	if o1 != o2 && o3 != o4 && o1*o2 <= 0 && o3*o4 <= 0 {
		if o1 != 0 || o2 != 0 {
			return true
		}
	}
	return onSegment(c, a, b) || onSegment(d, a, b) || onSegment(a, c, d) || onSegment(b, c, d)
}

// segmentsCross reports whether segments a–b and c–d cross at a point
// interior to both.
func segmentsCross(a, b, c, d geo.Pos) bool {
	o1, o2 := sign(orient(a, b, c)), sign(orient(a, b, d))
	o3, o4 := sign(orient(c, d, a)), sign(orient(c, d, b))
	return o1*o2 < 0 && o3*o4 < 0
}

// onLine reports whether p lies on the polyline l.
func onLine(p geo.Pos, l []geo.Pos) bool {
	if len(l) == 1 {
		return p == l[0]
	}
	for i := 1; i < len(l); i++ {
		if onSegment(p, l[i-1], l[i]) {
			return true
		}
	}
	return false
}

// inRing reports whether p is strictly inside the closed ring r (even-odd
// rule); points on the border are not reported.
func inRing(p geo.Pos, r []geo.Pos) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a.Lat > p.Lat) != (b.Lat > p.Lat) &&
			p.Lon < (b.Lon-a.Lon)*(p.Lat-a.Lat)/(b.Lat-a.Lat)+a.Lon {
			in = !in
		}
	}
	return in
}

// inPolygon returns 0 when p is outside poly (exterior ring then holes), 1
// on its boundary and 2 in its interior.
func inPolygon(p geo.Pos, poly [][]geo.Pos) int {
	for _, r := range poly {
		if onLine(p, r) {
			return 1
		}
	}
	if len(poly) == 0 || !inRing(p, poly[0]) {
		return 0
	}
	for _, h := range poly[1:] {
		if inRing(p, h) {
			return 0
		}
	}
	return 2
}

func linesMeet(l, m []geo.Pos) bool {
	if len(l) == 1 {
		return onLine(l[0], m)
	}
	if len(m) == 1 {
		return onLine(m[0], l)
	}
	for i := 1; i < len(l); i++ {
		for j := 1; j < len(m); j++ {
			if segmentsMeet(l[i-1], l[i], m[j-1], m[j]) {
				return true
			}
		}
	}
	return false
}

func lineMeetsPolygon(l []geo.Pos, poly [][]geo.Pos) bool {
	if inPolygon(l[0], poly) > 0 {
		return true
	}
	for _, r := range poly {
		if linesMeet(l, r) {
			return true
		}
	}
	return false
}

func polygonsMeet(p, q [][]geo.Pos) bool {
	if inPolygon(p[0][0], q) > 0 || inPolygon(q[0][0], p) > 0 {
		return true
	}
	for _, r := range p {
		for _, s := range q {
			if linesMeet(r, s) {
				return true
			}
		}
	}
	return false
}

// Intersect reports whether geometries a and b share at least one point
// (the complement of "disjoint").
func Intersect(a, b geo.Geometry) bool {
	var sa, sb shape
	sa.add(a)
	sb.add(b)
	return sa.meets(&sb)
}

func (a *shape) meets(b *shape) bool {
	for _, p := range a.pts {
		if b.coversPoint(p) {
			return true
		}
	}
	for _, p := range b.pts {
		if a.coversPoint(p) {
			return true
		}
	}
	for i := range a.numLines() {
		l := a.lineAt(i)
		for j := range b.numLines() {
			m := b.lineAt(j)
			if linesMeet(l, m) {
				return true
			}
		}
		for j := range b.numPolys() {
			q := b.polyAt(j)
			if lineMeetsPolygon(l, q) {
				return true
			}
		}
	}
	for i := range a.numPolys() {
		q := a.polyAt(i)
		for j := range b.numLines() {
			m := b.lineAt(j)
			if lineMeetsPolygon(m, q) {
				return true
			}
		}
		for j := range b.numPolys() {
			r := b.polyAt(j)
			if polygonsMeet(q, r) {
				return true
			}
		}
	}
	return false
}

func (s *shape) coversPoint(p geo.Pos) bool {
	for _, q := range s.pts {
		if p == q {
			return true
		}
	}
	for i := range s.numLines() {
		l := s.lineAt(i)
		if onLine(p, l) {
			return true
		}
	}
	for i := range s.numPolys() {
		poly := s.polyAt(i)
		if inPolygon(p, poly) > 0 {
			return true
		}
	}
	return false
}

// coversLine reports whether every point of polyline l lies in s: each of
// its vertices and the midpoint of each of its pieces between crossings,
// which is exact for polygons and lines made of straight segments.
func (s *shape) coversLine(l []geo.Pos) bool {
	for _, p := range l {
		if !s.coversPoint(p) {
			return false
		}
	}
	for i := 1; i < len(l); i++ {
		if !s.coversSegment(l[i-1], l[i]) {
			return false
		}
	}
	return true
}

// coversSegment checks a segment whose ends s covers: it is covered unless
// it properly crosses a polygon border, or a piece between the points
// where it meets borders leaves s.
func (s *shape) coversSegment(a, b geo.Pos) bool {
	var buf [32]float64
	cuts := append(buf[:0], 0, 1)
	for i := range s.numLines() {
		cuts = appendCuts(cuts, a, b, s.lineAt(i))
	}
	for i := range s.numPolys() {
		for _, r := range s.polyAt(i) {
			cuts = appendCuts(cuts, a, b, r)
		}
	}
	sortFloats(cuts)
	for i := 1; i < len(cuts); i++ {
		if cuts[i]-cuts[i-1] < 1e-12 {
			continue
		}
		m := (cuts[i] + cuts[i-1]) / 2
		p := geo.Pos{Lon: a.Lon + m*(b.Lon-a.Lon), Lat: a.Lat + m*(b.Lat-a.Lat)}
		if !s.coversPoint(p) {
			return false
		}
	}
	return true
}

// appendCuts appends the parameters along a–b where it meets the polyline l:
// l's vertices lying on a–b and proper crossings.
func appendCuts(cuts []float64, a, b geo.Pos, l []geo.Pos) []float64 {
	for i, p := range l {
		if t, ok := segmentParam(a, b, p); ok {
			cuts = append(cuts, t)
		}
		if i > 0 {
			if t, ok := crossParam(a, b, l[i-1], p); ok {
				cuts = append(cuts, t)
			}
		}
	}
	return cuts
}

// segmentParam returns t in [0,1] with a+t(b-a) = p when p lies on a–b.
func segmentParam(a, b, p geo.Pos) (float64, bool) {
	if !onSegment(p, a, b) {
		return 0, false
	}
	dx, dy := b.Lon-a.Lon, b.Lat-a.Lat
	l := dx*dx + dy*dy
	if l == 0 {
		return 0, false
	}
	return ((p.Lon-a.Lon)*dx + (p.Lat-a.Lat)*dy) / l, true
}

// crossParam returns where on a–b the segment c–d crosses it.
func crossParam(a, b, c, d geo.Pos) (float64, bool) {
	if !segmentsCross(a, b, c, d) {
		return 0, false
	}
	den := (b.Lon-a.Lon)*(d.Lat-c.Lat) - (b.Lat-a.Lat)*(d.Lon-c.Lon)
	if den == 0 {
		return 0, false
	}
	return ((c.Lon-a.Lon)*(d.Lat-c.Lat) - (c.Lat-a.Lat)*(d.Lon-c.Lon)) / den, true
}

func sortFloats(xs []float64) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// coversPolygon reports whether polygon p lies in s: its exterior ring is
// covered, and no hole of a covering polygon lies in p's interior.
func (s *shape) coversPolygon(p [][]geo.Pos) bool {
	if s.numPolys() == 0 || !s.coversLine(p[0]) {
		return false
	}
	for i := range s.numPolys() {
		q := s.polyAt(i)
		for _, h := range q[1:] {
			for _, v := range h {
				if inPolygon(v, p) == 2 {
					return false
				}
			}
		}
	}
	return true
}

// CoveredBy reports whether every point of a lies in b ("a within b", and
// "b contains a"); borders are part of areas.
func CoveredBy(a, b geo.Geometry) bool {
	var sa, sb shape
	sa.add(a)
	sb.add(b)
	for _, p := range sa.pts {
		if !sb.coversPoint(p) {
			return false
		}
	}
	for i := range sa.numLines() {
		l := sa.lineAt(i)
		if !sb.coversLine(l) {
			return false
		}
	}
	for i := range sa.numPolys() {
		p := sa.polyAt(i)
		if !sb.coversPolygon(p) {
			return false
		}
	}
	return true
}

// Overlap reports whether a and b overlap: they have the same dimension,
// their interiors meet, and neither covers the other.
func Overlap(a, b geo.Geometry) bool {
	var sa, sb shape
	sa.add(a)
	sb.add(b)
	if sa.dim() != sb.dim() || !sa.meets(&sb) || CoveredBy(a, b) || CoveredBy(b, a) {
		return false
	}
	switch sa.dim() {
	case 0:
		return true
	case 1:
		return sa.linesShareSegment(&sb)
	}
	return sa.interiorsMeet(&sb)
}

// linesShareSegment reports whether lines of a and b share a piece of
// positive length (lines that merely cross or touch do not overlap).
func (a *shape) linesShareSegment(b *shape) bool {
	for i := range a.numLines() {
		l := a.lineAt(i)
		for j := range b.numLines() {
			m := b.lineAt(j)
			for i := 1; i < len(l); i++ {
				for j := 1; j < len(m); j++ {
					if collinearOverlap(l[i-1], l[i], m[j-1], m[j]) {
						return true
					}
				}
			}
		}
	}
	return false
}

func collinearOverlap(a, b, c, d geo.Pos) bool {
	if sign(orient(a, b, c)) != 0 || sign(orient(a, b, d)) != 0 {
		return false
	}
	t0, ok0 := projParam(a, b, c)
	t1, ok1 := projParam(a, b, d)
	if !ok0 || !ok1 {
		return false
	}
	lo, hi := math.Min(t0, t1), math.Max(t0, t1)
	return math.Min(hi, 1)-math.Max(lo, 0) > 1e-12
}

// projParam returns the parameter of p's projection on the line a–b.
func projParam(a, b, p geo.Pos) (float64, bool) {
	dx, dy := b.Lon-a.Lon, b.Lat-a.Lat
	l := dx*dx + dy*dy
	if l == 0 {
		return 0, false
	}
	return ((p.Lon-a.Lon)*dx + (p.Lat-a.Lat)*dy) / l, true
}

// interiorsMeet reports, for areas, whether a's and b's interiors share a
// point: a vertex of one strictly inside the other, or borders crossing.
func (a *shape) interiorsMeet(b *shape) bool {
	for i := range a.numPolys() {
		p := a.polyAt(i)
		for j := range b.numPolys() {
			q := b.polyAt(j)
			for _, r := range p {
				for _, v := range r {
					if inPolygon(v, q) == 2 {
						return true
					}
				}
			}
			for _, r := range q {
				for _, v := range r {
					if inPolygon(v, p) == 2 {
						return true
					}
				}
			}
			for _, r := range p {
				for _, s := range q {
					for i := 1; i < len(r); i++ {
						for j := 1; j < len(s); j++ {
							if segmentsCross(r[i-1], r[i], s[j-1], s[j]) {
								return true
							}
						}
					}
				}
			}
		}
	}
	return false
}
