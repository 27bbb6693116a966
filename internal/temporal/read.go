package temporal

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"sync"
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
	info := EntityInfo{ID: s.cat.idOf(e), Types: s.cat.typesOf(e), CreatedAt: msTime(e.created), ModifiedAt: msTime(e.modified)}
	if e.deleted != 0 {
		info.DeletedAt = msTime(e.deleted)
	}
	ss := s.cat.list(e)
	e.mu.RUnlock()
	for _, x := range ss {
		if !x.isCommitted() || x.isDead() {
			continue
		}
		kind, classes, _ := x.info()
		info.Series = append(info.Series, SeriesInfo{ID: x.id, Attr: s.cat.nameOf(x).attr, DatasetID: s.cat.nameOf(x).dataset, Kind: kind, classes: classes})
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
	it  *pebble.Iterator
	buf []inst // decoded instances, reused from window to window
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
	r := &Reader{it: it}
	if b, ok := instPool.Get().(*[]inst); ok {
		r.buf = *b
	}
	return r, nil
}

// instPool keeps the instance buffers of closed Readers (a decoded day is
// about 100 KB).
var instPool sync.Pool

// Close releases the reader.
func (r *Reader) Close() error {
	if r.buf != nil {
		b := r.buf[:cap(r.buf)]
		clear(b) // drop the references to decoded values
		b = b[:0]
		r.buf = nil
		instPool.Put(&b)
	}
	return r.it.Close()
}

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

