package embedded

import (
	"slices"
	"sync"

	"github.com/tidwall/btree"

	"github.com/qala-city/qala/internal/geo"
	"github.com/qala-city/qala/internal/idmap"
	"github.com/qala-city/qala/internal/ngsild"
)

// rec is the in-memory record of one entity: its encoding and what the
// indexes need to drop it again (body.go). A rec keeps its identity while
// the entity exists; updates replace its body under tenant.mu.
type rec struct {
	id string
	body
}

func lessRec(a, b *rec) bool { return a.id < b.id }

// recs allocates a tenant's recs in pages, reusing those of removed
// entities. The indexes hold some eight pointers to each rec; pointing into
// a few hundred large pages rather than a million small objects, they cost
// the garbage collector's mark little (each pointer to a small object is a
// cache miss on its span). Recs are only dereferenced under tenant.mu, so
// one is reused, under the write lock, only once every index dropped it.
type recs struct {
	free []*rec
	page []rec // the rest of the page being handed out
}

const recPage = 1024

func (a *recs) get() *rec {
	if n := len(a.free); n > 0 {
		r := a.free[n-1]
		a.free[n-1] = nil
		a.free = a.free[:n-1]
		return r
	}
	if len(a.page) == 0 {
		a.page = make([]rec, recPage)
	}
	r := &a.page[0]
	a.page = a.page[1:]
	return r
}

// put takes back a rec no index holds any more.
func (a *recs) put(r *rec) {
	*r = rec{}
	a.free = append(a.free, r)
}

type recTree = btree.BTreeG[*rec]

func newRecTree() *recTree {
	return btree.NewBTreeGOptions(lessRec, btree.Options{NoLocks: true, Degree: 64})
}

// tenant holds the published (durable) state of one tenant and its indexes,
// all guarded by mu.
type tenant struct {
	name    string
	mu      sync.RWMutex
	byID    *idmap.Map[*rec] // by id, without a pointer to every id (idmap)
	ordered *recTree
	types   map[uint32]*recTree
	attrs   map[uint32]*recTree
	geo     map[geoKey]*geoPart  // R-trees by attribute, entity type and shape
	vals    map[uint32]*valIndex // value indexes by attribute symbol (values.go)
	// building holds the value indexes being built (valbuild.go).
	building map[uint32]*valBuild
	strings  *interner // shared by the store's tenants
	stats    *stats    // counters behind Types and Attributes (stats.go)
	recs     recs
}

// geoKey names one partition of a tenant's spatial index: the geometries
// of the GeoProperty attr in entities of type typ, points apart from other
// shapes. An entity of several types is in the partition of each, so a
// query for one type searches only that type's geometries, and the box of
// a point entry is the point itself, tested exactly without reading the
// entity.
type geoKey struct {
	attr, typ uint32
	point     bool
}

func newTenant(name string, strings *interner) *tenant {
	return &tenant{
		name:     name,
		strings:  strings,
		byID:     idmap.New(func(r *rec) string { return r.id }),
		ordered:  newRecTree(),
		types:    make(map[uint32]*recTree),
		attrs:    make(map[uint32]*recTree),
		geo:      make(map[geoKey]*geoPart),
		vals:     make(map[uint32]*valIndex),
		building: make(map[uint32]*valBuild),
		stats:    newStats(),
	}
}

// indexed is what an entity contributes to the indexes, computed before
// taking tenant.mu.
type indexed struct {
	syms   []uint32 // types, then attribute names, each part sorted
	ntypes int32
	geo    []geoBox
	kinds  []attrKinds // per attribute name, for the statistics (stats.go)
	vals   []valKey    // numeric value-index entries, sorted, for the body (values.go)
}

// geoBox is the box of one GeoProperty instance holding a valid geometry;
// for a Point, min == max is the point.
type geoBox struct {
	attr     uint32
	point    bool
	min, max [2]float64
}

