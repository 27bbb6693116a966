package embedded

import (
	"context"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// chunk is how many candidates a query takes from the indexes per hold of
// the tenant's read lock; decoding and Filter run outside the lock.
const chunk = 256

type cand struct {
	id   string
	data []byte
}

// plan is a query resolved against the symbol table.
type plan struct {
	q      store.Query
	types  []uint32 // sorted; nil = any
	attrs  []uint32 // sorted; nil = any
	filter []uint32 // sorted symbols of q.FilterAttrs; nil = decode whole
	prefix string   // every id matching q.IDPattern starts with it
	// geoSym is the symbol of q.GeoAttr (geoOK false: never seen, no match).
	geoSym uint32
	geoOK  bool
	// skipped counts the leading matches the source jumped over by position
	// (GetAt on the counted B-tree) instead of visiting them: a deep offset
	// into an index whose every entry matches costs O(log n).
	skipped int
}

// Query implements store.Store. Candidates come from the narrowest index
// (ids, then the smaller of the type and attribute indexes, then an id-prefix
// range of IDPattern, then all ids), in ascending id order; the other
// conditions are checked on the index entries, Filter on decoded entities.
func (s *Store) Query(ctx context.Context, tenantName string, q store.Query) (store.Result, error) {
	start := time.Now()
	res, err := s.query(ctx, tenantName, q)
	s.metrics.observe(opQuery, start, err)
	return res, err
}

func (s *Store) query(ctx context.Context, tenantName string, q store.Query) (store.Result, error) {
	if s.closed.Load() {
		return store.Result{}, store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return store.Result{}, err
	}
	t := s.tenant(tenantName)
	if t == nil {
		return store.Result{}, store.ErrNoTenant
	}
	p, ok := s.plan(q)
	if !ok {
		return store.Result{}, nil
	}
	q.Offset = max(q.Offset, 0)
	q.Limit = max(q.Limit, 0)
	if q.Limit == 0 && !q.Count {
		return store.Result{}, nil
	}

	next := p.source(t)
	var res store.Result
	known := -1 // the count, when the index gave it
	seen := 0   // candidates that passed every condition so far
	for {
		if err := ctx.Err(); err != nil {
			return store.Result{}, err
		}
		t.mu.RLock()
		cs, fast, done := next()
		t.mu.RUnlock()
		if fast >= 0 {
			known = fast
		}
		seen += p.skipped
		p.skipped = 0
		for _, c := range cs {
			var ent *ngsild.Entity
			if q.Filter != nil {
				var e *ngsild.Entity
				var err error
				if p.filter == nil {
					e, err = s.cache.decode(s.syms, c.id, c.data)
				} else {
					e, err = decodePartial(s.syms, c.id, c.data, p.filter)
				}
				if err != nil {
					return store.Result{}, err
				}
				if !q.Filter(e) {
					continue
				}
				if p.filter == nil {
					ent = e
				}
			}
			seen++
			if seen <= q.Offset || len(res.Entities) >= q.Limit {
				continue
			}
			if ent == nil {
				e, err := s.cache.decode(s.syms, c.id, c.data)
				if err != nil {
					return store.Result{}, err
				}
				ent = e
			}
			res.Entities = append(res.Entities, ent)
		}
		full := len(res.Entities) >= q.Limit
		if done || (full && (!q.Count || known >= 0)) {
			break
		}
	}
	if q.Count {
		res.Count = seen
		if known >= 0 {
			res.Count = known
		}
	}
	return res, nil
}

// plan resolves the query's types and attributes to symbols; ok is false
// when the query cannot match anything (e.g. a type never seen).
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
	if q.GeoBox != nil {
		if p.geoSym, p.geoOK = s.syms.lookup(q.GeoAttr); !p.geoOK {
			return p, false
		}
	}
	if q.IDPattern != nil {
		p.prefix = literalPrefix(q.IDPattern)
	}
	return p, true
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

// match checks the conditions that the driving index does not guarantee.
func (p *plan) match(r *rec, skipTypes, skipAttrs bool) bool {
	if p.q.IDPattern != nil && !p.q.IDPattern.MatchString(r.id) {
		return false
	}
	if !skipTypes && p.types != nil && !intersects(r.types(), p.types) {
		return false
	}
	if !skipAttrs && p.attrs != nil && !intersects(r.attrs(), p.attrs) {
		return false
	}
	return true
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

// source returns the candidate generator of the plan. Each call (made with
// t.mu read-locked) returns the next chunk of candidates in ascending id
// order that pass the index conditions; fast >= 0 is the total count when it
// is known without scanning, and done reports the end.
func (p *plan) source(t *tenant) func() (cs []cand, fast int, done bool) {
	t.mu.RLock()
	var (
		ids       []string // a sorted list of ids to look up, or
		tree      *recTree // one tree to scan in order
		skipTypes bool
		skipAttrs bool
	)
	sum := func(syms []uint32, trees map[uint32]*recTree) int {
		n := 0
		for _, s := range syms {
			if tr := trees[s]; tr != nil {
				n += tr.Len()
			}
		}
		return n
	}
	switch {
	case p.q.GeoBox != nil:
		ids = p.geoCandidates(t)
	case p.q.IDs != nil:
		ids = slices.Clone(p.q.IDs)
		slices.Sort(ids)
		ids = slices.Compact(ids)
	case p.types != nil && (p.attrs == nil || sum(p.types, t.types) <= sum(p.attrs, t.attrs)):
		tree, ids = union(p.types, t.types)
		skipTypes = true
	case p.attrs != nil:
		tree, ids = union(p.attrs, t.attrs)
		skipAttrs = true
	default:
		tree = t.ordered
	}
	t.mu.RUnlock()

	fast := -1
	if p.q.Filter == nil && p.q.IDPattern == nil && p.q.IDs == nil &&
		(p.types == nil || skipTypes) && (p.attrs == nil || skipAttrs) {
		fast = len(ids)
		if tree != nil {
			fast = -2 // read under the lock, below
		}
	}
	if tree == nil && ids == nil {
		return func() ([]cand, int, bool) { return nil, max(fast, -1), true }
	}

	var last string
	started := false
	first := true
	return func() ([]cand, int, bool) {
		f := -1
		if first {
			first = false
			f = fast
			if fast == -2 {
				f = tree.Len()
			}
		}
		cs := make([]cand, 0, chunk)
		if tree == nil {
			for len(ids) > 0 && len(cs) < chunk {
				id := ids[0]
				ids = ids[1:]
				if r := t.byID[id]; r != nil && p.match(r, skipTypes, skipAttrs) {
					cs = append(cs, cand{r.id, r.data})
				}
			}
			return cs, f, len(ids) == 0
		}
		pivot := &rec{id: p.prefix}
		if started {
			pivot.id = last
		} else if f >= 0 && p.prefix == "" && p.q.Offset > 0 {
			// Every entry of the tree matches: start at the offset.
			skip := min(p.q.Offset, tree.Len())
			if r, ok := tree.GetAt(skip); ok {
				pivot.id = r.id
				p.skipped = skip
			} else {
				p.skipped = tree.Len()
				return cs, f, true
			}
		}
		done := true
		tree.Ascend(pivot, func(r *rec) bool {
			if started && r.id == last {
				return true
			}
			if !strings.HasPrefix(r.id, p.prefix) {
				return false
			}
			if len(cs) == chunk {
				done = false
				return false
			}
			last = r.id
			if p.match(r, skipTypes, skipAttrs) {
				cs = append(cs, cand{r.id, r.data})
			}
			return true
		})
		started = true
		return cs, f, done
	}
}

// union returns the one tree of the symbols, or, when there are several,
// the sorted ids of all their entities. The caller holds t.mu.
func union(syms []uint32, trees map[uint32]*recTree) (*recTree, []string) {
	var present []*recTree
	for _, s := range syms {
		if tr := trees[s]; tr != nil {
			present = append(present, tr)
		}
	}
	switch len(present) {
	case 0:
		return nil, nil
	case 1:
		return present[0], nil
	}
	var ids []string
	for _, tr := range present {
		tr.Scan(func(r *rec) bool {
			ids = append(ids, r.id)
			return true
		})
	}
	slices.Sort(ids)
	return nil, slices.Compact(ids)
}

// Within returns, in ascending order, the ids of the tenant's entities with an
// instance of the GeoProperty attr (expanded name) whose bounding box
// intersects the box lo–hi (longitude, latitude). They are candidates: the
// caller checks the exact geometry (e.g. by passing them as Query.IDs with a
// geometry Filter).
func (s *Store) Within(ctx context.Context, tenantName, attr string, lo, hi [2]float64) ([]string, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := s.tenant(tenantName)
	if t == nil {
		return nil, store.ErrNoTenant
	}
	sym, ok := s.syms.lookup(attr)
	if !ok {
		return nil, nil
	}
	var ids []string
	t.mu.RLock()
	if tr := t.geo[sym]; tr != nil {
		tr.Search(lo, hi, func(_, _ [2]float64, r *rec) bool {
			ids = append(ids, r.id)
			return true
		})
	}
	t.mu.RUnlock()
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// metresPerDegree is the length of one degree of latitude (and of longitude
// at the equator) on the WGS 84 mean sphere.
const metresPerDegree = 111_195.0

// Near returns the candidate ids (as Within) of entities whose attr lies
// within metres of the point (lon, lat): those whose bounding box meets the
// bounding box of that circle.
func (s *Store) Near(ctx context.Context, tenantName, attr string, lon, lat, metres float64) ([]string, error) {
	dLat := metres / metresPerDegree
	dLon := 360.0
	if c := math.Cos(lat * math.Pi / 180); c > 1e-9 {
		dLon = min(dLat/c, 360)
	}
	if lat-dLat <= -90 || lat+dLat >= 90 {
		dLon = 360 // the circle covers a pole
	}
	lo := [2]float64{lon - dLon, lat - dLat}
	hi := [2]float64{lon + dLon, lat + dLat}
	ids, err := s.Within(ctx, tenantName, attr, lo, hi)
	if err != nil || (lo[0] >= -180 && hi[0] <= 180) {
		return ids, err
	}
	// The box crosses the antimeridian: search the wrapped part too.
	wlo, whi := lo, hi
	if lo[0] < -180 {
		wlo[0], whi[0] = lo[0]+360, 180
	} else {
		wlo[0], whi[0] = -180, hi[0]-360
	}
	more, err := s.Within(ctx, tenantName, attr, wlo, whi)
	if err != nil {
		return nil, err
	}
	ids = append(ids, more...)
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// geoCandidates returns, sorted, the ids of the entities with a GeoAttr
// instance whose box meets GeoBox and that pass the index conditions (and
// IDs, when given). The caller holds t.mu.
func (p *plan) geoCandidates(t *tenant) []string {
	sym, ok := p.geoSym, p.geoOK
	if !ok {
		return []string{}
	}
	tr := t.geo[sym]
	if tr == nil {
		return []string{}
	}
	var want map[string]bool
	if p.q.IDs != nil {
		want = make(map[string]bool, len(p.q.IDs))
		for _, id := range p.q.IDs {
			want[id] = true
		}
	}
	b := p.q.GeoBox
	ids := []string{}
	tr.Search([2]float64{b[0], b[1]}, [2]float64{b[2], b[3]}, func(_, _ [2]float64, r *rec) bool {
		if (want == nil || want[r.id]) && p.match(r, false, false) {
			ids = append(ids, r.id)
		}
		return true
	})
	slices.Sort(ids)
	return slices.Compact(ids)
}
