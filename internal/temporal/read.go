package temporal

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/qala-city/qala/internal/ngsild"
)

// EntityInfo describes an entity's history as the catalog holds it.
type EntityInfo struct {
	ID                               string
	Types                            []string // expanded
	CreatedAt, ModifiedAt, DeletedAt time.Time
	Series                           []SeriesInfo // by attribute, then datasetId
}

// SeriesInfo describes one series: the instances of one attribute with
// one datasetId ("" for the default instance).
type SeriesInfo struct {
	ID        uint64
	Attr      string // expanded attribute name, or ScopeAttr
	DatasetID string
	Kind      ngsild.AttrType // of the last instance written
	classes   uint8
}

// Entity returns the history of an entity, or false.
func (s *Store) Entity(tenant, id string) (EntityInfo, bool) {
	e := s.cat.entity(tenant, id)
	if e == nil {
		return EntityInfo{}, false
	}
	e.mu.RLock()
	info := EntityInfo{ID: e.id, Types: e.types, CreatedAt: msTime(e.created), ModifiedAt: msTime(e.modified)}
	if e.deleted != 0 {
		info.DeletedAt = msTime(e.deleted)
	}
	ss := make([]*series, 0, len(e.series))
	for _, x := range e.series {
		ss = append(ss, x)
	}
	e.mu.RUnlock()
	for _, x := range ss {
		if !x.committed.Load() || x.dead.Load() {
			continue
		}
		x.meta.Lock()
		info.Series = append(info.Series, SeriesInfo{ID: x.id, Attr: x.attr, DatasetID: x.dataset, Kind: x.kind, classes: x.classes})
		x.meta.Unlock()
	}
	slices.SortFunc(info.Series, func(a, b SeriesInfo) int {
		if c := strings.Compare(a.Attr, b.Attr); c != 0 {
			return c
		}
		return strings.Compare(a.DatasetID, b.DatasetID)
	})
	return info, true
}

// IDs returns the ids of the tenant's entities with history, sorted.
func (s *Store) IDs(tenant string) []string { return s.cat.ids(tenant) }

// Instance is an attribute instance as a temporal query returns it.
type Instance struct {
	ID   string       // instanceId
	Attr *ngsild.Attr // with datasetId, observedAt, createdAt, modifiedAt, deletedAt
	Time int64        // the query's temporal property, Unix ms
}

// Page is what a temporal query selects of one series.
type Page struct {
	Instances []Instance // ascending by the query's temporal property
	// Truncated is set when the limit, not the query, left instances out:
	// more matched than Instances holds.
	Truncated bool
}

// Reader reads history from one consistent view of the database. It is
// not safe for concurrent use; Close it.
type Reader struct {
	it *pebble.Iterator
	// rollupBuckets counts the roll-up buckets read (tests check which
	// aggregations the roll-ups answer).
	rollupBuckets int
}

// NewReader returns a Reader on the current state of the history.
func (s *Store) NewReader() (*Reader, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	it, err := s.db.NewIter(nil)
	if err != nil {
		return nil, err
	}
	return &Reader{it: it}, nil
}

// Close releases the reader.
func (r *Reader) Close() error { return r.it.Close() }

// propTime returns an instance's value of a temporal property, and whether
// it has one.
func propTime(x *inst, p TimeProperty) (int64, bool) {
	switch p {
	case ObservedAt:
		return x.t, x.flags&flagObserved != 0
	case CreatedAt:
		return x.created, true
	case ModifiedAt:
		return x.modified, true
	case DeletedAt:
		return x.created, x.flags&flagDeleted != 0
	}
	return 0, false
}

// matches reports whether q selects x and returns its time for q: the
// value of q's property, or the key time for an unrestricted query.
func (q *Query) matches(x *inst) (int64, bool) {
	if !q.Restricted() {
		return x.t, true
	}
	t, ok := propTime(x, q.Prop)
	return t, ok && q.InRange(t)
}

// keyOrdered reports whether q's times follow the key time, so that a
// series can be read window by window in order.
func (q *Query) keyOrdered() bool {
	return !q.Restricted() || q.Prop == ObservedAt || q.Prop == DeletedAt
}

// windowRange returns the windows that may hold instances q selects.
func (q *Query) windowRange() (lo, hi int64) {
	lo, hi = math.MinInt64+1, math.MaxInt64-1
	if !q.keyOrdered() || !q.Restricted() {
		return lo, hi
	}
	switch q.Rel {
	case Before:
		hi = window(q.At - 1)
	case After:
		lo = window(q.At)
	case Between:
		lo, hi = window(q.At), window(q.End-1)
	}
	return lo, hi
}

// hit is an instance a query selected, with its time for the query.
type hit struct {
	x inst
	t int64
}

func sortHits(h []hit) {
	slices.SortFunc(h, func(a, b hit) int {
		if c := cmpI64(a.t, b.t); c != 0 {
			return c
		}
		return cmpU64(a.x.num, b.x.num)
	})
}

