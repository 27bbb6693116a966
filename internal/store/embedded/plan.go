package embedded

import (
	"math"
	"regexp"
	"regexp/syntax"
	"slices"

	"github.com/qala-city/qala/internal/geo"
	"github.com/qala-city/qala/internal/store"
)

// plan is a query resolved against the symbol table, and the choice of
// where its candidates come from.
//
// Candidates come either from a walk of id-ordered index entries (the ids
// asked for, the type or attribute B-trees, or all entities; an IDPattern's
// literal prefix narrows the range) that stops as soon as the page is full,
// or from a collection of the entries of one selective index (a value
// index's range, or the R-tree partitions under the geo box), sorted by id
// afterwards. The plan estimates the cost of each from index sizes (value
// ranges are counted exactly in the counted B-trees; geo hits are estimated
// from the density of each R-tree partition) and takes the cheapest. Every
// condition the source does not guarantee is checked on the index entries
// and the encoding (value conditions, point geometries) before anything is
// decoded; only Filter and non-point geometries need a decoded entity.
type plan struct {
	q      store.Query
	types  []uint32 // sorted; nil = any
	attrs  []uint32 // sorted; nil = any
	filter []uint32 // sorted symbols of q.FilterAttrs; nil = decode whole
	prefix string   // every id matching q.IDPattern starts with it
	// geoSym is the symbol of q.GeoAttr, when q has a geo condition.
	geoSym uint32
	geo    bool // q.GeoBox or q.GeoMatch is set
	conds  []pcond
	// partial lists the attributes to decode for Filter and geometry
	// checks (sorted; nil = decode whole).
	partial []uint32
	// skipped counts the leading matches the source jumped over by position
	// (GetAt on the counted B-tree) instead of visiting them: a deep offset
	// into an index whose every entry matches costs O(log n).
	skipped int
}

