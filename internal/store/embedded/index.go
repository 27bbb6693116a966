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
	id    string
	data  []byte   // the entity's encoding (codec.go)
	types []uint32 // type symbols, sorted
	attrs []uint32 // attribute-name symbols, sorted
	geo   []*geoItem
}

// geoItem is one GeoProperty instance's bounding box in a tenant's R-tree.
type geoItem struct {
	r        *rec
	attr     uint32
	min, max [2]float64
}

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
	geo     map[uint32]*rtree.RTreeG[*geoItem] // by attribute symbol
}

func newTenant(name string) *tenant {
	return &tenant{
		name:    name,
		byID:    make(map[string]*rec),
		ordered: newRecTree(),
		types:   make(map[uint32]*recTree),
		attrs:   make(map[uint32]*recTree),
		geo:     make(map[uint32]*rtree.RTreeG[*geoItem]),
	}
}

// indexed is what an entity contributes to the indexes, computed before
// taking tenant.mu.
type indexed struct {
	types []uint32
	attrs []uint32
	geo   []geoBox
}

type geoBox struct {
	attr     uint32
	min, max [2]float64
}

// indexKeys computes the index entries of ent; every type and attribute name
// is interned (as the encoder already did).
func indexKeys(syms *symbols, ent *ngsild.Entity) indexed {
	var ix indexed
	ix.types = make([]uint32, 0, len(ent.Types))
	for _, t := range ent.Types {
		id, _ := syms.intern(t)
		ix.types = append(ix.types, id)
	}
	slices.Sort(ix.types)
	ix.types = slices.Compact(ix.types)
	ix.attrs = make([]uint32, 0, len(ent.Attrs))
	for name, insts := range ent.Attrs {
		id, _ := syms.intern(name)
		ix.attrs = append(ix.attrs, id)
		for _, a := range insts {
			if a == nil || a.Type != ngsild.GeoProperty {
				continue
			}
			if lo, hi, ok := bbox(a.Value); ok {
				ix.geo = append(ix.geo, geoBox{attr: id, min: lo, max: hi})
			}
		}
	}
	slices.Sort(ix.attrs)
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
	t.reindex(r, &r.types, ix.types, t.types)
	t.reindex(r, &r.attrs, ix.attrs, t.attrs)
	t.dropGeo(r)
	for _, g := range ix.geo {
		it := &geoItem{r: r, attr: g.attr, min: g.min, max: g.max}
		r.geo = append(r.geo, it)
		tr := t.geo[g.attr]
		if tr == nil {
			tr = &rtree.RTreeG[*geoItem]{}
			t.geo[g.attr] = tr
		}
		tr.Insert(it.min, it.max, it)
	}
}

// load appends an entity at startup; ids arrive in ascending order, so the
// B-trees take the fast append path.
func (t *tenant) load(id string, data []byte, ix indexed) {
	r := &rec{id: id, data: data, types: ix.types, attrs: ix.attrs}
	t.byID[id] = r
	t.ordered.Load(r)
	for _, s := range ix.types {
		treeFor(t.types, s).Load(r)
	}
	for _, s := range ix.attrs {
		treeFor(t.attrs, s).Load(r)
	}
	for _, g := range ix.geo {
		it := &geoItem{r: r, attr: g.attr, min: g.min, max: g.max}
		r.geo = append(r.geo, it)
		tr := t.geo[g.attr]
		if tr == nil {
			tr = &rtree.RTreeG[*geoItem]{}
			t.geo[g.attr] = tr
		}
		tr.Insert(it.min, it.max, it)
	}
}

// remove deletes the entity id from the tenant. The caller holds t.mu.
func (t *tenant) remove(id string) {
	r, ok := t.byID[id]
	if !ok {
		return
	}
	delete(t.byID, id)
	t.ordered.Delete(r)
	t.reindex(r, &r.types, nil, t.types)
	t.reindex(r, &r.attrs, nil, t.attrs)
	t.dropGeo(r)
}

func (t *tenant) dropGeo(r *rec) {
	for _, it := range r.geo {
		if tr := t.geo[it.attr]; tr != nil {
			tr.Delete(it.min, it.max, it)
			if tr.Len() == 0 {
				delete(t.geo, it.attr)
			}
		}
	}
	r.geo = nil
}

// reindex moves r from the trees of the symbols in *cur to those in next
// (both sorted), touching only the difference.
func (t *tenant) reindex(r *rec, cur *[]uint32, next []uint32, trees map[uint32]*recTree) {
	old := *cur
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
	*cur = next
}

func treeFor(trees map[uint32]*recTree, s uint32) *recTree {
	tr := trees[s]
	if tr == nil {
		tr = newRecTree()
		trees[s] = tr
	}
	return tr
}
