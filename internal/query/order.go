package query

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/qala-city/qala/internal/geo"
	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
)

// Direction is the direction of one ordering key (clause 4.23.3 of v1.9):
// by value, or by distance from the ordering's reference geometry.
type Direction uint8

// The directions of clause 4.23.3.
const (
	Asc      Direction = iota // "asc", the default
	Desc                      // "desc"
	DistAsc                   // "dist-asc": nearest first
	DistDesc                  // "dist-desc": farthest first
)

var directionNames = [...]string{"asc", "desc", "dist-asc", "dist-desc"}

// String returns the direction's keyword.
func (d Direction) String() string {
	if int(d) < len(directionNames) {
		return directionNames[d]
	}
	return "?"
}

// dist reports whether d orders by distance.
func (d Direction) dist() bool { return d == DistAsc || d == DistDesc }

// desc reports whether d puts larger values (or distances) first.
func (d Direction) desc() bool { return d == Desc || d == DistDesc }

// OrderKey is one key of orderBy: the path to the value (the Attribute
// grammar of the q language, clause 4.9: an entity member, or an attribute
// with ".sub-attribute", ".member" and "[key]" steps) and a direction.
type OrderKey struct {
	Path Path
	Dir  Direction
}

// maxOrderKeys bounds the number of keys of one orderBy.
const maxOrderKeys = 16

// OrderParams holds the raw ordering parameters of a query: orderBy,
// collation, orderGeometry and orderFrom in the URL of GET /entities, or
// the members orderBy, collation, geometry and coordinates of the
// OrderingParams data type (Table 5.2.43-1 of v1.9) in the body of a POST
// query.
type OrderParams struct {
	// OrderBy holds the keys: each element may itself be a comma-separated
	// list ("type;asc,name.sub;desc").
	OrderBy   []string
	Collation string // BCP 47 language tag (IETF RFC 5646 / RFC 6067)
	// Geometry and Coordinates give the reference geometry of the dist-asc
	// and dist-desc keys, in the forms of the geo-query's geometry and
	// coordinates (clause 4.10); Geometry defaults to Point.
	Geometry, Coordinates string
	// GeometryParam and CoordinatesParam name the two in errors
	// (default "orderGeometry" and "orderFrom").
	GeometryParam, CoordinatesParam string
}

// Ordering is a parsed ordering of query results (clause 4.23 of v1.9).
//
// Values are compared within one JSON kind by the kind's natural order
// (strings by code point, or by the collation when one is given); across
// kinds numbers come first, then strings, booleans, date-times (the system
// members createdAt, modifiedAt, observedAt) and every other value (arrays,
// objects). An entity without the value sorts after every entity with one,
// in either direction (clause 4.23.2: absent values last). Entities equal
// on every key are ordered by id, so that the order is total and pages of
// one query never overlap or skip an entity.
type Ordering struct {
	Keys []OrderKey
	// Collation is the language tag strings are collated by (IETF BCP 47,
	// with the Unicode "-u-co-" extension of RFC 6067), or the zero tag for
	// code point order.
	Collation    language.Tag
	hasCollation bool
	// From is the reference geometry of the distance keys, set when a key
	// orders by distance.
	From *geo.Geometry
}

// ParseOrdering parses the ordering parameters. It returns nil when
// p.OrderBy holds no key. Errors are BadRequestData pointing at the
// offending parameter and offset.
func ParseOrdering(p OrderParams, ctx *jsonld.Context) (*Ordering, error) {
	if p.GeometryParam == "" {
		p.GeometryParam = "orderGeometry"
	}
	if p.CoordinatesParam == "" {
		p.CoordinatesParam = "orderFrom"
	}
	o := &Ordering{}
	for _, src := range p.OrderBy {
		keys, err := parseOrderBy(src, ctx)
		if err != nil {
			return nil, err
		}
		o.Keys = append(o.Keys, keys...)
	}
	if len(o.Keys) > maxOrderKeys {
		return nil, problem.BadData("orderBy: %d keys exceed the limit of %d", len(o.Keys), maxOrderKeys)
	}
	if p.Collation != "" {
		tag, err := language.Parse(p.Collation)
		if err != nil || len(p.Collation) > 128 {
			return nil, problem.BadData("collation: %q is not a valid IETF BCP 47 language tag (e.g. \"und\", \"de\", \"de-u-co-phonebk\")", p.Collation)
		}
		o.Collation, o.hasCollation = tag, true
	}
	needFrom := false
	for _, k := range o.Keys {
		if k.Dir.dist() {
			needFrom = true
			if k.Path.Entity != MemberNone || k.Path.Member != MemberNone || len(k.Path.Keys) > 0 {
				return nil, problem.BadData("orderBy: %s orders by distance, which needs a GeoProperty, not %q", k.Dir, k.Path.Text)
			}
		}
	}
	if p.Coordinates == "" {
		if needFrom {
			return nil, problem.BadData("orderBy: dist-asc and dist-desc order by the distance from a reference geometry: %s, the coordinates of that geometry, is missing (clause 4.23.3)", p.CoordinatesParam)
		}
		if p.Geometry != "" {
			if _, ok := geo.ParseType(strings.TrimSpace(p.Geometry)); !ok {
				return nil, problem.BadData("%s: %q is not one of Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon", p.GeometryParam, p.Geometry)
			}
		}
		if len(o.Keys) == 0 {
			return nil, nil
		}
		return o, nil
	}
	gt := geo.Point
	if s := strings.TrimSpace(p.Geometry); s != "" {
		t, ok := geo.ParseType(s)
		if !ok || t == geo.GeometryCollection {
			return nil, problem.BadData("%s: %q is not one of Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon", p.GeometryParam, p.Geometry)
		}
		gt = t
	}
	g, err := parseCoordinates(gt, p.Coordinates)
	if err != nil {
		pe := problem.As(err)
		return nil, problem.BadData("%s%s", p.CoordinatesParam, strings.TrimPrefix(pe.Detail, "coordinates"))
	}
	o.From = &g
	if len(o.Keys) == 0 {
		return nil, nil
	}
	return o, nil
}

