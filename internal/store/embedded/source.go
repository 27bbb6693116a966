package embedded

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// chunk is how many candidates a walk takes from the indexes per hold of
// the tenant's read lock; decoding and Filter run outside the lock.
const chunk = 256

// cand is a candidate that passed every condition checked on the indexes.
type cand struct {
	id   string
	data []byte
	// geoCheck: the entity has non-point geometries that may satisfy
	// GeoMatch; the exact test needs them decoded.
	geoCheck bool
}

// source yields a query's candidates in ascending id order. next returns
// the next chunk (valid until the next call); fast ≥ 0 (on the first call)
// is the number of matches when the source knows it without the rest of the
// query looking at each; done reports the end. A source takes t.mu itself
// when it needs it.
type source interface {
	next(t *tenant) (cs []cand, fast int, done bool)
}

// empty is the source of a query that cannot match.
type empty struct{}

func (empty) next(*tenant) ([]cand, int, bool) { return nil, 0, true }

// source builds the plan's source. It takes t.mu.
func (p *plan) source(t *tenant) source {
	t.mu.RLock()
	defer t.mu.RUnlock()
	w := p.walk(t)
	if w == nil {
		return empty{}
	}
	switch c := p.choose(t, w); c.kind {
	case srcValue, srcGeo:
		if l := p.collect(t, c); l != nil {
			return l
		}
	}
	return w
}

// walk visits id-ordered index entries: the ids asked for, or the union of
// the type or attribute B-trees (the smaller), or all entities, within the
// literal prefix of IDPattern.
type walk struct {
	p     *plan
	ck    *checker
	ids   []string   // sorted ids to look up, or
	trees []*recTree // trees to merge in id order
	// all: every entry of the one tree matches (no condition left to
	// check), so the count is the tree's size and an offset a position.
	all     bool
	last    string
	started bool
	first   bool
	sc      *scratch // buffers, taken from scratchPool on the first call
	n       int      // entries to visit in the next call: small first, up to chunk
}

// scratch is the reusable memory of a walk: the entries taken from the
// trees and the candidates of the last call (reused by the next). Queries
// share them through scratchPool: a page of 20 would otherwise allocate
// ~6 KB of growing buffers, and with a million entities in the heap every
// byte allocated costs its share of a long GC mark.
type scratch struct {
	buf []*rec
	cs  []cand
	// used is the most entries of buf and cs a walk filled: what release
	// clears (a page of 20 fills few of their 256).
	used int
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{buf: make([]*rec, 0, chunk), cs: make([]cand, 0, chunk)}
}}

// release returns the walk's buffers to the pool; the candidates it handed
// out are invalid from then on.
func (w *walk) release() {
	sc := w.sc
	if sc == nil {
		return
	}
	w.sc = nil
	if cap(sc.buf) > 4*chunk || cap(sc.cs) > 4*chunk {
		return // grown by a many-tree walk: let it go
	}
	clear(sc.buf[:min(sc.used, cap(sc.buf))])
	clear(sc.cs[:min(sc.used, cap(sc.cs))])
	sc.buf, sc.cs, sc.used = sc.buf[:0], sc.cs[:0], 0
	scratchPool.Put(sc)
}

// walk returns the plan's walk, nil when no entity can match. The caller
// holds t.mu.
func (p *plan) walk(t *tenant) *walk {
	w := &walk{p: p, ck: newChecker(p), first: true, n: min(chunk, max(16, p.need()))}
	sum := func(syms []uint32, trees map[uint32]*recTree) int {
		n := 0
		for _, s := range syms {
			if tr := trees[s]; tr != nil {
				n += tr.Len()
			}
		}
		return n
	}
	present := func(syms []uint32, trees map[uint32]*recTree) []*recTree {
		var out []*recTree
		for _, s := range syms {
			if tr := trees[s]; tr != nil {
				out = append(out, tr)
			}
		}
		return out
	}
	switch {
	case p.q.IDs != nil:
		w.ids = slices.Clone(p.q.IDs)
		slices.Sort(w.ids)
		w.ids = slices.Compact(w.ids)
	case p.types != nil && (p.attrs == nil || sum(p.types, t.types) <= sum(p.attrs, t.attrs)):
		w.trees = present(p.types, t.types)
		w.ck.skipTypes = true
	case p.attrs != nil:
		w.trees = present(p.attrs, t.attrs)
		w.ck.skipAttrs = true
	default:
		w.trees = []*recTree{t.ordered}
	}
	if w.ids == nil && len(w.trees) == 0 {
		return nil
	}
	w.all = len(w.trees) == 1 && p.q.Filter == nil && p.q.IDPattern == nil && len(p.conds) == 0 && !p.geo &&
		(p.types == nil || w.ck.skipTypes) && (p.attrs == nil || w.ck.skipAttrs)
	if w.all {
		w.n = min(chunk, max(16, p.q.Limit)) // the offset is a jump
	}
	return w
}