// scan visits the windows lo..hi of a series, in order or backwards, with
// each window's instances (decoded, unsorted), until visit returns false.
func (r *Reader) scan(ser uint64, lo, hi int64, backward bool, visit func(w int64, insts []inst) bool) error {
	var buf []inst
	cur := int64(0)
	have := false
	flush := func() bool {
		if !have {
			return true
		}
		have = false
		ok := visit(cur, buf)
		buf = buf[:0]
		return ok
	}
	prefix := chunkBound(ser, 0)[:9]
	var ok bool
	if backward {
		ok = r.it.SeekLT(chunkBound(ser, hi+1))
	} else {
		ok = r.it.SeekGE(chunkBound(ser, lo))
	}
	for ; ok; ok = r.step(backward) {
		k := r.it.Key()
		if !bytes.HasPrefix(k, prefix) {
			break
		}
		_, w, _, good := parseChunkKey(k)
		if !good || w < lo || w > hi {
			break
		}
		if have && w != cur {
			if !flush() {
				return nil
			}
		}
		v, err := r.it.ValueAndErr()
		if err != nil {
			return err
		}
		if buf, err = decodeChunk(v, buf); err != nil {
			return err
		}
		cur, have = w, true
	}
	if err := r.it.Error(); err != nil {
		return err
	}
	flush()
	return nil
}

func (r *Reader) step(backward bool) bool {
	if backward {
		return r.it.Prev()
	}
	return r.it.Next()
}

// Instances returns the instances of a series that q selects, ascending by
// q's temporal property: the first limit of them or, with q.LastN, the last
// min(q.LastN, limit). limit <= 0 means no limit.
func (r *Reader) Instances(si SeriesInfo, q Query, limit int) (Page, error) {
	hits, truncated, err := r.hits(si.ID, q, limit)
	if err != nil {
		return Page{}, err
	}
	p := Page{Instances: make([]Instance, len(hits)), Truncated: truncated}
	for i := range hits {
		x := &hits[i].x
		p.Instances[i] = Instance{ID: instanceID(si.ID, x.t, x.num), Attr: x.toAttr(si.DatasetID), Time: hits[i].t}
	}
	return p, nil
}

// hits selects the instances of Instances.
func (r *Reader) hits(ser uint64, q Query, limit int) ([]hit, bool, error) {
	want := limit
	serverCut := limit > 0
	if q.LastN > 0 && (limit <= 0 || q.LastN <= limit) {
		want, serverCut = q.LastN, false
	}
	lo, hi := q.windowRange()
	var out []hit
	collect := func(insts []inst) []hit {
		var h []hit
		for i := range insts {
			if t, ok := q.matches(&insts[i]); ok {
				h = append(h, hit{insts[i], t})
			}
		}
		sortHits(h)
		return h
	}
	var err error
	switch {
	case !q.keyOrdered():
		err = r.scan(ser, lo, hi, false, func(_ int64, insts []inst) bool {
			out = append(out, collect(insts)...)
			return true
		})
		sortHits(out)
	case q.LastN > 0:
		var windows [][]hit
		n := 0
		err = r.scan(ser, lo, hi, true, func(_ int64, insts []inst) bool {
			h := collect(insts)
			windows = append(windows, h)
			n += len(h)
			return want <= 0 || n <= want
		})
		out = make([]hit, 0, n)
		for i := len(windows) - 1; i >= 0; i-- {
			out = append(out, windows[i]...)
		}
	default:
		err = r.scan(ser, lo, hi, false, func(_ int64, insts []inst) bool {
			out = append(out, collect(insts)...)
			return want <= 0 || len(out) <= want
		})
	}
	if err != nil {
		return nil, false, err
	}
	if want <= 0 || len(out) <= want {
		return out, false, nil
	}
	if q.LastN > 0 {
		return out[len(out)-want:], serverCut, nil
	}
	return out[:want], serverCut, nil
}

// Span returns the times (for q) of the first and last instances of a
// series that q selects, and false when there are none.
func (r *Reader) Span(si SeriesInfo, q Query) (first, last int64, ok bool, err error) {
	q.LastN = 0
	h, _, err := r.hits(si.ID, q, 1)
	if err != nil || len(h) == 0 {
		return 0, 0, false, err
	}
	first = h[0].t
	q.LastN = 1
	h, _, err = r.hits(si.ID, q, 1)
	if err != nil || len(h) == 0 {
		return 0, 0, false, err
	}
	return first, h[0].t, true, nil
}

// Values returns, for q and a series, the instances as attribute values
// only (no instanceId), all of them: what filters such as q and geoQ are
// evaluated on. At most max are read; ok is false when there were more.
func (r *Reader) Values(si SeriesInfo, q Query, max int) (attrs []*ngsild.Attr, ok bool, err error) {
	q.LastN = 0
	h, more, err := r.hits(si.ID, q, max)
	if err != nil {
		return nil, false, err
	}
	attrs = make([]*ngsild.Attr, len(h))
	for i := range h {
		attrs[i] = h[i].x.toAttr(si.DatasetID)
	}
	return attrs, !more, nil
}

// rollups visits the roll-up buckets [lo, hi) of a series at a level.
func (r *Reader) rollups(ser uint64, level byte, lo, hi int64, visit func(bucket int64, st stats)) error {
	prefix := rollupKey(level, ser, 0)[:10]
	for ok := r.it.SeekGE(rollupKey(level, ser, lo)); ok; ok = r.it.Next() {
		k := r.it.Key()
		if !bytes.HasPrefix(k, prefix) {
			break
		}
		b, good := parseRollupKey(k)
		if !good || b >= hi {
			break
		}
		v, err := r.it.ValueAndErr()
		if err != nil {
			return err
		}
		st, err := decodeStats(v)
		if err != nil {
			return err
		}
		r.rollupBuckets++
		visit(b, st)
	}
	return r.it.Error()
}