// geoBoxOf returns the entry of a GeoProperty instance of attr with value
// v, false when v is not a valid geometry (such an instance matches no
// geo-query).
func geoBoxOf(attr uint32, v any) (geoBox, bool) {
	g, err := geo.ParseGeometry(v)
	if err != nil {
		return geoBox{}, false
	}
	b := g.BBox()
	return geoBox{attr: attr, point: g.Type == geo.Point, min: [2]float64{b.MinLon, b.MinLat}, max: [2]float64{b.MaxLon, b.MaxLat}}, true
}

// indexKeys computes the index entries of ent but its value-index entries
// (which valuesOf reads from the encoding); every type and attribute name is
// interned (as the encoder already did).
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
			if g, ok := geoBoxOf(id, a.Value); ok {
				ix.geo = append(ix.geo, g)
			}
		}
	}
	slices.Sort(all[ix.ntypes:])
	ix.syms = all
	ix.kinds = kindsOf(syms, ent)
	return ix
}

// put inserts or updates the entity id with its body and index entries.
// The caller holds t.mu.
func (t *tenant) put(id string, b body) {
	r := t.byID.Get(id)
	if r == nil {
		r = t.recs.get()
		r.id = b.id()
		t.ordered.Set(r)
	}
	old := r.body
	t.dropGeo(r)
	r.body = b
	// The id moves to the new body (same text, so every order holds), and
	// so does the index's entry, so that the old body can be freed.
	r.id = b.id()
	t.byID.Set(r)
	reindex(r, old.types(), b.types(), t.types)
	reindex(r, old.attrs(), b.attrs(), t.attrs)
	t.addGeo(r)
	t.revalue(r, old.data(), b.data())
	if len(t.building) > 0 {
		t.noteTouched(r)
	}
}

// addGeo enters r's boxes in the partitions of its types.
func (t *tenant) addGeo(r *rec) {
	eachGeoEntry(&r.body, func(k geoKey, g *geoBox, multi bool) {
		p := t.geo[k]
		if p == nil {
			p = &geoPart{point: k.point}
			t.geo[k] = p
		}
		p.insert(g, r)
		if multi {
			p.multi++
		}
	})
}

// eachGeoEntry calls fn with every partition entry of b: each box under each
// type, and whether b has more than one entry for the box's attribute.
func eachGeoEntry(b *body, fn func(geoKey, *geoBox, bool)) {
	types, boxes := b.types(), b.geo()
	for i := range boxes {
		g := &boxes[i]
		n := 0
		for j := range boxes {
			if boxes[j].attr == g.attr {
				n++
			}
		}
		multi := n*len(types) > 1
		for _, typ := range types {
			fn(geoKey{attr: g.attr, typ: typ, point: g.point}, g, multi)
		}
	}
}

// load appends an entity at startup; ids arrive in ascending order, so the
// B-trees take the fast append path.
func (t *tenant) load(b body, ix *indexed) {
	r := t.recs.get()
	r.id, r.body = b.id(), b
	t.byID.Set(r)
	t.ordered.Load(r)
	for _, s := range r.types() {
		treeFor(t.types, s).Load(r)
	}
	for _, s := range r.attrs() {
		treeFor(t.attrs, s).Load(r)
	}
	t.addGeo(r)
	t.stats.add(contribOfIndex(*ix), 1)
}

// remove deletes the entity id from the tenant. The caller holds t.mu.
func (t *tenant) remove(id string) {
	r := t.byID.Get(id)
	if r == nil {
		return
	}
	t.byID.Delete(r)
	t.ordered.Delete(r)
	t.dropGeo(r)
	t.revalue(r, r.data(), nil)
	reindex(r, r.types(), nil, t.types)
	reindex(r, r.attrs(), nil, t.attrs)
	if len(t.building) > 0 {
		t.noteTouched(r)
	}
	t.recs.put(r)
}

// dropGeo removes r's boxes from the partitions of its types.
func (t *tenant) dropGeo(r *rec) {
	eachGeoEntry(&r.body, func(k geoKey, g *geoBox, multi bool) {
		p := t.geo[k]
		if p == nil {
			return
		}
		p.delete(g, r)
		if multi {
			p.multi--
		}
		if p.tr.Len() == 0 {
			delete(t.geo, k)
		}
	})
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
