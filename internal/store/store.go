// Package store defines the contract between Qala's API and the places entities
// live: the embedded store (in-memory indexes over a pebble log, package
// store/embedded) and, later, PostgreSQL. Package store/storetest holds the one
// behaviour suite every implementation runs.
package store

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"time"

	"github.com/qala-city/qala/internal/geo"
	"github.com/qala-city/qala/internal/ngsild"
)

// DefaultTenant is the tenant of requests without an NGSILD-Tenant header. It
// always exists.
const DefaultTenant = ""

// Errors returned by stores. Per-change errors returned by Change.Apply are
// passed through unchanged.
var (
	// ErrNotFound: no entity with that id in that tenant.
	ErrNotFound = errors.New("store: entity not found")
	// ErrNoTenant: the tenant has never been written to.
	ErrNoTenant = errors.New("store: tenant does not exist")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrLogTrimmed: ReadLog was asked for events that TrimLog let the store
	// discard. The consumer has missed them for good and must resynchronise
	// (typically from LastSeq).
	ErrLogTrimmed = errors.New("store: change log trimmed past the cursor")
	// ErrTooLarge: a query would hold more entities in memory than its
	// Query.MaxBytes allows.
	ErrTooLarge = errors.New("store: query result too large")
)

// Operation names the NGSI-LD operation that caused a change.
type Operation string

// The operations that reach the write path.
const (
	OpCreate      Operation = "create"      // POST /entities, batch create
	OpReplace     Operation = "replace"     // PUT /entities/{id}, upsert?options=replace
	OpMerge       Operation = "merge"       // PATCH /entities/{id}, batch merge
	OpUpdate      Operation = "update"      // PATCH .../attrs, batch update, upsert?options=update
	OpAppend      Operation = "append"      // POST .../attrs
	OpDeleteAttrs Operation = "deleteAttrs" // DELETE .../attrs/{attr}
	OpDelete      Operation = "delete"      // DELETE /entities/{id}, batch delete
)

// Change asks Write to change one entity.
type Change struct {
	ID string
	Op Operation
	// Apply computes the entity's new state from its current one (nil when the
	// entity does not exist). It is called once, with the entity locked against
	// other writers, and must not keep or modify before (work on a Clone).
	// Three things might happen:
	//   - it returns an error: this change is rejected, nothing of it is written,
	//     and the error is reported for this change alone;
	//   - it returns after == nil: the entity is deleted (touched is ignored);
	//   - it returns after != nil: after is stored as the entity's state. When
	//     after == before (the same pointer) nothing is written and no event is
	//     emitted (a no-op, e.g. noOverwrite on existing attributes).
	// touched names the expanded attributes the change affected, for the event.
	Apply func(before *ngsild.Entity) (after *ngsild.Entity, touched []string, err error)
}

// Event is the one change event the write path emits per changed entity.
type Event struct {
	Tenant string
	Op     Operation
	Before *ngsild.Entity // nil when the entity was created
	After  *ngsild.Entity // nil when the entity was deleted
	Attrs  []string       // expanded attribute names the change touched
	Time   time.Time
	Seq    uint64 // store-wide, increasing in commit order
}

