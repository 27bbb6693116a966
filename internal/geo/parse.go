package geo

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// MaxPositions bounds the number of positions one geometry may hold, so that a
// hostile body cannot make Qala index an absurd shape.
const MaxPositions = 1 << 20

// Error is a GeoJSON validation error: Path names the offending member
// (e.g. "coordinates[0][3]"), Msg says what is wrong with it.
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

func errf(path, format string, args ...any) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// IsGeoJSON reports whether v looks like a GeoJSON geometry: a JSON object
// whose "type" is a geometry type name and that has "coordinates" (or
// "geometries" for a GeometryCollection). It does not validate it.
func IsGeoJSON(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	s, _ := m["type"].(string)
	t, ok := ParseType(s)
	if !ok {
		return false
	}
	if t == GeometryCollection {
		_, ok = m["geometries"]
		return ok
	}
	_, ok = m["coordinates"]
	return ok
}

// ParseGeometry parses and strictly validates a GeoJSON geometry decoded by
// encoding/json (a map[string]any; numbers as float64 or json.Number).
//
// It enforces RFC 7946 as NGSI-LD uses it: a known geometry type; coordinates
// nested to the depth the type requires; positions of 2 or 3 finite numbers
// with longitude in [-180, 180] and latitude in [-90, 90]; line strings of at
// least 2 positions; polygon rings closed (first position equals last) with
// at least 4 positions; an optional "bbox" of 4 or 6 numbers. Qala is
// stricter than RFC 7946 in two ways: empty coordinate arrays and empty or
// nested GeometryCollections are refused, so every geometry has a location.
// Errors are *Error naming the member at fault.
func ParseGeometry(v any) (Geometry, error) {
	p := parser{}
	return p.geometry(v, "", true)
}

type parser struct {
	n int // positions seen so far
}

func (p *parser) geometry(v any, path string, top bool) (Geometry, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Geometry{}, errf(path, "geometry must be a JSON object, got %s", kind(v))
	}
	tv, ok := m["type"]
	if !ok {
		return Geometry{}, errf(join(path, "type"), "missing geometry type")
	}
	ts, ok := tv.(string)
	if !ok {
		return Geometry{}, errf(join(path, "type"), "geometry type must be a string, got %s", kind(tv))
	}
	t, ok := ParseType(ts)
	if !ok {
		return Geometry{}, errf(join(path, "type"), "unknown geometry type %q", ts)
	}
	if bb, ok := m["bbox"]; ok {
		if err := checkBBox(bb, join(path, "bbox")); err != nil {
			return Geometry{}, err
		}
	}
	g := Geometry{Type: t}
	if t == GeometryCollection {
		if !top {
			return Geometry{}, errf(path, "nested GeometryCollection is not supported")
		}
		gp := join(path, "geometries")
		raw, ok := m["geometries"]
		if !ok {
			return Geometry{}, errf(gp, "missing geometries")
		}
		arr, ok := raw.([]any)
		if !ok {
			return Geometry{}, errf(gp, "must be an array, got %s", kind(raw))
		}
		if len(arr) == 0 {
			return Geometry{}, errf(gp, "must not be empty")
		}
		g.Geometries = make([]Geometry, len(arr))
		for i, e := range arr {
			c, err := p.geometry(e, index(gp, i), false)
			if err != nil {
				return Geometry{}, err
			}
			g.Geometries[i] = c
		}
		return g, nil
	}
	cp := join(path, "coordinates")
	raw, ok := m["coordinates"]
	if !ok {
		return Geometry{}, errf(cp, "missing coordinates")
	}
	if want, got := coordDepth[t], depth(raw); got != want && got != unknownDepth {
		return Geometry{}, errf(cp, "a %s needs coordinates nested %d deep (%s), got %d", t, want, coordShape[t], got)
	}
	var err error
	switch t {
	case Point:
		var pos Pos
		pos, err = p.pos(raw, cp, -1)
		g.Coords = []Pos{pos}
	case MultiPoint:
		g.Coords, err = p.positions(raw, cp, 1)
	case LineString:
		g.Coords, err = p.positions(raw, cp, 2)
	case MultiLineString:
		g.Lines, err = p.lines(raw, cp, false)
	case Polygon:
		g.Lines, err = p.lines(raw, cp, true)
	case MultiPolygon:
		var arr []any
		arr, err = array(raw, cp)
		if err != nil {
			break
		}
		g.Polygons = make([][][]Pos, len(arr))
		for i, e := range arr {
			if g.Polygons[i], err = p.lines(e, index(cp, i), true); err != nil {
				break
			}
		}
	}
	if err != nil {
		return Geometry{}, err
	}
	return g, nil
}