// ParseOrderBy parses one orderBy text: keys separated by ",", each a path
// and an optional ";" and direction.
func ParseOrderBy(src string, ctx *jsonld.Context) ([]OrderKey, error) {
	return parseOrderBy(src, ctx)
}

func parseOrderBy(src string, ctx *jsonld.Context) ([]OrderKey, error) {
	if err := checkLen("orderBy", src); err != nil {
		return nil, err
	}
	p := &qParser{scanner: scanner{param: "orderBy", src: src}, ctx: ctx}
	p.skipSpace()
	if p.eof() {
		return nil, p.errAt(0, "empty; give keys like \"name;asc,createdAt;desc\"")
	}
	return list(&p.scanner, ",", func() (OrderKey, error) {
		p.skipSpace()
		if p.eof() || p.peek() == ',' {
			return OrderKey{}, p.errAt(p.pos, "expected a member or attribute name, found %s", p.describe(p.pos))
		}
		at := p.pos
		path, err := p.path()
		if err != nil {
			return OrderKey{}, err
		}
		if path.Linked != nil {
			return OrderKey{}, problem.New(problem.OperationNotSupported, "orderBy: ordering by members of linked entities (%q at offset %d) is not supported", path.Text, at)
		}
		k := OrderKey{Path: path}
		p.skipSpace()
		if p.accept(";") {
			p.skipSpace()
			at := p.pos
			d := p.name()
			i := slices.Index(directionNames[:], d)
			if i < 0 {
				return OrderKey{}, p.errAt(at, "direction must be asc, desc, dist-asc or dist-desc, not %q", d)
			}
			k.Dir = Direction(i)
		}
		p.skipSpace()
		if !p.eof() && p.peek() != ',' {
			return OrderKey{}, p.errAt(p.pos, "expected \",\", \";\" or end after %q, found %s", path.Text, p.describe(p.pos))
		}
		return k, nil
	})
}

// sortKey is the value of one entity for one ordering key, reduced to
// what comparison needs.
type sortKey struct {
	rank int // rankNumber … rankAbsent
	num  float64
	str  []byte // a string, or its collation key
	tm   time.Time
}

// The ranks of value kinds across kinds (see Ordering).
const (
	rankNumber = iota
	rankString
	rankBool
	rankTime
	rankOther
	rankAbsent
)

// Sort orders es by o, then by id. It works on a copy of the values it
// needs, computed once per entity.
func (o *Ordering) Sort(es []*ngsild.Entity) {
	var coll *collate.Collator
	var buf collate.Buffer
	if o.hasCollation {
		coll = collate.New(o.Collation)
	}
	type row struct {
		e    *ngsild.Entity
		keys []sortKey
	}
	rows := make([]row, len(es))
	flat := make([]sortKey, len(es)*len(o.Keys))
	for i, e := range es {
		keys := flat[i*len(o.Keys) : (i+1)*len(o.Keys) : (i+1)*len(o.Keys)]
		for j, k := range o.Keys {
			keys[j] = o.key(e, k, coll, &buf)
		}
		rows[i] = row{e, keys}
	}
	slices.SortFunc(rows, func(a, b row) int {
		for j, k := range o.Keys {
			c := compareKeys(a.keys[j], b.keys[j])
			if c != 0 {
				if k.Dir.desc() && a.keys[j].rank != rankAbsent && b.keys[j].rank != rankAbsent {
					return -c
				}
				return c
			}
		}
		return strings.Compare(a.e.ID, b.e.ID)
	})
	for i := range rows {
		es[i] = rows[i].e
	}
}

func compareKeys(a, b sortKey) int {
	if a.rank != b.rank {
		return cmp.Compare(a.rank, b.rank)
	}
	switch a.rank {
	case rankNumber:
		return cmp.Compare(a.num, b.num)
	case rankString:
		return bytes.Compare(a.str, b.str)
	case rankBool:
		return cmp.Compare(a.num, b.num)
	case rankTime:
		return a.tm.Compare(b.tm)
	case rankOther:
		return bytes.Compare(a.str, b.str)
	}
	return 0
}

