package embedded

import (
	"slices"
	"sync"

	"github.com/tidwall/btree"
	"github.com/tidwall/rtree"

	"github.com/qala-city/qala/internal/ngsild"
)

// rec is the in-memory record of one entity: its encoding and what the
// indexes need to drop it again. A rec keeps its identity while the entity
// exists; updates change its fields under tenant.mu.
type rec struct {
	id     string
	data   []byte   // the entity's encoding (codec.go)
	syms   []uint32 // type symbols, then attribute-name symbols; each part sorted
	ntypes int32
	geo    []geoBox // the boxes of its GeoProperty instances in the R-trees
}

func (r *rec) types() []uint32 { return r.syms[:r.ntypes] }
func (r *rec) attrs() []uint32 { return r.syms[r.ntypes:] }

func lessRec(a, b *rec) bool { return a.id < b.id }

type recTree = btree.BTreeG[*rec]

func newRecTree() *recTree {
	return btree.NewBTreeGOptions(lessRec, btree.Options{NoLocks: true, Degree: 64})
}

// tenant holds the published (durable) state of one tenant and its indexes,
// all guarded by mu.
type tenant struct {
	name    string
	mu      sync.RWMutex
	byID    map[string]*rec
	ordered *recTree
	types   map[uint32]*recTree
	attrs   map[uint32]*recTree
	geo     map[uint32]*rtree.RTreeG[*rec] // by attribute symbol
	stats   *stats                         // counters behind Types and Attributes (stats.go)
}

func newTenant(name string) *tenant {
	return &tenant{
		name:    name,
		byID:    make(map[string]*rec),
		ordered: newRecTree(),
		types:   make(map[uint32]*recTree),
		attrs:   make(map[uint32]*recTree),
		geo:     make(map[uint32]*rtree.RTreeG[*rec]),
		stats:   newStats(),
	}
}

// indexed is what an entity contributes to the indexes, computed before
// taking tenant.mu.
type indexed struct {
	syms   []uint32 // types, then attribute names, each part sorted
	ntypes int32
	geo    []geoBox
	kinds  []attrKinds // per attribute name, for the statistics (stats.go)
}

type geoBox struct {
	attr     uint32
	min, max [2]float64
}

// indexKeys computes the index entries of ent; every type and attribute name
// is interned (as the encoder already did).
func indexKeys(syms *symbols, ent *ngsild.Entity) indexed {
	var ix indexed
	all := make([]uint32, 0, len(ent.Types)+len(ent.Attrs))
	for _, t := range ent.Types {
		id, _ := syms.intern(t)
		all = append(all, id)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	ix.ntypes = int32(len(all))
	for name, insts := range ent.Attrs {
		id, _ := syms.intern(name)
		all = append(all, id)
		for _, a := range insts {
			if a == nil || a.Type != ngsild.GeoProperty {
				continue
			}
			if lo, hi, ok := bbox(a.Value); ok {
				ix.geo = append(ix.geo, geoBox{attr: id, min: lo, max: hi})
			}
		}
	}
	slices.Sort(all[ix.ntypes:])
	ix.syms = all
	ix.kinds = kindsOf(syms, ent)
	return ix
}

// bbox returns the bounding box of a GeoJSON geometry's coordinates
// (including those of a GeometryCollection's members).
func bbox(v any) (lo, hi [2]float64, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap {
		return lo, hi, false
	}
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		s, isSlice := v.([]any)
		if !isSlice || depth > 8 {
			return
		}
		if len(s) >= 2 {
			x, okx := s[0].(float64)
			y, oky := s[1].(float64)
			if okx && oky {
				if !ok {
					lo, hi, ok = [2]float64{x, y}, [2]float64{x, y}, true
					return
				}
				lo[0], lo[1] = min(lo[0], x), min(lo[1], y)
				hi[0], hi[1] = max(hi[0], x), max(hi[1], y)
				return
			}
		}
		for _, el := range s {
			walk(el, depth+1)
		}
	}
	walk(m["coordinates"], 0)
	if gs, isSlice := m["geometries"].([]any); isSlice {
		for _, g := range gs {
			if gm, isMap := g.(map[string]any); isMap {
				walk(gm["coordinates"], 0)
			}
		}
	}
	return lo, hi, ok
}

// put inserts or updates the entity id with its encoding and index entries.
// The caller holds t.mu.
func (t *tenant) put(id string, data []byte, ix indexed) {
	r, exists := t.byID[id]
	if !exists {
		r = &rec{id: id}
		t.byID[id] = r
		t.ordered.Set(r)
	}
	r.data = data
	reindex(r, r.types(), ix.syms[:ix.ntypes], t.types)
	reindex(r, r.attrs(), ix.syms[ix.ntypes:], t.attrs)
	r.syms, r.ntypes = ix.syms, ix.ntypes
	t.dropGeo(r)
	t.addGeo(r, ix.geo)
}

func (t *tenant) addGeo(r *rec, boxes []geoBox) {
	r.geo = boxes
	for _, g := range boxes {
		tr := t.geo[g.attr]
		if tr == nil {
			tr = &rtree.RTreeG[*rec]{}
			t.geo[g.attr] = tr
		}
		tr.Insert(g.min, g.max, r)
	}
}

// load appends an entity at startup; ids arrive in ascending order, so the
// B-trees take the fast append path.
func (t *tenant) load(id string, data []byte, ix indexed) {
	r := &rec{id: id, data: data, syms: ix.syms, ntypes: ix.ntypes}
	t.byID[id] = r
	t.ordered.Load(r)
	for _, s := range r.types() {
		treeFor(t.types, s).Load(r)
	}
	for _, s := range r.attrs() {
		treeFor(t.attrs, s).Load(r)
	}
	t.addGeo(r, ix.geo)
	t.stats.add(contribOfIndex(ix), 1)
}

// remove deletes the entity id from the tenant. The caller holds t.mu.
func (t *tenant) remove(id string) {
	r, ok := t.byID[id]
	if !ok {
		return
	}
	delete(t.byID, id)
	t.ordered.Delete(r)
	reindex(r, r.types(), nil, t.types)
	reindex(r, r.attrs(), nil, t.attrs)
	r.syms, r.ntypes = nil, 0
	t.dropGeo(r)
}

func (t *tenant) dropGeo(r *rec) {
	for _, g := range r.geo {
		if tr := t.geo[g.attr]; tr != nil {
			tr.Delete(g.min, g.max, r)
			if tr.Len() == 0 {
				delete(t.geo, g.attr)
			}
		}
	}
	r.geo = nil
}

// reindex moves r from the trees of the symbols in old to those in next
// (both sorted), touching only the difference.
func reindex(r *rec, old, next []uint32, trees map[uint32]*recTree) {
	i, j := 0, 0
	for i < len(old) || j < len(next) {
		switch {
		case j == len(next) || (i < len(old) && old[i] < next[j]):
			if tr := trees[old[i]]; tr != nil {
				tr.Delete(r)
				if tr.Len() == 0 {
					delete(trees, old[i])
				}
			}
			i++
		case i == len(old) || next[j] < old[i]:
			treeFor(trees, next[j]).Set(r)
			j++
		default:
			i++
			j++
		}
	}
}

func treeFor(trees map[uint32]*recTree, s uint32) *recTree {
	tr := trees[s]
	if tr == nil {
		tr = newRecTree()
		trees[s] = tr
	}
	return tr
}