// Query selects entities of one tenant. Conditions are ANDed; an empty
// condition selects everything.
type Query struct {
	IDs       []string       // the entity id is one of these (nil: any id; empty: none)
	IDPattern *regexp.Regexp // the entity id matches
	Types     []string       // the entity has at least one of these expanded types
	Attrs     []string       // the entity has at least one of these expanded attributes
	// Filter, when set, is evaluated on each candidate the indexes leave.
	Filter func(*ngsild.Entity) bool
	// FilterAttrs, when not nil, lists the only expanded attributes Filter
	// reads: a store may then hand Filter a partial entity holding just those
	// of its attributes (id, types, scope and timestamps are always there),
	// which is much cheaper than decoding it whole. Result entities are whole.
	FilterAttrs []string
	// GeoBox, when set, restricts the candidates to entities with an
	// instance of the GeoProperty GeoAttr (expanded name) whose bounding box
	// meets the box {minLon, minLat, maxLon, maxLat}. It only prunes: the
	// exact geometric predicate belongs in Filter.
	GeoAttr string
	GeoBox  *[4]float64
	// GeoMatch, when set, is an exact geo condition: the entity must have
	// an instance of the GeoProperty GeoAttr holding a valid GeoJSON
	// geometry g (geo.ParseGeometry) with GeoMatch(g). A store that keeps
	// geometries may test them without decoding the entity. GeoMatch must
	// not keep g, and is called concurrently. GeoBox, when also set, must
	// bound every geometry GeoMatch accepts.
	GeoMatch func(g geo.Geometry) bool
	// Values are conditions on attribute values (see ValueCond), which a
	// store may answer from value indexes instead of decoding entities.
	Values []ValueCond

	Offset int
	Limit  int  // at most this many entities are returned; 0 returns none
	Count  bool // fill Result.Count with the number of matches
	// MaxBytes, when positive, bounds the memory one query may hold: a
	// query whose entities (the page; more when the store must hold more
	// to answer) take more than MaxBytes in the store's encoding fails
	// with ErrTooLarge instead of returning.
	MaxBytes int
}

// ValueCond is a condition on the values of one attribute. It holds for an
// entity that has an instance of the attribute Attr (expanded name) with a
// target that is a number in the interval from Min to Max (either end
// excluded when MinOpen or MaxOpen is set; ±Inf for no bound), or, when
// Strings is not nil, a string equal to one of Strings (the interval is
// then ignored). The targets of an instance are the object of a
// Relationship or ListRelationship, each value of a LanguageProperty's
// language map, and the value of any other kind; a target that is an array
// stands for its members, at any depth. These are the semantics of the q
// terms attr>n, attr>=n, attr<n, attr<=n, attr==n, attr==a..b and
// attr=="text" (clause 4.9) on a plain attribute path. NaN matches nothing.
type ValueCond struct {
	Attr             string
	Min, Max         float64
	MinOpen, MaxOpen bool
	Strings          []string
}

// Match reports whether entity e satisfies c: it is the reference that the
// indexes of a store must agree with.
func (c *ValueCond) Match(e *ngsild.Entity) bool {
	for _, a := range e.Attrs[c.Attr] {
		if a != nil && c.matchValue(Target(a)) {
			return true
		}
	}
	return false
}

// Target returns the value a q term on a plain attribute path reads from
// instance a: its object (Relationship, ListRelationship), its language map
// (LanguageProperty) or its value.
func Target(a *ngsild.Attr) any {
	switch a.Type {
	case ngsild.Relationship, ngsild.ListRelationship:
		return a.Object
	case ngsild.LanguageProperty:
		if a.LanguageMap == nil {
			return nil
		}
		vs := make([]any, 0, len(a.LanguageMap))
		for _, v := range a.LanguageMap {
			vs = append(vs, v)
		}
		return vs
	}
	return a.Value
}

func (c *ValueCond) matchValue(v any) bool {
	switch x := v.(type) {
	case []any:
		for _, m := range x {
			if c.matchValue(m) {
				return true
			}
		}
	case float64:
		return c.Strings == nil && c.MatchNumber(x)
	case string:
		return c.Strings != nil && slices.Contains(c.Strings, x)
	}
	return false
}

// MatchNumber reports whether the number x lies in c's interval.
func (c *ValueCond) MatchNumber(x float64) bool {
	if x != x { // NaN
		return false
	}
	if x < c.Min || (c.MinOpen && x == c.Min) {
		return false
	}
	return x < c.Max || (!c.MaxOpen && x == c.Max)
}

// Result is the answer to a Query.
type Result struct {
	Entities []*ngsild.Entity // in ascending id order, after Offset, at most Limit
	Count    int              // total matches, when Query.Count was set
}

// TypeStat describes the entities of one expanded entity type in a tenant
// (Retrieve Available Entity Types, clause 5.7.5 to 5.7.7).
type TypeStat struct {
	Type     string     // expanded entity type
	Entities int        // entities that have this type (among others)
	Attrs    []AttrStat // the attributes of these entities, in ascending Name order
}