// size returns how many entries the walk would visit at most. The caller
// holds t.mu.
func (w *walk) size() int {
	if w.ids != nil {
		return len(w.ids)
	}
	n := 0
	for _, tr := range w.trees {
		if w.p.prefix != "" {
			n += rankPrefix(tr, w.p.prefix)
		} else {
			n += tr.Len()
		}
	}
	return n
}

func (w *walk) next(t *tenant) ([]cand, int, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	p := w.p
	f := -1
	if w.first {
		w.first = false
		if w.all {
			f = w.trees[0].Len()
		}
	}
	n := w.n
	w.n = min(2*n, chunk)
	// The caller is done with the last chunk when it asks for the next.
	if w.sc == nil {
		w.sc = scratchPool.Get().(*scratch)
	}
	cs := w.sc.cs[:0]
	defer func() {
		w.sc.used = max(w.sc.used, len(cs))
		w.sc.cs = cs[:0]
	}()
	add := func(r *rec) {
		if ok, geoCheck := w.ck.check(r); ok {
			cs = append(cs, cand{r.id, r.data(), geoCheck})
		}
	}
	if w.ids != nil {
		for len(w.ids) > 0 && len(cs) < n {
			id := w.ids[0]
			w.ids = w.ids[1:]
			if r := t.byID.Get(id); r != nil {
				add(r)
			}
		}
		return cs, f, len(w.ids) == 0
	}
	pivot := &rec{id: p.prefix}
	if w.started {
		pivot.id = w.last
	} else if f >= 0 && p.q.Offset > 0 {
		// Every entry of the tree matches: start at the offset.
		tr := w.trees[0]
		skip := min(p.q.Offset, tr.Len())
		if r, ok := tr.GetAt(skip); ok {
			pivot.id = r.id
			p.skipped = skip
		} else {
			p.skipped = tr.Len()
			return cs, f, true
		}
	}
	// Take up to n entries after pivot from each tree; when several trees
	// give more than n in all, the first n of their merge in id order are
	// complete (each tree that was cut off gave n entries below its cut).
	w.sc.buf = w.sc.buf[:0]
	done := true
	for _, tr := range w.trees {
		k := 0
		tr.Ascend(pivot, func(r *rec) bool {
			if w.started && r.id <= w.last {
				return true
			}
			if !strings.HasPrefix(r.id, p.prefix) {
				return false
			}
			if k == n {
				done = false
				return false
			}
			k++
			w.sc.buf = append(w.sc.buf, r)
			return true
		})
	}
	w.sc.used = max(w.sc.used, len(w.sc.buf)) // before a cut below
	if len(w.trees) > 1 {
		slices.SortFunc(w.sc.buf, func(a, b *rec) int { return strings.Compare(a.id, b.id) })
		w.sc.buf = slices.CompactFunc(w.sc.buf, func(a, b *rec) bool { return a == b })
		if len(w.sc.buf) > n {
			w.sc.buf = w.sc.buf[:n]
			done = false
		}
	}
	for _, r := range w.sc.buf {
		add(r)
	}
	if len(w.sc.buf) > 0 {
		w.last = w.sc.buf[len(w.sc.buf)-1].id
	}
	w.started = true
	return cs, f, done
}

// list is a source of collected candidates in id order.
type list struct {
	cs     []cand
	sorted bool
	fast   int
}

// hit is an entry a collection took: its record, and whether the exact geo
// test needs the entity decoded.
type hit struct {
	r        *rec
	geoCheck bool
}

