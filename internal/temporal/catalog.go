package temporal

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/qala-city/qala/internal/idmap"
	"github.com/qala-city/qala/internal/ngsild"
)

// The catalog is the in-memory directory of the history: per tenant, the
// entities that have one, and per entity its series (one per attribute and
// datasetId). It is rebuilt at Open from the entity and series records and
// kept in step with every commit.
//
// Entities and series live in slabs (slab.go) and refer to each other, to
// their names and to their tenant by slot number: a million entities with
// five million series are a few thousand pointer-free pages to the garbage
// collector. An entity's series form a list through series.next. Slots are
// not reused: a deleted entity or series keeps its slot (some 100 bytes)
// until the next restart.
//
// Locks: catalog.mu guards the tenants' indexes, the slabs' allocation and
// nextSeries; entity.mu guards an entity's fields and its list of series;
// series.wmu serialises the writes of one series and is held across the
// commit. Order: series.wmu (several, by increasing id) → entity.mu →
// catalog.mu. Readers never take wmu; they read what they need of a series
// atomically (series.state).
type catalog struct {
	mu          sync.RWMutex
	tenants     map[string]*tenantCat
	tenantNames slab[string] // by tenant slot
	nseries     int          // series in the catalog
	nextSeries  uint64
	hashOf      func(string) uint64 // tests force id hash collisions with it (idmap.Map.HashOf)

	ents   slab[entity]
	series slab[series]
	idText arena // entity ids

	names     map[sKey]uint32 // interned series names → slot in nameList
	nameList  slab[sKey]
	typeLists map[string]uint32 // interned type lists, by their joined form → slot in typeSlab
	typeSlab  slab[[]string]
}

type tenantCat struct {
	name   string
	slot   uint32
	ents   *idmap.Map[uint32] // entity slots by id
	sorted []uint32           // entity slots in order of id; nil when stale
}

// sKey names a series within its entity.
type sKey struct{ attr, dataset string }

type entity struct {
	mu       sync.RWMutex
	slot     uint32
	tenant   uint32 // tenant slot
	id       strRef
	types    uint32 // slot of the interned type list; 0: none
	created  int64  // Unix ms of the first instance written
	modified int64  // of the last write
	deleted  int64  // when the entity was deleted (0: it was not, or was recreated)
	first    uint32 // slot of its first series; 0: none
	// dropBefore is the window before which retention has already dropped
	// everything of its series in this process.
	dropBefore int64
	committed  atomic.Bool // a record of it is durable
	dead       atomic.Bool // removed from the catalog; writers must look it up again
}

type series struct {
	id   uint64
	slot uint32
	ent  uint32 // entity slot
	name uint32 // slot of the interned name
	next uint32 // the entity's next series; guarded by entity.mu

	// wmu serialises the writes of the series; the fields below it are
	// only touched with it held.
	wmu     sync.Mutex
	nextNum uint64    // the next instance number
	maxObs  int64     // largest key time of an observed instance; MinInt64 if none
	lastT   int64     // largest key time of any instance; MinInt64 if none
	last    winCounts // chunk counts of window(lastT)

	// state holds the kind of the last instance written (bits 0-7), the
	// value classes seen (for aggregation eligibility, bits 8-15) and the
	// flags below; readers load it, writers change it with wmu held.
	state atomic.Uint32
}

// Flags of series.state.
const (
	stateNoObs     = 1 << 16 // some instance (not a deletion) lacks observedAt
	stateCommitted = 1 << 17 // a record of it is durable
	stateDead      = 1 << 18 // removed from the catalog; writers must look it up again
)

// info returns the kind, value classes and noObs of the series.
func (x *series) info() (kind ngsild.AttrType, classes uint8, noObs bool) {
	v := x.state.Load()
	return ngsild.AttrType(v), uint8(v >> 8), v&stateNoObs != 0
}

// setInfo stores the kind, value classes and noObs of the series.
func (x *series) setInfo(kind ngsild.AttrType, classes uint8, noObs bool) {
	for {
		old := x.state.Load()
		v := old&(stateCommitted|stateDead) | uint32(kind) | uint32(classes)<<8
		if noObs {
			v |= stateNoObs
		}
		if x.state.CompareAndSwap(old, v) {
			return
		}
	}
}

