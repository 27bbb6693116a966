package temporal

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/qala-city/qala/internal/ngsild"
)

// Entry is a write of the temporal API to one entity: instances to add,
// types to add, and optionally the scope.
type Entry struct {
	Tenant, ID string
	Types      []string                  // expanded; added to the entity's types
	Attrs      map[string][]*ngsild.Attr // expanded name → instances (datasetId in each)
	Scope      []string                  // recorded as a scope instance when HasScope
	HasScope   bool
}

// Append adds the instances of an Entry to the entity's Temporal Evolution,
// creating it (clauses 5.6.11 and 5.6.12), in one atomic durable write; it
// reports whether the entity had no history before. Each instance gets
// createdAt and modifiedAt = now; an instance with the observedAt of one
// already in its series replaces it. It fails with ErrDisabled when
// history is off for the entity's tenant and types.
func (s *Store) Append(ctx context.Context, e Entry) (created bool, err error) {
	types := e.Types
	if cur := s.cat.entity(e.Tenant, e.ID); cur != nil {
		cur.mu.RLock()
		types = unionTypes(s.cat.typesOf(cur), e.Types)
		cur.mu.RUnlock()
	} else {
		created = true
	}
	if !s.cfg.Load().enabled(e.Tenant, types) {
		return false, ErrDisabled
	}
	now := s.nowMs()
	w := &entWrite{tenant: e.Tenant, id: e.ID, types: e.Types, at: now}
	for name, insts := range e.Attrs {
		for _, a := range insts {
			w.add(sKey{name, a.DatasetID}, fromAttr(a, now, now, false))
		}
	}
	if e.HasScope {
		if len(e.Scope) == 0 {
			w.add(sKey{ScopeAttr, ""}, scopeDeletion(now))
		} else {
			w.add(sKey{ScopeAttr, ""}, scopeInstance(e.Scope, now))
		}
	}
	return created, s.apply(ctx, []*entWrite{w}, 0)
}

// DeleteEntity removes the whole Temporal Evolution of an entity (clause
// 5.6.16), or fails with ErrNotFound.
func (s *Store) DeleteEntity(ctx context.Context, tenant, id string) error {
	e := s.cat.entity(tenant, id)
	if e == nil {
		return ErrNotFound
	}
	e.mu.RLock()
	ss := s.cat.list(e)
	e.mu.RUnlock()
	return s.dropSeries(ctx, ss, e)
}

// DeleteAttr removes an attribute from an entity's Temporal Evolution
// (clause 5.6.13): the instances of the default instance's series, of the
// datasetId given, or with all every datasetId's. It fails with
// ErrNotFound when the entity or that attribute has no history.
func (s *Store) DeleteAttr(ctx context.Context, tenant, id, attr, datasetID string, all bool) error {
	e := s.cat.entity(tenant, id)
	if e == nil {
		return ErrNotFound
	}
	var ss []*series
	e.mu.RLock()
	for _, x := range s.cat.list(e) {
		if k := s.cat.nameOf(x); k.attr == attr && (all || k.dataset == datasetID) {
			ss = append(ss, x)
		}
	}
	e.mu.RUnlock()
	if len(ss) == 0 {
		return ErrNotFound
	}
	return s.dropSeries(ctx, ss, nil)
}

// dropSeries deletes series with range deletions; with e, the entity too.
func (s *Store) dropSeries(ctx context.Context, ss []*series, e *entity) error {
	if err := s.checkOpen(ctx); err != nil {
		return err
	}
	slices.SortFunc(ss, func(a, b *series) int { return cmpU64(a.id, b.id) })
	for _, x := range ss {
		x.wmu.Lock()
		defer x.wmu.Unlock()
	}
	b := s.db.NewBatch()
	defer b.Close()
	for _, x := range ss {
		if err := deleteSeriesData(b, x.id, math.MaxInt64); err != nil {
			return err
		}
		if err := b.Delete(seriesKey(x.id), nil); err != nil {
			return err
		}
	}
	if e != nil {
		if err := b.Delete(entityKey(s.cat.tenantOf(e), s.cat.idOf(e)), nil); err != nil {
			return err
		}
	}
	if err := b.Commit(s.writeOpts()); err != nil {
		return fmt.Errorf("temporal: commit: %w", err)
	}
	for _, x := range ss {
		s.cat.removeSeries(x)
	}
	if e != nil {
		s.cat.removeEntity(e)
	}
	return nil
}