// scanParts visits the windows lo..hi of a series, in order or backwards,
// with each window's instances sorted by key time and number, until visit
// returns false. The slice visit gets is reused for the next window.
// Without values, the instances hold only their times, numbers and flags.
func (r *Reader) scanParts(ser uint64, lo, hi int64, backward, values bool, visit func(w int64, insts []inst) bool) error {
	buf := r.buf[:0]
	defer func() { r.buf = buf[:0] }()
	cur, chunks := int64(0), 0
	flush := func() bool {
		if chunks == 0 {
			return true
		}
		if chunks > 1 {
			// A chunk is sorted; several may overlap in time.
			sortInsts(buf)
		}
		chunks = 0
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
		if chunks > 0 && w != cur {
			if !flush() {
				return nil
			}
		}
		v, err := r.it.ValueAndErr()
		if err != nil {
			return err
		}
		if buf, err = decodeChunkParts(v, buf, values); err != nil {
			return err
		}
		cur = w
		chunks++
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
	// The attributes of numeric instances and all the instanceIds are
	// allocated together: a lastN page is hundreds of them.
	nums := 0
	for i := range hits {
		if hits[i].x.flags&flagNumber != 0 {
			nums++
		}
	}
	slab := make([]ngsild.Attr, 0, nums)
	ids := make([]byte, 0, 48*len(hits))
	ends := make([]int, len(hits))
	for i := range hits {
		x := &hits[i].x
		ids = appendInstanceID(ids, si.ID, x.t, x.num)
		ends[i] = len(ids)
		var a *ngsild.Attr
		if x.flags&flagNumber != 0 {
			slab = append(slab, ngsild.Attr{})
			a = &slab[len(slab)-1]
			x.fillAttr(a, si.DatasetID)
		} else {
			a = x.toAttr(si.DatasetID)
		}
		p.Instances[i] = Instance{Attr: a, Time: hits[i].t}
	}
	all, start := string(ids), 0
	for i := range p.Instances {
		p.Instances[i].ID = all[start:ends[i]]
		start = ends[i]
	}
	return p, nil
}

// hits selects the instances of Instances. Series are read window by
// window from the first (or, with lastN, the last) one that can hold
// matches, and the scan stops as soon as one more than wanted is found.
func (r *Reader) hits(ser uint64, q Query, limit int) ([]hit, bool, error) {
	return r.hitsParts(ser, q, limit, true)
}

// hitsParts is hits; without values, only the times of the instances.
func (r *Reader) hitsParts(ser uint64, q Query, limit int, values bool) ([]hit, bool, error) {
	want := limit
	serverCut := limit > 0
	if q.LastN > 0 && (limit <= 0 || q.LastN <= limit) {
		want, serverCut = q.LastN, false
	}
	enough := func(n int) bool { return want > 0 && n > want }
	lo, hi := q.windowRange()
	var out []hit
	if want > 0 && want <= 4096 {
		out = make([]hit, 0, want+1)
	}
	var err error
	switch {
	case !q.keyOrdered():
		// createdAt and modifiedAt do not follow the key time: read all.
		err = r.scanParts(ser, lo, hi, false, values, func(_ int64, insts []inst) bool {
			for i := range insts {
				if t, ok := q.matches(&insts[i]); ok {
					out = append(out, hit{insts[i], t})
				}
			}
			return true
		})
		sortHits(out)
	case q.LastN > 0:
		err = r.scanParts(ser, lo, hi, true, values, func(_ int64, insts []inst) bool {
			for i := len(insts) - 1; i >= 0; i-- {
				if t, ok := q.matches(&insts[i]); ok {
					out = append(out, hit{insts[i], t})
					if enough(len(out)) {
						return false
					}
				}
			}
			return true
		})
		slices.Reverse(out)
	default:
		err = r.scanParts(ser, lo, hi, false, values, func(_ int64, insts []inst) bool {
			for i := range insts {
				if t, ok := q.matches(&insts[i]); ok {
					out = append(out, hit{insts[i], t})
					if enough(len(out)) {
						return false
					}
				}
			}
			return true
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

// Any reports whether q selects any instance of a series. For observedAt
// ranges the hourly roll-ups answer for the whole hours of the range; only
// the hours at its edges are read.
func (r *Reader) Any(si SeriesInfo, q Query) (bool, error) {
	q.LastN = 0
	if q.Prop != ObservedAt || q.Rel == NoRel {
		h, _, err := r.hitsParts(si.ID, q, 1, false)
		return len(h) > 0, err
	}
	lo, hi := rangeLo(q), rangeHi(q)
	// Whole hours [hLo, hHi) of the range.
	hLo, hHi := int64(math.MinInt64/hourMillis), int64(math.MaxInt64/hourMillis)
	if lo != math.MinInt64 {
		hLo = floorDiv(lo+hourMillis-1, hourMillis)
	}
	if hi != math.MaxInt64 {
		hHi = floorDiv(hi, hourMillis)
	}
	if hLo < hHi {
		found := false
		if err := r.rollups(si.ID, levelHour, hLo, hHi, func(_ int64, st stats) bool { found = st.total > 0; return !found }); err != nil || found {
			return found, err
		}
	}
	// The partial hours at the edges (or the whole range within an hour).
	edges := [][2]int64{{lo, min(hi, hLo*hourMillis)}, {max(lo, hHi*hourMillis), hi}}
	if hLo >= hHi {
		edges = [][2]int64{{lo, hi}}
	}
	for _, e := range edges {
		if e[0] >= e[1] {
			continue
		}
		sub := q
		sub.Rel, sub.At, sub.End, sub.PropGiven = Between, e[0], e[1], true
		if e[0] == math.MinInt64 {
			sub.Rel, sub.At = Before, e[1]
		} else if e[1] == math.MaxInt64 {
			sub.Rel = After
		}
		h, _, err := r.hitsParts(si.ID, sub, 1, false)
		if err != nil || len(h) > 0 {
			return len(h) > 0, err
		}
	}
	return false, nil
}

// Span returns the times (for q) of the first and last instances of a
// series that q selects, and false when there are none.
func (r *Reader) Span(si SeriesInfo, q Query) (first, last int64, ok bool, err error) {
	q.LastN = 0
	h, _, err := r.hitsParts(si.ID, q, 1, false)
	if err != nil || len(h) == 0 {
		return 0, 0, false, err
	}
	first = h[0].t
	q.LastN = 1
	h, _, err = r.hitsParts(si.ID, q, 1, false)
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

// rollups visits the roll-up buckets [lo, hi) of a series at a level in
// order until visit returns false.
func (r *Reader) rollups(ser uint64, level byte, lo, hi int64, visit func(bucket int64, st stats) bool) error {
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
		if !visit(b, st) {
			return nil
		}
	}
	return r.it.Error()
}