func (x *series) isDead() bool      { return x.state.Load()&stateDead != 0 }
func (x *series) setDead()          { x.state.Or(stateDead) }
func (x *series) isCommitted() bool { return x.state.Load()&stateCommitted != 0 }
func (x *series) setCommitted()     { x.state.Or(stateCommitted) }

// Value classes of a series (aggregation eligibility, clause 4.5.19.1).
const (
	classNumber uint8 = 1 << iota
	classBool
	classString
	classDateTime
	classArray
	classObject
	classOther // relationships, language maps and the other kinds
)

func newCatalog() *catalog {
	return &catalog{
		tenants:    map[string]*tenantCat{},
		nextSeries: 1,
		names:      map[sKey]uint32{},
		typeLists:  map[string]uint32{},
	}
}

// Accessors of what entities and series refer to by slot.

// seriesAt returns the series of a slot.
func (c *catalog) seriesAt(slot uint32) *series { return c.series.at(slot) }

// entOf returns the entity of a series.
func (c *catalog) entOf(x *series) *entity { return c.ents.at(x.ent) }

// nameOf returns the attribute and datasetId of a series.
func (c *catalog) nameOf(x *series) sKey { return *c.nameList.at(x.name) }

// idOf returns the id of an entity.
func (c *catalog) idOf(e *entity) string { return c.idText.get(e.id) }

// tenantOf returns the tenant of an entity.
func (c *catalog) tenantOf(e *entity) string { return *c.tenantNames.at(e.tenant) }

// typesOf returns the types of an entity (not to be modified). e.mu is held.
func (c *catalog) typesOf(e *entity) []string {
	if e.types == 0 {
		return nil
	}
	return *c.typeSlab.at(e.types)
}

// list returns the series of an entity. e.mu is held.
func (c *catalog) list(e *entity) []*series {
	var out []*series
	for i := e.first; i != 0; {
		x := c.series.at(i)
		out = append(out, x)
		i = x.next
	}
	return out
}

// find returns the entity's series k, or nil. e.mu is held (catalog.mu
// need not be: the write path calls it for every series it writes).
func (c *catalog) find(e *entity, k sKey) *series {
	for i := e.first; i != 0; {
		x := c.series.at(i)
		if c.nameOf(x) == k {
			return x
		}
		i = x.next
	}
	return nil
}

// link appends x to e's series. e.mu is held (or e is not shared yet).
func (c *catalog) link(e *entity, x *series) {
	x.next = 0
	if e.first == 0 {
		e.first = x.slot
		return
	}
	i := e.first
	for {
		y := c.series.at(i)
		if y.next == 0 {
			y.next = x.slot
			return
		}
		i = y.next
	}
}

// unlink removes x from e's series, reporting whether it was there. e.mu
// is held.
func (c *catalog) unlink(e *entity, x *series) bool {
	if e.first == x.slot {
		e.first = x.next
		return true
	}
	for i := e.first; i != 0; {
		y := c.series.at(i)
		if y.next == x.slot {
			y.next = x.next
			return true
		}
		i = y.next
	}
	return false
}

// name returns the slot of the interned k. c.mu is held for writing.
func (c *catalog) name(k sKey) uint32 {
	if n, ok := c.names[k]; ok {
		return n
	}
	n, p := c.nameList.alloc()
	*p = sKey{strings.Clone(k.attr), strings.Clone(k.dataset)}
	c.names[*p] = n
	return n
}