// deleteSeriesData stages range deletions of a series' chunks and roll-ups
// in the windows before upTo (math.MaxInt64: all of them).
func deleteSeriesData(b *pebble.Batch, ser uint64, upTo int64) error {
	lo, _ := seriesChunkRange(ser)
	if err := b.DeleteRange(lo, chunkBound(ser, upTo), nil); err != nil {
		return err
	}
	hourHi, dayHi := int64(math.MaxInt64), int64(math.MaxInt64)
	if upTo != math.MaxInt64 {
		hourHi, dayHi = upTo*24, upTo
	}
	if err := b.DeleteRange(rollupKey(levelHour, ser, math.MinInt64), rollupKey(levelHour, ser, hourHi), nil); err != nil {
		return err
	}
	return b.DeleteRange(rollupKey(levelDay, ser, math.MinInt64), rollupKey(levelDay, ser, dayHi), nil)
}

// instance identifiers: urn:ngsi-ld:Instance:<series>.<time>.<number>,
// where time is the key time the instance was first written at (a hint to
// find it; it stays the same when a patch changes observedAt).
const instancePrefix = "urn:ngsi-ld:Instance:"

// InstanceID returns the instanceId of an instance.
func instanceID(ser uint64, t int64, num uint64) string {
	return string(appendInstanceID(make([]byte, 0, 48), ser, t, num))
}

// appendInstanceID appends instanceID(ser, t, num) to b.
func appendInstanceID(b []byte, ser uint64, t int64, num uint64) []byte {
	b = append(b, instancePrefix...)
	b = strconv.AppendUint(b, ser, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, t, 10)
	b = append(b, '.')
	return strconv.AppendUint(b, num, 10)
}