// coordDepth is how deeply the coordinates of each type nest arrays.
var coordDepth = [...]int{Point: 1, MultiPoint: 2, LineString: 2, MultiLineString: 3, Polygon: 3, MultiPolygon: 4}

var coordShape = [...]string{
	Point:           "a position",
	MultiPoint:      "an array of positions",
	LineString:      "an array of positions",
	MultiLineString: "an array of line strings",
	Polygon:         "an array of linear rings",
	MultiPolygon:    "an array of polygons",
}

const unknownDepth = -1

// depth returns how many arrays nest in v, following first elements; an
// empty array gives unknownDepth so that it is reported as empty.
func depth(v any) int {
	d := 0
	for {
		arr, ok := v.([]any)
		if !ok {
			return d
		}
		d++
		if len(arr) == 0 {
			return unknownDepth
		}
		v = arr[0]
	}
}

// lines parses an array of line strings, or of linear rings when rings is set.
func (p *parser) lines(v any, path string, rings bool) ([][]Pos, error) {
	arr, err := array(v, path)
	if err != nil {
		return nil, err
	}
	out := make([][]Pos, len(arr))
	for i, e := range arr {
		ip := index(path, i)
		minLen := 2
		if rings {
			minLen = 4
		}
		l, err := p.positions(e, ip, minLen)
		if err != nil {
			return nil, err
		}
		if rings && l[0] != l[len(l)-1] {
			return nil, errf(ip, "ring is not closed (first and last positions differ)")
		}
		out[i] = l
	}
	return out, nil
}

// positions parses an array of at least min positions.
func (p *parser) positions(v any, path string, minLen int) ([]Pos, error) {
	arr, err := array(v, path)
	if err != nil {
		return nil, err
	}
	if len(arr) < minLen {
		what := "positions"
		switch minLen {
		case 2:
			what = "positions (a line string)"
		case 4:
			what = "positions (a linear ring)"
		}
		return nil, errf(path, "needs at least %d %s, got %d", minLen, what, len(arr))
	}
	out := make([]Pos, len(arr))
	for i, e := range arr {
		if out[i], err = p.pos(e, path, i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pos parses a position; its path is path, or path[at] when at >= 0 (built
// only for an error: positions are parsed on every write and geo-query).
func (p *parser) pos(v any, path string, at int) (Pos, error) {
	here := func() string {
		if at < 0 {
			return path
		}
		return index(path, at)
	}
	arr, ok := v.([]any)
	if !ok {
		return Pos{}, errf(here(), "position must be an array of numbers, got %s", kind(v))
	}
	if len(arr) < 2 || len(arr) > 3 {
		return Pos{}, errf(here(), "position must have 2 or 3 numbers, got %d", len(arr))
	}
	p.n++
	if p.n > MaxPositions {
		return Pos{}, errf(here(), "geometry has more than %d positions", MaxPositions)
	}
	var f [3]float64
	for i, e := range arr {
		x, ok := number(e)
		if !ok {
			return Pos{}, errf(index(here(), i), "must be a finite number, got %s", kind(e))
		}
		f[i] = x
	}
	if f[0] < -180 || f[0] > 180 {
		return Pos{}, errf(index(here(), 0), "longitude %g out of range [-180, 180]", f[0])
	}
	if f[1] < -90 || f[1] > 90 {
		return Pos{}, errf(index(here(), 1), "latitude %g out of range [-90, 90]", f[1])
	}
	return Pos{Lon: f[0], Lat: f[1]}, nil
}

func checkBBox(v any, path string) error {
	arr, ok := v.([]any)
	if !ok || (len(arr) != 4 && len(arr) != 6) {
		return errf(path, "must be an array of 4 or 6 numbers")
	}
	for i, e := range arr {
		if _, ok := number(e); !ok {
			return errf(index(path, i), "must be a finite number, got %s", kind(e))
		}
	}
	return nil
}

func array(v any, path string) ([]any, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, errf(path, "must be an array, got %s", kind(v))
	}
	if len(arr) == 0 {
		return nil, errf(path, "must not be empty")
	}
	return arr, nil
}

// number returns v as a finite float64.
func number(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	if _, ok := number(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

func join(path, member string) string {
	if path == "" {
		return member
	}
	return path + "." + member
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
