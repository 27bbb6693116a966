package temporal

import (
	"encoding/binary"
	"math"
	"slices"
	"sort"
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
// entity.mu guards an entity's fields and series map; series.wmu serialises
// the writes of one series and is held across the commit; series.meta
// guards what readers look at. Order: series.wmu (several, by increasing
// id) → entity.mu → catalog.mu → series.meta. Readers never take wmu.
type catalog struct {
	mu         sync.RWMutex
	tenants    map[string]*tenantCat
	byID       map[uint64]*series
	nextSeries uint64
}

type tenantCat struct {
	entities map[string]*entity
	sorted   []string // entity ids in order; nil when stale
}

// sKey names a series within its entity.
type sKey struct{ attr, dataset string }

type entity struct {
	tenant, id string

	mu        sync.RWMutex
	types     []string
	created   int64 // Unix ms of the first instance written
	modified  int64 // of the last write
	deleted   int64 // when the entity was deleted (0: it was not, or was recreated)
	series    map[sKey]*series
	committed atomic.Bool // a record of it is durable
	dead      atomic.Bool // removed from the catalog; writers must look it up again
}

type series struct {
	id            uint64
	ent           *entity
	attr, dataset string

	// wmu serialises the writes of the series; the fields below it are
	// only touched with it held.
	wmu     sync.Mutex
	nextNum uint64 // the next instance number
	maxObs  int64  // largest key time of an observed instance; MinInt64 if none
	lastT   int64  // largest key time of any instance; MinInt64 if none
	// dropBefore is the window before which retention has already dropped
	// everything in this process.
	dropBefore int64
	last       winCounts // of window(lastT)

	meta      sync.Mutex
	kind      ngsild.AttrType // of the last instance written
	classes   uint8           // value classes seen (for aggregation eligibility)
	noObs     bool            // some instance (not a deletion) lacks observedAt
	committed atomic.Bool
	dead      atomic.Bool
}

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
	return &catalog{tenants: map[string]*tenantCat{}, byID: map[uint64]*series{}, nextSeries: 1}
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
		t = &tenantCat{entities: map[string]*entity{}}
		c.tenants[tenant] = t
	}
	e := t.entities[id]
	if e == nil {
		e = &entity{tenant: tenant, id: id, series: map[sKey]*series{}}
		t.entities[id] = e
		t.sorted = nil
	}
	return e
}

// seriesOf returns the entity's series for (attr, dataset), creating it.
func (c *catalog) seriesOf(e *entity, attr, dataset string) *series {
	k := sKey{attr, dataset}
	e.mu.RLock()
	s := e.series[k]
	e.mu.RUnlock()
	if s != nil {
		return s
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s = e.series[k]; s != nil {
		return s
	}
	c.mu.Lock()
	id := c.nextSeries
	c.nextSeries++
	s = &series{id: id, ent: e, attr: attr, dataset: dataset, maxObs: math.MinInt64, lastT: math.MinInt64, dropBefore: math.MinInt64}
	c.byID[id] = s
	c.mu.Unlock()
	e.series[k] = s
	return s
}

// removeSeries drops a series from the catalog.
func (c *catalog) removeSeries(s *series) {
	s.dead.Store(true)
	e := s.ent
	e.mu.Lock()
	if e.series[sKey{s.attr, s.dataset}] == s {
		delete(e.series, sKey{s.attr, s.dataset})
	}
	e.mu.Unlock()
	c.mu.Lock()
	delete(c.byID, s.id)
	c.mu.Unlock()
}

// removeEntity drops an entity and its series from the catalog.
func (c *catalog) removeEntity(e *entity) {
	e.mu.Lock()
	e.dead.Store(true)
	ss := make([]*series, 0, len(e.series))
	for _, s := range e.series {
		ss = append(ss, s)
	}
	e.series = map[sKey]*series{}
	e.mu.Unlock()
	c.mu.Lock()
	for _, s := range ss {
		s.dead.Store(true)
		delete(c.byID, s.id)
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
	b := make([]byte, 0, 64+len(s.ent.tenant)+len(s.ent.id)+len(s.attr)+len(s.dataset))
	b = append(b, recordVersion)
	b = appendStr(b, s.ent.tenant)
	b = appendStr(b, s.ent.id)
	b = appendStr(b, s.attr)
	b = appendStr(b, s.dataset)
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