// AttrStat describes one expanded attribute name (Retrieve Available
// Attributes, clause 5.7.8 to 5.7.10), either among the entities of one type
// (TypeStat.Attrs) or across a tenant (Store.Attributes).
type AttrStat struct {
	Name      string
	Entities  int               // entities that have it
	Instances int               // its instances in them (one per datasetId)
	Kinds     []ngsild.AttrType // the kinds of these instances, ascending
	Types     []string          // Store.Attributes only: expanded types of the entities that have it, ascending
}

// Store keeps the current state of every tenant's entities.
//
// Entities handed out are immutable snapshots: they may be shared between
// goroutines and must never be modified (modify a Clone).
//
// Implementations are safe for concurrent use.
type Store interface {
	// Write applies changes to one tenant, creating the tenant on its first
	// successful change. The changes are applied in order (a later change to
	// the same id sees the earlier one's result) and made durable as one group:
	// when Write returns, every change reported successful survives a crash
	// (kill -9) and is visible to readers, and one Event per changed entity has
	// been handed to the subscribers, in commit order.
	//
	// errs has one entry per change: nil when it was applied (or was a no-op),
	// else the error from Apply. err is non-nil only when the whole group
	// failed (I/O error, closed store, cancelled context); then nothing of the
	// group was applied.
	Write(ctx context.Context, tenant string, changes []Change) (errs []error, err error)

	// Get returns the entity with that id, ErrNotFound, or ErrNoTenant.
	Get(ctx context.Context, tenant, id string) (*ngsild.Entity, error)

	// Query returns the entities of a tenant that match q, in ascending id
	// order, or ErrNoTenant.
	Query(ctx context.Context, tenant string, q Query) (Result, error)

	// Tenants lists the tenants that exist, DefaultTenant included.
	Tenants(ctx context.Context) ([]string, error)

	// HasTenant reports whether the tenant exists.
	HasTenant(ctx context.Context, tenant string) bool

	// Count returns the number of entities of each tenant.
	Count(ctx context.Context) map[string]int

	// Types describes the entity types of a tenant, in ascending Type order,
	// or fails with ErrNoTenant. A type appears while at least one entity
	// has it; an entity with several types counts under each of them. It
	// reflects the same published state as Query, and answers without
	// reading entities (its cost grows with the number of distinct types
	// and attribute names, not with the number of entities).
	Types(ctx context.Context, tenant string) ([]TypeStat, error)

	// Attributes describes the attribute names of a tenant's entities, in
	// ascending Name order, with Types filled, or fails with ErrNoTenant.
	// Sub-attributes are not counted. Like Types, it reads no entities.
	Attributes(ctx context.Context, tenant string) ([]AttrStat, error)

	// Subscribe registers fn to receive the events of every committed group,
	// in commit order, synchronously from the write path (fn must be quick and
	// must not call Write). The returned function unregisters fn. Events a
	// subscriber misses (it was not registered yet, or the process died) are
	// in the change log: see ReadLog, and Follower for the usual consumer.
	Subscribe(fn func([]Event)) (cancel func())

	// ReadLog returns up to max events with Seq > after, in commit order,
	// from the durable change log. These are the events subscribers received,
	// with the same Seq, Before and After, and the log survives restarts and
	// kill -9 exactly as the writes do: an acknowledged write's event is in
	// it. Only published events are returned (Seq <= LastSeq), so ReadLog
	// never runs ahead of what readers see. When the log no longer holds
	// Seq after+1 because TrimLog let the store discard it, ReadLog fails
	// with ErrLogTrimmed. An empty result means the caller is up to date.
	ReadLog(ctx context.Context, after uint64, max int) ([]Event, error)

	// LastSeq returns the Seq of the last published event (0 before the
	// first event of a new store).
	LastSeq() uint64

	// TrimLog lets the store discard the change log's events with
	// Seq <= upto: every durable consumer has processed them.
	TrimLog(ctx context.Context, upto uint64) error

	// Close flushes and closes the store. Calls after Close return ErrClosed.
	Close() error
}