// typeList returns the slot of types interned: entities of a type share one
// list.
func (c *catalog) typeList(types []string) uint32 {
	if len(types) == 0 {
		return 0
	}
	k := strings.Join(types, "\x00")
	c.mu.RLock()
	n, ok := c.typeLists[k]
	c.mu.RUnlock()
	if ok {
		return n
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok = c.typeLists[k]; !ok {
		l := make([]string, len(types))
		for i, t := range types {
			l[i] = strings.Clone(t)
		}
		var p *[]string
		n, p = c.typeSlab.alloc()
		*p = l
		c.typeLists[k] = n
	}
	return n
}

// newSeries allocates a series of e named k. c.mu is held for writing.
func (c *catalog) newSeries(e *entity, id uint64, k sKey) *series {
	slot, x := c.series.alloc()
	x.id, x.slot, x.ent, x.name = id, slot, e.slot, c.name(k)
	x.maxObs, x.lastT = math.MinInt64, math.MinInt64
	c.nseries++
	c.nextSeries = max(c.nextSeries, id+1)
	return x
}

// addSeries puts a loaded series in the catalog and returns it. Only Open
// calls it.
func (c *catalog) addSeries(e *entity, id uint64, k sKey) *series {
	c.mu.Lock()
	x := c.newSeries(e, id, k)
	c.mu.Unlock()
	c.link(e, x)
	return x
}

// seriesCount returns the number of series.
func (c *catalog) seriesCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.nseries
}

// lookup returns the tenant's entity id, or nil. c.mu is held.
func (c *catalog) lookup(t *tenantCat, id string) *entity {
	if slot := t.ents.Get(id); slot != 0 {
		return c.ents.at(slot)
	}
	return nil
}

// entity returns the committed entity, or nil.
func (c *catalog) entity(tenant, id string) *entity {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t := c.tenants[tenant]
	if t == nil {
		return nil
	}
	e := c.lookup(t, id)
	if e == nil || !e.committed.Load() || e.dead.Load() {
		return nil
	}
	return e
}

// getOrCreate returns the entity, creating an uncommitted one if needed.
func (c *catalog) getOrCreate(tenant, id string) *entity {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		slot, name := c.tenantNames.alloc()
		*name = strings.Clone(tenant)
		t = &tenantCat{name: *name, slot: slot, ents: idmap.New(func(slot uint32) string { return c.idOf(c.ents.at(slot)) })}
		t.ents.HashOf = c.hashOf
		c.tenants[t.name] = t
	}
	if e := c.lookup(t, id); e != nil {
		return e
	}
	slot, e := c.ents.alloc()
	e.slot, e.tenant, e.id, e.dropBefore = slot, t.slot, c.idText.add(id), math.MinInt64
	t.ents.Set(slot)
	t.sorted = nil
	return e
}

// forget removes e from its tenant's index. c.mu is held for writing.
func (c *catalog) forget(e *entity) {
	t := c.tenants[c.tenantOf(e)]
	if t == nil {
		return
	}
	if t.ents.Get(c.idOf(e)) != e.slot {
		return
	}
	t.ents.Delete(e.slot)
	t.sorted = nil
}