// key computes e's sort key for k.
func (o *Ordering) key(e *ngsild.Entity, k OrderKey, coll *collate.Collator, buf *collate.Buffer) sortKey {
	if k.Dir.dist() {
		d, ok := o.distance(e, k.Path)
		if !ok {
			return sortKey{rank: rankAbsent}
		}
		return sortKey{rank: rankNumber, num: d}
	}
	v := OrderValue(e, k.Path)
	switch x := v.(type) {
	case nil:
		return sortKey{rank: rankAbsent}
	case float64:
		if math.IsNaN(x) {
			return sortKey{rank: rankAbsent}
		}
		return sortKey{rank: rankNumber, num: x}
	case string:
		if coll != nil {
			return sortKey{rank: rankString, str: coll.KeyFromString(buf, x)}
		}
		return sortKey{rank: rankString, str: []byte(x)}
	case bool:
		n := 0.0
		if x {
			n = 1
		}
		return sortKey{rank: rankBool, num: n}
	case time.Time:
		return sortKey{rank: rankTime, tm: x}
	}
	// Arrays and objects: a deterministic order by their JSON text, so
	// that equal values tie and the order does not depend on the store.
	b, _ := json.Marshal(v)
	return sortKey{rank: rankOther, str: b}
}

// distance returns the distance in metres from the reference geometry to
// the nearest instance of the GeoProperty at path.
func (o *Ordering) distance(e *ngsild.Entity, path Path) (float64, bool) {
	if o.From == nil {
		return 0, false
	}
	best, found := math.Inf(1), false
	for _, a := range e.Attrs[path.Attr] {
		for _, s := range path.Subs {
			if a = a.Sub[s]; a == nil {
				break
			}
		}
		if a == nil || a.Type != ngsild.GeoProperty {
			continue
		}
		g, err := geo.ParseGeometry(a.Value)
		if err != nil {
			continue
		}
		best, found = math.Min(best, GeometryDistance(*o.From, g)), true
	}
	return best, found
}

// OrderValue returns the value entity e is ordered by for path, or nil when
// e has none: an entity member; else the attribute's default instance (or
// its first instance when it has no default one), its sub-attributes and
// member, the value (a Relationship's object, a VocabProperty's vocab, a
// LanguageProperty's string in the language of the first key, or in the
// first language when the key is "*"), then the "[key]" steps into a
// compound value, taking the first element of an array on the way. A value
// given in JSON-LD form ({"@value": ...}) is unwrapped.
func OrderValue(e *ngsild.Entity, path Path) any {
	switch path.Entity {
	case MemberID:
		return e.ID
	case MemberType:
		if len(e.Types) > 0 {
			return e.Types[0]
		}
		return nil
	case MemberScope:
		if len(e.Scope) > 0 {
			return e.Scope[0]
		}
		return nil
	case MemberCreatedAt:
		return nonZeroTime(e.CreatedAt)
	case MemberModifiedAt:
		return nonZeroTime(e.ModifiedAt)
	}
	a := e.Instance(path.Attr, "")
	if a == nil {
		if insts := e.Attrs[path.Attr]; len(insts) > 0 {
			a = insts[0]
		}
	}
	for _, s := range path.Subs {
		if a == nil {
			return nil
		}
		a = a.Sub[s]
	}
	if a == nil {
		return nil
	}
	switch path.Member {
	case MemberObservedAt:
		return nonZeroTime(a.ObservedAt)
	case MemberCreatedAt:
		return nonZeroTime(a.CreatedAt)
	case MemberModifiedAt:
		return nonZeroTime(a.ModifiedAt)
	case MemberUnitCode:
		return nonEmpty(a.UnitCode)
	case MemberDatasetID:
		return nonEmpty(a.DatasetID)
	}
	var v any
	keys := path.Keys
	switch a.Type {
	case ngsild.Relationship, ngsild.ListRelationship:
		v = a.Object
	case ngsild.LanguageProperty:
		if len(keys) == 0 || keys[0] == "*" {
			langs := make([]string, 0, len(a.LanguageMap))
			for l := range a.LanguageMap {
				langs = append(langs, l)
			}
			if len(langs) == 0 {
				return nil
			}
			slices.Sort(langs)
			v = a.LanguageMap[langs[0]]
		} else {
			v = a.LanguageMap[keys[0]]
		}
		if len(keys) > 0 {
			keys = keys[1:]
		}
	default:
		v = a.Value
	}
	v = unwrap(v)
	for _, k := range keys {
		if arr, ok := v.([]any); ok && len(arr) > 0 {
			v = unwrap(arr[0])
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if k == "*" {
			names := make([]string, 0, len(m))
			for n := range m {
				names = append(names, n)
			}
			if len(names) == 0 {
				return nil
			}
			slices.Sort(names)
			k = names[0]
		}
		v = unwrap(m[k])
	}
	if arr, ok := v.([]any); ok && len(arr) == 1 {
		v = unwrap(arr[0])
	}
	return v
}

// unwrap returns the @value of a JSON-LD value object, or v.
func unwrap(v any) any {
	if m, ok := v.(map[string]any); ok {
		if x, ok := m["@value"]; ok {
			return x
		}
	}
	return v
}

func nonZeroTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