func parseInstanceID(s string) (ser uint64, t int64, num uint64, ok bool) {
	rest, found := strings.CutPrefix(s, instancePrefix)
	if !found {
		return 0, 0, 0, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	ser, err1 = strconv.ParseUint(parts[0], 10, 64)
	t, err2 = strconv.ParseInt(parts[1], 10, 64)
	num, err3 = strconv.ParseUint(parts[2], 10, 64)
	return ser, t, num, err1 == nil && err2 == nil && err3 == nil
}

// locate finds the series of an instance of an entity's attribute.
func (s *Store) locate(tenant, id, attr, instance string) (*series, int64, uint64, error) {
	serID, hint, num, ok := parseInstanceID(instance)
	if !ok {
		return nil, 0, 0, ErrNotFound
	}
	e := s.cat.entity(tenant, id)
	if e == nil {
		return nil, 0, 0, ErrNotFound
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, x := range s.cat.list(e) {
		if x.id == serID && s.cat.nameOf(x).attr == attr {
			return x, hint, num, nil
		}
	}
	return nil, 0, 0, ErrNotFound
}

// HasAttr reports whether the entity has history for the attribute.
func (s *Store) HasAttr(tenant, id, attr string) bool {
	e := s.cat.entity(tenant, id)
	if e == nil {
		return false
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, x := range s.cat.list(e) {
		if s.cat.nameOf(x).attr == attr {
			return true
		}
	}
	return false
}

// findInstance returns the window holding instance num of a series, its
// instances and chunk keys, and its index; the window of the id's time is
// tried first, then the whole series.
func (s *Store) findInstance(ser *series, hint int64, num uint64) (int64, []inst, [][]byte, int, error) {
	w := window(hint)
	cur, keys, err := loadWindow(s.db, ser.id, w)
	if err != nil {
		return 0, nil, nil, 0, err
	}
	for i := range cur {
		if cur[i].num == num {
			return w, cur, keys, i, nil
		}
	}
	// The instance moved (a patch changed its observedAt): scan the series.
	lo, hi := seriesChunkRange(ser.id)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, nil, nil, 0, err
	}
	defer it.Close()
	var buf []inst
	for ok := it.First(); ok; ok = it.Next() {
		_, win, _, _ := parseChunkKey(it.Key())
		if win == w {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return 0, nil, nil, 0, err
		}
		if buf, err = decodeChunk(v, buf[:0]); err != nil {
			return 0, nil, nil, 0, err
		}
		for i := range buf {
			if buf[i].num == num {
				cur, keys, err := loadWindow(s.db, ser.id, win)
				if err != nil {
					return 0, nil, nil, 0, err
				}
				for j := range cur {
					if cur[j].num == num {
						return win, cur, keys, j, nil
					}
				}
			}
		}
	}
	if err := it.Error(); err != nil {
		return 0, nil, nil, 0, err
	}
	return 0, nil, nil, 0, ErrNotFound
}

// PatchInstance replaces one instance of an entity's attribute (clause
// 5.6.14): it keeps its instanceId and createdAt, and gets modifiedAt =
// now. It fails with ErrNotFound when the entity, the attribute or the
// instance does not exist.
func (s *Store) PatchInstance(ctx context.Context, tenant, id, attr, instance string, a *ngsild.Attr) error {
	return s.changeInstance(ctx, tenant, id, attr, instance, a)
}

// DeleteInstance removes one instance of an entity's attribute (clause
// 5.6.15), or fails with ErrNotFound.
func (s *Store) DeleteInstance(ctx context.Context, tenant, id, attr, instance string) error {
	return s.changeInstance(ctx, tenant, id, attr, instance, nil)
}

// changeInstance replaces (a != nil) or removes an instance, rewriting the
// windows concerned and their roll-ups.
func (s *Store) changeInstance(ctx context.Context, tenant, id, attr, instance string, a *ngsild.Attr) error {
	if err := s.checkOpen(ctx); err != nil {
		return err
	}
	ser, hint, num, err := s.locate(tenant, id, attr, instance)
	if err != nil {
		return err
	}
	ser.wmu.Lock()
	defer ser.wmu.Unlock()
	if ser.isDead() {
		return ErrNotFound
	}
	w, cur, keys, i, err := s.findInstance(ser, hint, num)
	if err != nil {
		return err
	}
	now := s.nowMs()
	b := s.db.NewBatch()
	defer b.Close()
	old := cur[i]
	cur = slices.Delete(cur, i, i+1)
	var updates []winUpdate
	st := seriesState{nextNum: ser.nextNum, maxObs: ser.maxObs, lastT: ser.lastT}
	st.kind, st.classes, st.noObs = ser.info()
	if a != nil {
		x := fromAttr(a, old.created, now, false)
		x.num = old.num
		st.classes |= valueClass(&x)
		st.kind = kindOf(&x)
		if x.flags&flagObserved == 0 {
			st.noObs = true
		} else {
			st.maxObs = max(st.maxObs, x.t)
		}
		st.lastT = max(st.lastT, x.t)
		if nw := window(x.t); nw != w {
			other, okeys, err := loadWindow(s.db, ser.id, nw)
			if err != nil {
				return err
			}
			other = append(other, x)
			sortInsts(other)
			if err := rewriteWindow(b, ser.id, nw, okeys, other, true); err != nil {
				return err
			}
			updates = append(updates, winUpdate{nw, countsOf(len(other))})
		} else {
			cur = append(cur, x)
			sortInsts(cur)
		}
	}
	if err := rewriteWindow(b, ser.id, w, keys, cur, true); err != nil {
		return err
	}
	if err := b.Set(seriesKey(ser.id), s.cat.record(ser, st.nextNum, st.maxObs, st.lastT, st.kind, st.classes, st.noObs), nil); err != nil {
		return err
	}
	if err := b.Commit(s.writeOpts()); err != nil {
		return fmt.Errorf("temporal: commit: %w", err)
	}
	ser.maxObs, ser.lastT = st.maxObs, st.lastT
	ser.setInfo(st.kind, st.classes, st.noObs)
	s.setCounts(ser, w, countsOf(len(cur)))
	for _, u := range updates {
		s.setCounts(ser, u.w, u.c)
	}
	return nil
}