// seriesOf returns the entity's series for (attr, dataset), creating it.
func (c *catalog) seriesOf(e *entity, attr, dataset string) *series {
	k := sKey{attr, dataset}
	e.mu.RLock()
	s := c.find(e, k)
	e.mu.RUnlock()
	if s != nil {
		return s
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s = c.find(e, k); s != nil {
		return s
	}
	c.mu.Lock()
	s = c.newSeries(e, c.nextSeries, k)
	c.mu.Unlock()
	c.link(e, s)
	return s
}

// removeSeries drops a series from the catalog.
func (c *catalog) removeSeries(s *series) {
	s.setDead()
	e := c.entOf(s)
	e.mu.Lock()
	removed := c.unlink(e, s)
	e.mu.Unlock()
	if removed {
		c.mu.Lock()
		c.nseries--
		c.mu.Unlock()
	}
}

// removeEntity drops an entity and its series from the catalog.
func (c *catalog) removeEntity(e *entity) {
	e.mu.Lock()
	e.dead.Store(true)
	ss := c.list(e)
	e.first = 0
	e.mu.Unlock()
	c.mu.Lock()
	for _, s := range ss {
		s.setDead()
		c.nseries--
	}
	c.forget(e)
	c.mu.Unlock()
}

// ids returns the ids of the tenant's committed entities, sorted.
func (c *catalog) ids(tenant string) []string {
	c.mu.Lock()
	t := c.tenants[tenant]
	if t == nil {
		c.mu.Unlock()
		return nil
	}
	if t.sorted == nil {
		t.sorted = slices.AppendSeq(make([]uint32, 0, t.ents.Len()), t.ents.All())
		slices.SortFunc(t.sorted, func(a, b uint32) int {
			return strings.Compare(c.idOf(c.ents.at(a)), c.idOf(c.ents.at(b)))
		})
	}
	out := make([]string, 0, len(t.sorted))
	for _, slot := range t.sorted {
		if e := c.ents.at(slot); e.committed.Load() && !e.dead.Load() {
			out = append(out, c.idOf(e))
		}
	}
	c.mu.Unlock()
	return out
}

func (c *catalog) hasTenant(tenant string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.tenants[tenant]
	return ok
}

// allEntities returns every entity of every tenant (for retention).
func (c *catalog) allEntities() []*entity {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*entity
	for _, t := range c.tenants {
		for slot := range t.ents.All() {
			out = append(out, c.ents.at(slot))
		}
	}
	return out
}

// Records.

const recordVersion = 1

// record returns the series record of x with the state given.
func (c *catalog) record(x *series, nextNum uint64, maxObs, lastT int64, kind ngsild.AttrType, classes uint8, noObs bool) []byte {
	e, k := c.entOf(x), c.nameOf(x)
	tenant, id := c.tenantOf(e), c.idOf(e)
	b := make([]byte, 0, 64+len(tenant)+len(id)+len(k.attr)+len(k.dataset))
	b = append(b, recordVersion)
	b = appendStr(b, tenant)
	b = appendStr(b, id)
	b = appendStr(b, k.attr)
	b = appendStr(b, k.dataset)
	b = append(b, byte(kind), classes)
	flags := byte(0)
	if noObs {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, nextNum)
	b = binary.AppendVarint(b, maxObs)
	b = binary.AppendVarint(b, lastT)
	return b
}

type seriesRecord struct {
	tenant, id, attr, dataset string
	kind                      ngsild.AttrType
	classes                   uint8
	noObs                     bool
	nextNum                   uint64
	maxObs, lastT             int64
}

// decodeSeriesRecord decodes a series record; its strings alias v (the
// catalog copies what it keeps).
func decodeSeriesRecord(v []byte) (seriesRecord, error) {
	r := &reader{b: v, view: true}
	var sr seriesRecord
	if r.byte() != recordVersion {
		return sr, errCorrupt
	}
	sr.tenant, sr.id, sr.attr, sr.dataset = r.str(), r.str(), r.str(), r.str()
	sr.kind = ngsild.AttrType(r.byte())
	sr.classes = r.byte()
	sr.noObs = r.byte()&1 != 0
	sr.nextNum = r.uvarint()
	sr.maxObs = r.varint()
	sr.lastT = r.varint()
	return sr, r.err
}

func entityRecord(types []string, created, modified, deleted int64) []byte {
	b := []byte{recordVersion}
	b = binary.AppendUvarint(b, uint64(len(types)))
	for _, t := range types {
		b = appendStr(b, t)
	}
	b = binary.AppendVarint(b, created)
	b = binary.AppendVarint(b, modified)
	return binary.AppendVarint(b, deleted)
}

// decodeEntityRecord decodes an entity record; its strings alias v (the
// catalog copies what it keeps).
func decodeEntityRecord(v []byte) (types []string, created, modified, deleted int64, err error) {
	r := &reader{b: v, view: true}
	if r.byte() != recordVersion {
		return nil, 0, 0, 0, errCorrupt
	}
	n := r.count()
	types = make([]string, n)
	for i := range types {
		types[i] = r.str()
	}
	created, modified, deleted = r.varint(), r.varint(), r.varint()
	return types, created, modified, deleted, r.err
}

// unionTypes returns a with the types of b it lacks appended (a is not
// modified).
func unionTypes(a, b []string) []string {
	out := a
	for _, t := range b {
		if !slices.Contains(out, t) {
			if len(out) == len(a) {
				out = slices.Clone(a)
			}
			out = append(out, t)
		}
	}
	return out
}
