package temporal

import (
	"encoding/binary"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/qala-city/qala/internal/ngsild"
)

// The catalog is the in-memory directory of the history: per tenant, the
// entities that have one, and per entity its series (one per attribute and
// datasetId). It is rebuilt at Open from the entity and series records and
// kept in step with every commit.
//
// Locks: catalog.mu guards the tenant and entity maps and nextSeries;
// entity.mu guards an entity's fields and series list; series.wmu serialises
// the writes of one series and is held across the commit; series.meta
// guards what readers look at. Order: series.wmu (several, by increasing
// id) → entity.mu → catalog.mu. Readers never take wmu; they read what
// they need of a series atomically (series.state).
//
// A million entities have some five million series: the catalog keeps them
// small (no map per entity; attribute names, datasetIds and type lists
// shared), since every byte of it is held twice over by the garbage
// collector's headroom.
type catalog struct {
	mu         sync.RWMutex
	tenants    map[string]*tenantCat
	nseries    int // series in the catalog
	nextSeries uint64
	names      map[sKey]*sKey      // interned series names
	typeLists  map[string][]string // interned type lists, by their joined form
}

type tenantCat struct {
	name     string
	entities map[string]*entity
	sorted   []string // entity ids in order; nil when stale
}

// sKey names a series within its entity.
type sKey struct{ attr, dataset string }

type entity struct {
	tenant, id string

	mu       sync.RWMutex
	types    []string
	created  int64     // Unix ms of the first instance written
	modified int64     // of the last write
	deleted  int64     // when the entity was deleted (0: it was not, or was recreated)
	series   []*series // few: looked up by a linear scan
	// dropBefore is the window before which retention has already dropped
	// everything of its series in this process.
	dropBefore int64
	committed  atomic.Bool // a record of it is durable
	dead       atomic.Bool // removed from the catalog; writers must look it up again
}

type series struct {
	id   uint64
	ent  *entity
	name *sKey // interned

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
	return &catalog{tenants: map[string]*tenantCat{}, nextSeries: 1, names: map[sKey]*sKey{}, typeLists: map[string][]string{}}
}

// find returns the entity's series k, or nil. e.mu is held.
func (e *entity) find(k sKey) *series {
	for _, x := range e.series {
		if *x.name == k {
			return x
		}
	}
	return nil
}

// name returns the interned k. c.mu is held for writing.
func (c *catalog) name(k sKey) *sKey {
	if n := c.names[k]; n != nil {
		return n
	}
	n := &sKey{strings.Clone(k.attr), strings.Clone(k.dataset)}
	c.names[*n] = n
	return n
}

// typeList returns types interned: entities of a type share one list. The
// result must not be modified.
func (c *catalog) typeList(types []string) []string {
	if len(types) == 0 {
		return nil
	}
	k := strings.Join(types, "\x00")
	c.mu.RLock()
	l, ok := c.typeLists[k]
	c.mu.RUnlock()
	if ok {
		return l
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok = c.typeLists[k]; !ok {
		l = make([]string, len(types))
		for i, t := range types {
			l[i] = strings.Clone(t)
		}
		c.typeLists[k] = l
	}
	return l
}

// addSeries puts a loaded series in the catalog. Only Open calls it.
func (c *catalog) addSeries(e *entity, x *series, k sKey) {
	c.mu.Lock()
	x.name = c.name(k)
	c.nseries++
	c.nextSeries = max(c.nextSeries, x.id+1)
	c.mu.Unlock()
	e.series = appendExact(e.series, x)
}

// appendExact appends x to l without spare capacity: entities have a few
// series each, a million of them.
func appendExact(l []*series, x *series) []*series {
	out := make([]*series, len(l)+1)
	copy(out, l)
	out[len(l)] = x
	return out
}

// seriesCount returns the number of series.
func (c *catalog) seriesCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.nseries
}

// entity returns the committed entity, or nil.
func (c *catalog) entity(tenant, id string) *entity {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t := c.tenants[tenant]
	if t == nil {
		return nil
	}
	e := t.entities[id]
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
		t = &tenantCat{name: strings.Clone(tenant), entities: map[string]*entity{}}
		c.tenants[t.name] = t
	}
	e := t.entities[id]
	if e == nil {
		e = &entity{tenant: t.name, id: strings.Clone(id), dropBefore: math.MinInt64}
		t.entities[e.id] = e
		t.sorted = nil
	}
	return e
}

// seriesOf returns the entity's series for (attr, dataset), creating it.
func (c *catalog) seriesOf(e *entity, attr, dataset string) *series {
	k := sKey{attr, dataset}
	e.mu.RLock()
	s := e.find(k)
	e.mu.RUnlock()
	if s != nil {
		return s
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s = e.find(k); s != nil {
		return s
	}
	c.mu.Lock()
	id := c.nextSeries
	c.nextSeries++
	c.nseries++
	s = &series{id: id, ent: e, name: c.name(k), maxObs: math.MinInt64, lastT: math.MinInt64}
	c.mu.Unlock()
	e.series = appendExact(e.series, s)
	return s
}

// removeSeries drops a series from the catalog.
func (c *catalog) removeSeries(s *series) {
	s.setDead()
	e := s.ent
	e.mu.Lock()
	removed := false
	if i := slices.Index(e.series, s); i >= 0 {
		e.series = slices.Delete(e.series, i, i+1)
		removed = true
	}
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
	ss := e.series
	e.series = nil
	e.mu.Unlock()
	c.mu.Lock()
	for _, s := range ss {
		s.setDead()
		c.nseries--
	}
	if t := c.tenants[e.tenant]; t != nil && t.entities[e.id] == e {
		delete(t.entities, e.id)
		t.sorted = nil
	}
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
		t.sorted = make([]string, 0, len(t.entities))
		for id := range t.entities {
			t.sorted = append(t.sorted, id)
		}
		sort.Strings(t.sorted)
	}
	out := make([]string, 0, len(t.sorted))
	for _, id := range t.sorted {
		if e := t.entities[id]; e.committed.Load() && !e.dead.Load() {
			out = append(out, id)
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
		for _, e := range t.entities {
			out = append(out, e)
		}
	}
	return out
}

// Records.

const recordVersion = 1

func (s *series) record(nextNum uint64, maxObs, lastT int64, kind ngsild.AttrType, classes uint8, noObs bool) []byte {
	b := make([]byte, 0, 64+len(s.ent.tenant)+len(s.ent.id)+len(s.name.attr)+len(s.name.dataset))
	b = append(b, recordVersion)
	b = appendStr(b, s.ent.tenant)
	b = appendStr(b, s.ent.id)
	b = appendStr(b, s.name.attr)
	b = appendStr(b, s.name.dataset)
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

func decodeSeriesRecord(v []byte) (seriesRecord, error) {
	r := &reader{b: v}
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

func decodeEntityRecord(v []byte) (types []string, created, modified, deleted int64, err error) {
	r := &reader{b: v}
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