// plan resolves the query's names to symbols; ok is false when the query
// cannot match anything (e.g. a type or attribute never seen).
func (s *Store) plan(q store.Query) (p plan, ok bool) {
	p.q = q
	resolve := func(names []string) ([]uint32, bool) {
		if len(names) == 0 {
			return nil, true
		}
		ids := make([]uint32, 0, len(names))
		for _, n := range names {
			if id, ok := s.syms.lookup(n); ok {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		return ids, len(ids) > 0
	}
	if p.types, ok = resolve(q.Types); !ok {
		return p, false
	}
	if p.attrs, ok = resolve(q.Attrs); !ok {
		return p, false
	}
	if q.FilterAttrs != nil {
		p.filter = []uint32{} // attributes never seen are in no entity
		for _, n := range q.FilterAttrs {
			if id, ok := s.syms.lookup(n); ok {
				p.filter = append(p.filter, id)
			}
		}
		slices.Sort(p.filter)
	}
	if q.IDs != nil && len(q.IDs) == 0 {
		return p, false
	}
	if q.GeoBox != nil || q.GeoMatch != nil {
		p.geo = true
		if p.geoSym, ok = s.syms.lookup(q.GeoAttr); !ok {
			return p, false
		}
	}
	for i := range q.Values {
		c := &q.Values[i]
		sym, ok := s.syms.lookup(c.Attr)
		if !ok {
			return p, false
		}
		if c.Strings != nil {
			// The index scans each string once: a repeated one (q's value
			// list "a","a") would hand out its entities twice.
			dc := *c
			dc.Strings = slices.Compact(slices.Sorted(slices.Values(c.Strings)))
			c = &dc
		}
		indexed := true
		for _, s := range c.Strings {
			indexed = indexed && len(s) <= maxIndexedString
		}
		p.conds = append(p.conds, pcond{ValueCond: c, sym: sym, indexed: indexed})
	}
	if q.IDPattern != nil {
		p.prefix = literalPrefix(q.IDPattern)
	}
	if q.Filter == nil {
		p.partial = []uint32{p.geoSym}
	} else if p.filter != nil {
		p.partial = p.filter
		if p.geo && !slices.Contains(p.partial, p.geoSym) {
			p.partial = append(slices.Clone(p.partial), p.geoSym)
			slices.Sort(p.partial)
		}
	}
	return p, true
}

// need returns how many matches fill the page: Offset + Limit, saturated.
func (p *plan) need() int {
	if p.q.Limit > math.MaxInt-p.q.Offset {
		return math.MaxInt
	}
	return p.q.Offset + p.q.Limit
}

// literalPrefix returns the literal that every id matching re starts with
// ("" when re is not anchored at the start by a case-sensitive literal).
func literalPrefix(re *regexp.Regexp) string {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return ""
	}
	if tree.Op != syntax.OpConcat || len(tree.Sub) < 2 || tree.Sub[0].Op != syntax.OpBeginText {
		return ""
	}
	lit := tree.Sub[1]
	if lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 {
		return ""
	}
	return string(lit.Rune)
}

// Relative costs of the plan's steps, in units of one visit of an index
// entry that reads its record and body (a cache miss or less: records lie
// in memory roughly in the order they were written). The ratios come from
// profiles of the 1M-entity city (see BENCHMARKS.md): a walk of a 2 km
// square's type visits ~930 entries in ~60 µs, a collection of its ~2,150
// R-tree hits with exact point tests takes ~240 µs. Only their order of
// magnitude matters: where the choice matters, the sources differ by more.
const (
	costVisit  = 1.0  // visit an index entry, read its record and body
	costNums   = 0.3  // check numeric conditions on the body's inline numbers
	costCond   = 3.0  // check other value conditions on the encoding
	costBox    = 0.1  // test a box
	costPoint  = 0.5  // exact geo test of a point (plus the size of the query shape)
	costDecode = 40.0 // decode a geometry for the exact test
	costHit    = 0.3  // take one entry from a value range or an R-tree search
	costKey    = 0.05 // compare an R-tree hit's order key with the page's last
	costSort   = 0.3  // per element and halving, to sort collected candidates
)

// maxCollect bounds the entries a collecting source may take: a query whose
// cheapest collection would hold more walks an index instead, so that no
// query holds more than maxCollect candidates at once.
const maxCollect = 1 << 16

// choice is a source the planner weighs.
type choice struct {
	kind  int // srcWalk, srcValue or srcGeo
	cond  int // srcValue: the condition whose index is scanned
	cost  float64
	parts []*geoPart // srcGeo: the partitions to search
	exact bool       // srcGeo: the partitions are of points only
	size  int        // expected candidates of a collection
}

const (
	srcWalk = iota
	srcValue
	srcGeo
)

// indexValues builds the value indexes the plan's conditions can use and
// that do not exist yet (see tenant.buildValues). It takes t.mu.
func (p *plan) indexValues(t *tenant) {
	missing := func() bool {
		for i := range p.conds {
			if c := &p.conds[i]; c.indexed && t.vals[c.sym] == nil && t.attrs[c.sym] != nil {
				return true
			}
		}
		return false
	}
	t.mu.RLock()
	build := missing()
	t.mu.RUnlock()
	if !build {
		return
	}
	for i := range p.conds {
		if c := &p.conds[i]; c.indexed {
			t.buildValues(c.sym)
		}
	}
}

// choose picks the cheapest source. The caller holds t.mu.
func (p *plan) choose(t *tenant, w *walk) choice {
	best := choice{kind: srcWalk, cost: math.Inf(1)}
	if p.q.IDs != nil || (p.q.Filter == nil && len(p.conds) == 0 && !p.geo) {
		return best
	}
	n := float64(max(w.size(), 1))
	need := float64(p.need())
	// Expected fractions of the walked entries that pass each condition:
	// the value conditions (counted exactly in their index, relative to the
	// entities that have the attribute), the geo box (estimated from the
	// R-tree partitions), its exact test, and Filter (unknown: a half).
	dFilter, dExact := 1.0, 1.0
	if p.q.Filter != nil {
		dFilter = 0.5
	}
	if p.q.GeoMatch != nil {
		dExact = 0.8
	}
	dConds := 1.0
	sel := make([]float64, len(p.conds))
	counts := make([]int, len(p.conds))
	for i := range p.conds {
		c := &p.conds[i]
		sel[i], counts[i] = 0.5, -1
		if x := t.vals[c.sym]; x != nil && c.indexed {
			counts[i] = x.count(c)
			if has := t.attrs[c.sym]; has != nil && has.Len() > 0 {
				sel[i] = min(1, float64(counts[i])/float64(has.Len()))
			}
		} else if c.indexed && t.attrs[c.sym] == nil {
			sel[i], counts[i] = 0, 0 // no entity has the attribute
		}
		dConds *= sel[i]
	}
	var parts []*geoPart
	hits, geoFrac, exact, shape := 0.0, 1.0, true, p.shapeCost()
	if p.q.GeoBox != nil {
		parts, exact = p.geoParts(t)
		for _, g := range parts {
			hits += g.estimate(p.q.GeoBox)
		}
		geoFrac = min(1, hits/n)
	}
	dens := dFilter * dConds * geoFrac * dExact

	condCost := 0.0
	for i := range p.conds {
		if p.conds[i].Strings == nil {
			condCost = max(condCost, costNums)
		} else {
			condCost = costCond
		}
	}
	perVisit := costVisit + condCost
	if p.geo {
		perVisit += costBox + geoFrac*shape
	}
	examined := n
	if !p.q.Count {
		examined = min(n, need/max(dens, 1/n))
	}
	best.cost = examined * perVisit
	// A collection whose hits are all matches keeps the page's worth of
	// smallest ids as it goes: a comparison per hit, of order keys when the
	// hits come from one R-tree partition, of ids (read from the record)
	// otherwise. Else it sorts every hit.
	final := p.q.Filter == nil && (exact || p.q.GeoMatch == nil)
	sortCost := func(m float64, keyed bool) float64 {
		switch {
		case final && keyed:
			return m * costKey
		case final:
			return m * costVisit
		}
		return m*math.Log2(m+2)*costSort + m*costVisit
	}
	for i := range p.conds {
		if counts[i] < 0 || counts[i] > maxCollect {
			continue
		}
		m := float64(counts[i])
		per := costHit + costVisit
		if len(p.conds) > 1 {
			per += condCost
		}
		if p.geo {
			per += costBox + shape
		}
		kept := m * dConds / max(sel[i], 1e-9) * geoFrac * dExact
		if cost := m*per + sortCost(kept, false); cost < best.cost {
			best = choice{kind: srcValue, cond: i, cost: cost, size: int(kept)}
		}
	}
	if p.q.GeoBox != nil && hits <= maxCollect {
		per := costHit + shape
		if !exact {
			per += costDecode
		}
		deref := len(p.conds) > 0 || p.q.IDPattern != nil || (p.types == nil && p.attrs != nil)
		if deref {
			per += costVisit + condCost
		}
		kept := hits * dExact * dConds
		if cost := hits*per + sortCost(kept, len(parts) == 1 && !deref); cost < best.cost {
			best = choice{kind: srcGeo, cost: cost, parts: parts, exact: exact, size: int(kept)}
		}
	}
	return best
}

// shapeCost is the relative cost of one exact geo test of a point.
func (p *plan) shapeCost() float64 {
	if p.q.GeoMatch == nil {
		return 0
	}
	return costPoint
}

// geoParts returns the R-tree partitions of the query's geo attribute
// (only those of its types, when it names types), and whether they all
// hold points. The caller holds t.mu.
func (p *plan) geoParts(t *tenant) (parts []*geoPart, points bool) {
	points = true
	for k, g := range t.geo {
		if k.attr != p.geoSym {
			continue
		}
		if p.types != nil {
			if _, ok := slices.BinarySearch(p.types, k.typ); !ok {
				continue
			}
		}
		parts = append(parts, g)
		points = points && k.point
	}
	return parts, points
}

// estimate returns the expected number of entries of g whose box meets b,
// assuming they are spread evenly over g's bounds.
func (g *geoPart) estimate(b *[4]float64) float64 {
	n := float64(g.tr.Len())
	lo, hi := g.tr.Bounds()
	frac := func(l, h, bl, bh float64) float64 {
		il, ih := max(l, bl), min(h, bh)
		switch {
		case il > ih:
			return 0
		case h <= l:
			return 1
		}
		return max((ih-il)/(h-l), 0)
	}
	return n * frac(lo[0], hi[0], b[0], b[2]) * frac(lo[1], hi[1], b[1], b[3])
}

// boxMeets reports whether box g meets b {minLon, minLat, maxLon, maxLat}.
func boxMeets(g *geoBox, b *[4]float64) bool {
	return g.min[0] <= b[2] && b[0] <= g.max[0] && g.min[1] <= b[3] && b[1] <= g.max[1]
}

// checker tests the conditions a source does not guarantee on index
// entries and encodings. One per query; it is not safe for concurrent use.
type checker struct {
	p                    *plan
	skipTypes, skipAttrs bool
	skipGeo              bool // the source tested the geo condition
	conds                *condState
	pt                   [1]geo.Pos
}

func newChecker(p *plan) *checker {
	ck := &checker{p: p}
	if len(p.conds) > 0 {
		ck.conds = newCondState(p.conds)
	}
	return ck
}

// check reports whether r passes; geoCheck reports that r has non-point
// geometries whose exact test needs the entity decoded. The caller holds
// t.mu.
func (ck *checker) check(r *rec) (ok, geoCheck bool) {
	p := ck.p
	if p.q.IDPattern != nil && !p.q.IDPattern.MatchString(r.id) {
		return false, false
	}
	if !ck.skipTypes && p.types != nil && !intersects(r.types(), p.types) {
		return false, false
	}
	if !ck.skipAttrs && p.attrs != nil && !intersects(r.attrs(), p.attrs) {
		return false, false
	}
	if p.geo && !ck.skipGeo {
		if ok, geoCheck = ck.geo(r); !ok {
			return false, false
		}
	}
	if ck.conds != nil && !ck.conds.match(&r.body) {
		return false, false
	}
	return true, geoCheck
}

// geo tests r's geometries of the geo attribute: ok when one of them
// passes or may pass, undecided when only non-point ones may.
func (ck *checker) geo(r *rec) (ok, undecided bool) {
	p := ck.p
	boxes := r.geo()
	for i := range boxes {
		g := &boxes[i]
		if g.attr != p.geoSym || (p.q.GeoBox != nil && !boxMeets(g, p.q.GeoBox)) {
			continue
		}
		switch {
		case p.q.GeoMatch == nil:
			return true, false
		case g.point:
			if ck.point(g.min) {
				return true, false
			}
		default:
			undecided = true
		}
	}
	return undecided, undecided
}

// point runs the exact geo test on a point.
func (ck *checker) point(pos [2]float64) bool {
	ck.pt[0] = geo.Pos{Lon: pos[0], Lat: pos[1]}
	return ck.p.q.GeoMatch(geo.Geometry{Type: geo.Point, Coords: ck.pt[:]})
}

// intersects reports whether two sorted sets share an element.
func intersects(a, b []uint32) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			return true
		}
	}
	return false
}

// prefixEnd returns the smallest string above every string with prefix
// ("" when there is none).
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// rankPrefix returns how many entries of tr have ids starting with prefix.
func rankPrefix(tr *recTree, prefix string) int {
	lo := searchBTree(tr, func(r *rec) bool { return r.id >= prefix })
	end := prefixEnd(prefix)
	if end == "" {
		return tr.Len() - lo
	}
	return searchBTree(tr, func(r *rec) bool { return r.id >= end }) - lo
}
