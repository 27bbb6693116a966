package geo

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func decode(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func TestParseGeometryValid(t *testing.T) {
	tests := []struct {
		in   string
		typ  Type
		bbox BBox
	}{
		{`{"type":"Point","coordinates":[71.43,51.13]}`, Point, BBox{71.43, 51.13, 71.43, 51.13}},
		{`{"type":"Point","coordinates":[71.43,51.13,350]}`, Point, BBox{71.43, 51.13, 71.43, 51.13}},
		{`{"type":"Point","coordinates":[-180,-90],"bbox":[-180,-90,-180,-90]}`, Point, BBox{-180, -90, -180, -90}},
		{`{"type":"MultiPoint","coordinates":[[1,2],[3,-4]]}`, MultiPoint, BBox{1, -4, 3, 2}},
		{`{"type":"LineString","coordinates":[[1,2],[3,4]]}`, LineString, BBox{1, 2, 3, 4}},
		{`{"type":"MultiLineString","coordinates":[[[1,2],[3,4]],[[0,0],[5,1]]]}`, MultiLineString, BBox{0, 0, 5, 4}},
		{`{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[1,1],[2,1],[2,2],[1,1]]]}`, Polygon, BBox{0, 0, 4, 4}},
		{`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[10,10],[11,10],[11,11],[10,10]]]]}`, MultiPolygon, BBox{0, 0, 11, 11}},
		{`{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,1]},{"type":"LineString","coordinates":[[2,2],[3,5]]}]}`, GeometryCollection, BBox{1, 1, 3, 5}},
	}
	for _, tt := range tests {
		g, err := ParseGeometry(decode(t, tt.in))
		if err != nil {
			t.Errorf("ParseGeometry(%s): %v", tt.in, err)
			continue
		}
		if g.Type != tt.typ {
			t.Errorf("ParseGeometry(%s).Type = %v, want %v", tt.in, g.Type, tt.typ)
		}
		if got := g.BBox(); got != tt.bbox {
			t.Errorf("ParseGeometry(%s).BBox() = %+v, want %+v", tt.in, got, tt.bbox)
		}
		if !IsGeoJSON(decode(t, tt.in)) {
			t.Errorf("IsGeoJSON(%s) = false", tt.in)
		}
	}
}

func TestParseGeometryInvalid(t *testing.T) {
	tests := []struct{ in, want string }{
		{`[1,2]`, "geometry must be a JSON object, got an array"},
		{`{"coordinates":[1,2]}`, "type: missing geometry type"},
		{`{"type":5,"coordinates":[1,2]}`, "type: geometry type must be a string, got a number"},
		{`{"type":"Circle","coordinates":[1,2]}`, `type: unknown geometry type "Circle"`},
		{`{"type":"point","coordinates":[1,2]}`, `type: unknown geometry type "point"`},
		{`{"type":"Point"}`, "coordinates: missing coordinates"},
		{`{"type":"Point","coordinates":[1]}`, "coordinates: position must have 2 or 3 numbers, got 1"},
		{`{"type":"Point","coordinates":[1,2,3,4]}`, "coordinates: position must have 2 or 3 numbers, got 4"},
		{`{"type":"Point","coordinates":[[1,2]]}`, "coordinates: a Point needs coordinates nested 1 deep (a position), got 2"},
		{`{"type":"Point","coordinates":["1",2]}`, "coordinates[0]: must be a finite number, got a string"},
		{`{"type":"Point","coordinates":[181,2]}`, "coordinates[0]: longitude 181 out of range [-180, 180]"},
		{`{"type":"Point","coordinates":[1,-90.5]}`, "coordinates[1]: latitude -90.5 out of range [-90, 90]"},
		{`{"type":"Point","coordinates":[1,2],"bbox":[1,2]}`, "bbox: must be an array of 4 or 6 numbers"},
		{`{"type":"MultiPoint","coordinates":[]}`, "coordinates: must not be empty"},
		{`{"type":"MultiPoint","coordinates":[1,2]}`, "coordinates: a MultiPoint needs coordinates nested 2 deep (an array of positions), got 1"},
		{`{"type":"LineString","coordinates":[[1,2]]}`, "coordinates: needs at least 2 positions (a line string), got 1"},
		{`{"type":"MultiLineString","coordinates":[[1,2],[3,4]]}`, "coordinates: a MultiLineString needs coordinates nested 3 deep (an array of line strings), got 2"},
		{`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}`, "coordinates[0]: ring is not closed (first and last positions differ)"},
		{`{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}`, "coordinates[0]: needs at least 4 positions (a linear ring), got 3"},
		{`{"type":"Polygon","coordinates":[[0,0],[1,0],[1,1],[0,0]]}`, "coordinates: a Polygon needs coordinates nested 3 deep (an array of linear rings), got 2"},
		{`{"type":"MultiPolygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`, "coordinates: a MultiPolygon needs coordinates nested 4 deep (an array of polygons), got 3"},
		{`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[0,0],[1,0],[1,1],[0,2]]]]}`, "coordinates[1][0]: ring is not closed (first and last positions differ)"},
		{`{"type":"Point","coordinates":[[]]}`, "coordinates: position must have 2 or 3 numbers, got 1"},
		{`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]],[]]}`, "coordinates[1]: must not be empty"},
		{`{"type":"MultiPoint","coordinates":[[1,2],3]}`, "coordinates[1]: position must be an array of numbers, got a number"},
		{`{"type":"GeometryCollection","geometries":[]}`, "geometries: must not be empty"},
		{`{"type":"GeometryCollection"}`, "geometries: missing geometries"},
		{`{"type":"GeometryCollection","geometries":[{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,2]}]}]}`, "geometries[0]: nested GeometryCollection is not supported"},
		{`{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,200]}]}`, "geometries[0].coordinates[1]: latitude 200 out of range [-90, 90]"},
	}
	for _, tt := range tests {
		_, err := ParseGeometry(decode(t, tt.in))
		if err == nil {
			t.Errorf("ParseGeometry(%s): no error, want %q", tt.in, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseGeometry(%s) error = %q, want %q", tt.in, err, tt.want)
		}
	}
}

func TestParseGeometryNumbers(t *testing.T) {
	g, err := ParseGeometry(map[string]any{"type": "Point", "coordinates": []any{json.Number("71.5"), 51}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Coords[0] != (Pos{71.5, 51}) {
		t.Errorf("got %+v", g.Coords[0])
	}
	for _, bad := range []any{math.NaN(), math.Inf(1), json.Number("1e400")} {
		if _, err := ParseGeometry(map[string]any{"type": "Point", "coordinates": []any{bad, 1.0}}); err == nil {
			t.Errorf("coordinate %v accepted", bad)
		}
	}
}

func TestCentroid(t *testing.T) {
	tests := []struct {
		in   string
		want Pos
	}{
		{`{"type":"Point","coordinates":[3,4]}`, Pos{3, 4}},
		{`{"type":"MultiPoint","coordinates":[[0,0],[2,4]]}`, Pos{1, 2}},
		// Length-weighted: the long segment dominates.
		{`{"type":"LineString","coordinates":[[0,0],[0,2],[6,2]]}`, Pos{(2*0 + 6*3) / 8.0, (2*1 + 6*2) / 8.0}},
		{`{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]]]}`, Pos{2, 2}},
		// Clockwise ring gives the same centroid.
		{`{"type":"Polygon","coordinates":[[[0,0],[0,4],[4,4],[4,0],[0,0]]]}`, Pos{2, 2}},
		// A hole in the right half shifts the centroid left.
		{`{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[2,0],[4,0],[4,4],[2,4],[2,0]]]}`, Pos{1, 2}},
		{`{"type":"MultiPolygon","coordinates":[[[[0,0],[2,0],[2,2],[0,2],[0,0]]],[[[10,0],[12,0],[12,2],[10,2],[10,0]]]]}`, Pos{6, 1}},
		// Degenerate (zero-area) polygon falls back to its outline.
		{`{"type":"Polygon","coordinates":[[[0,0],[2,0],[4,0],[0,0]]]}`, Pos{2, 0}},
		// Points are ignored next to an area.
		{`{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[50,50]},{"type":"Polygon","coordinates":[[[0,0],[2,0],[2,2],[0,2],[0,0]]]}]}`, Pos{1, 1}},
	}
	for _, tt := range tests {
		g, err := ParseGeometry(decode(t, tt.in))
		if err != nil {
			t.Fatalf("ParseGeometry(%s): %v", tt.in, err)
		}
		got := g.Centroid()
		if math.Abs(got.Lon-tt.want.Lon) > 1e-9 || math.Abs(got.Lat-tt.want.Lat) > 1e-9 {
			t.Errorf("Centroid(%s) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b Pos
		want float64 // metres
		tol  float64
	}{
		{Pos{71.43, 51.13}, Pos{71.43, 51.13}, 0, 1e-9},
		// One degree of latitude is ~111.195 km on the IUGG mean sphere.
		{Pos{0, 0}, Pos{0, 1}, 111195.08, 0.01},
		{Pos{0, 0}, Pos{180, 0}, math.Pi * EarthRadius, 1e-6},
		{Pos{0, 90}, Pos{0, -90}, math.Pi * EarthRadius, 1e-6},
		// Astana (Bayterek) to Almaty, ~970 km great-circle.
		{Pos{71.4304, 51.1282}, Pos{76.9286, 43.2567}, 970000, 10000},
	}
	for _, tt := range tests {
		got := Distance(tt.a, tt.b)
		if math.Abs(got-tt.want) > tt.tol {
			t.Errorf("Distance(%v, %v) = %f, want %f ± %g", tt.a, tt.b, got, tt.want, tt.tol)
		}
		if back := Distance(tt.b, tt.a); math.Abs(back-got) > 1e-6 {
			t.Errorf("Distance not symmetric: %f vs %f", got, back)
		}
	}
}

func TestBBoxOps(t *testing.T) {
	a := BBox{0, 0, 2, 2}
	b := BBox{1, 1, 3, 3}
	c := BBox{5, 5, 6, 6}
	if !a.Intersects(b) || a.Intersects(c) {
		t.Error("Intersects wrong")
	}
	if got := a.Extend(c); got != (BBox{0, 0, 6, 6}) {
		t.Errorf("Extend = %+v", got)
	}
	if !a.Contains(Pos{2, 0}) || a.Contains(Pos{2.1, 0}) {
		t.Error("Contains wrong")
	}
}

func TestMaxPositions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 6 MB geometry")
	}
	var sb strings.Builder
	sb.WriteString(`{"type":"MultiPoint","coordinates":[`)
	for i := 0; i <= MaxPositions; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("[1,2]")
	}
	sb.WriteString("]}")
	_, err := ParseGeometry(decode(t, sb.String()))
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("err = %v, want too many positions", err)
	}
}

func FuzzParseGeometry(f *testing.F) {
	for _, s := range []string{
		`{"type":"Point","coordinates":[71.43,51.13]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]]]}`,
		`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]}`,
		`{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,1]}]}`,
		`{"type":"LineString","coordinates":[[1,2],[3,4]],"bbox":[1,2,3,4]}`,
		`{"type":"MultiLineString","coordinates":[[[1,2],[3,4]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		g, err := ParseGeometry(v)
		if err != nil {
			return
		}
		b := g.BBox()
		if b.MinLon > b.MaxLon || b.MinLat > b.MaxLat || b.MinLon < -180 || b.MaxLat > 90 {
			t.Fatalf("bad bbox %+v for %s", b, data)
		}
		c := g.Centroid()
		if math.IsNaN(c.Lon) || math.IsNaN(c.Lat) {
			t.Fatalf("NaN centroid for %s", data)
		}
		if d := Distance(c, b.center()); math.IsNaN(d) || d < 0 {
			t.Fatalf("bad distance %f", d)
		}
	})
}

func (b BBox) center() Pos { return Pos{(b.MinLon + b.MaxLon) / 2, (b.MinLat + b.MaxLat) / 2} }

func TestIsGeoJSON(t *testing.T) {
	for _, s := range []string{`{"type":"Point"}`, `{"type":"Property","coordinates":[1,2]}`, `"Point"`, `{"type":"GeometryCollection","coordinates":[]}`, `null`} {
		if IsGeoJSON(decode(t, s)) {
			t.Errorf("IsGeoJSON(%s) = true", s)
		}
	}
}