// collect takes every entry of the chosen index (a value range or the R-tree
// partitions) that passes the other conditions; nil when the index holds
// more than maxCollect of them after all (the caller then walks). The
// caller holds t.mu.
//
// When every hit is sure to be a match (no Filter, no geometry to decode),
// the hits stream through a heap that keeps the page's worth of smallest
// ids, and the count is the number of distinct hits; otherwise every hit
// becomes a candidate, sorted by id on the first call of next, outside the
// lock.
func (p *plan) collect(t *tenant, c choice) *list {
	ck := newChecker(p)
	dupes, undecided := false, p.q.Filter != nil
	// keyed: the hits carry order keys of their ids relative to one shared
	// prefix (a single R-tree partition).
	keyed := false
	var scan func(add func(it geoItem, geoCheck bool) bool)
	switch c.kind {
	case srcValue:
		ck.conds.skip = c.cond
		x := t.vals[p.conds[c.cond].sym]
		if x == nil {
			return &list{}
		}
		dupes = x.multi > 0
		undecided = undecided || p.q.GeoMatch != nil // a non-point geometry needs decoding
		scan = func(add func(geoItem, bool) bool) {
			x.scan(&p.conds[c.cond], func(r *rec) bool { return add(geoItem{r: r}, false) })
		}
	case srcGeo:
		ck.skipGeo = true
		ck.skipTypes = p.types != nil
		for _, g := range c.parts {
			dupes = dupes || g.multi > 0
			undecided = undecided || (!g.point && p.q.GeoMatch != nil)
		}
		keyed = len(c.parts) == 1
		b := p.q.GeoBox
		lo, hi := [2]float64{b[0], b[1]}, [2]float64{b[2], b[3]}
		scan = func(add func(geoItem, bool) bool) {
			for _, g := range c.parts {
				point := g.point
				g.tr.Search(lo, hi, func(min, _ [2]float64, it geoItem) bool {
					switch {
					case p.q.GeoMatch == nil:
						return add(it, false)
					case !point:
						return add(it, true)
					case ck.point(min):
						return add(it, false)
					}
					return true
				})
			}
		}
	}
	need := p.need()
	if !undecided && (!p.q.Count || !dupes) && (need <= 64 || (!dupes && need <= maxCollect)) {
		top := topK{k: need, dupes: dupes, keyed: keyed, h: make([]geoItem, 0, min(need, 1024))}
		n, visited := 0, 0
		scan(func(it geoItem, _ bool) bool {
			if visited++; visited > 4*maxCollect {
				return false
			}
			if ok, _ := ck.check(it.r); ok {
				n++
				top.add(it)
			}
			return true
		})
		if visited > 4*maxCollect {
			return nil
		}
		l := &list{fast: -1, sorted: true, cs: make([]cand, 0, len(top.h))}
		if !dupes {
			l.fast = n
		}
		for _, it := range top.sorted() {
			l.cs = append(l.cs, cand{it.r.id, it.r.data(), false})
		}
		return l
	}
	hits := make([]hit, 0, min(max(c.size, 16), maxCollect))
	scan(func(it geoItem, geoCheck bool) bool {
		if len(hits) >= maxCollect {
			return false
		}
		if ok, gc := ck.check(it.r); ok {
			hits = append(hits, hit{it.r, geoCheck || gc})
		}
		return true
	})
	if len(hits) >= maxCollect {
		return nil
	}
	final := p.q.Filter == nil
	for i := range hits {
		final = final && !hits[i].geoCheck
	}
	if final && dupes {
		slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(uintptr(unsafe.Pointer(a.r)), uintptr(unsafe.Pointer(b.r))) })
		hits = slices.CompactFunc(hits, func(a, b hit) bool { return a.r == b.r })
	}
	l := &list{fast: -1, cs: make([]cand, len(hits))}
	if final {
		l.fast = len(hits)
	}
	for i, h := range hits {
		l.cs[i] = cand{h.r.id, h.r.data(), h.geoCheck}
	}
	return l
}

func (l *list) next(*tenant) ([]cand, int, bool) {
	if !l.sorted {
		l.sorted = true
		slices.SortFunc(l.cs, func(a, b cand) int { return strings.Compare(a.id, b.id) })
		l.cs = slices.CompactFunc(l.cs, func(a, b cand) bool { return a.id == b.id })
	}
	n := min(chunk, len(l.cs))
	cs := l.cs[:n:n]
	l.cs = l.cs[n:]
	f := l.fast
	l.fast = -1
	return cs, f, len(l.cs) == 0
}

// topK keeps the k records with the smallest ids among those added
// (distinct records, when dupes says one may come twice), in a max-heap.
// When keyed, the items' keys order them (see geoPart) and ids break ties.
type topK struct {
	k     int
	dupes bool
	keyed bool
	h     []geoItem
}

// less orders a before b by id.
func (t *topK) less(a, b *geoItem) bool {
	if t.keyed && a.key != b.key {
		return a.key < b.key
	}
	return a.r.id < b.r.id
}

func (t *topK) add(it geoItem) {
	if t.k <= 0 {
		return
	}
	if len(t.h) == t.k && !t.less(&it, &t.h[0]) {
		return
	}
	if t.dupes && slices.ContainsFunc(t.h, func(x geoItem) bool { return x.r == it.r }) {
		return
	}
	if len(t.h) < t.k {
		t.h = append(t.h, it)
		for i := len(t.h) - 1; i > 0; {
			parent := (i - 1) / 2
			if !t.less(&t.h[parent], &t.h[i]) {
				break
			}
			t.h[i], t.h[parent] = t.h[parent], t.h[i]
			i = parent
		}
		return
	}
	t.h[0] = it
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(t.h) {
			return
		}
		m := l
		if l+1 < len(t.h) && t.less(&t.h[l], &t.h[l+1]) {
			m = l + 1
		}
		if !t.less(&t.h[i], &t.h[m]) {
			return
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

// sorted returns the items kept, in ascending id order.
func (t *topK) sorted() []geoItem {
	slices.SortFunc(t.h, func(a, b geoItem) int {
		switch {
		case t.less(&a, &b):
			return -1
		case t.less(&b, &a):
			return 1
		}
		return 0
	})
	return t.h
}
