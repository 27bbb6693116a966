package temporal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/qala-city/qala/internal/ngsild"
)

// entWrite is what one write does to the history of one entity.
type entWrite struct {
	tenant, id string
	types      []string
	at         int64 // Unix ms of the write
	deleted    int64 // > 0: the entity was deleted at this time
	revived    bool  // the entity exists (again): clear deletedAt
	insts      map[sKey][]inst
}

func (w *entWrite) add(k sKey, x inst) {
	if w.insts == nil {
		w.insts = map[sKey][]inst{}
	}
	w.insts[k] = append(w.insts[k], x)
}

// seriesWork is the new instances of one series in a write.
type seriesWork struct {
	s     *series
	insts []inst
}

// seriesState is a series' state after a write, applied once it commits.
type seriesState struct {
	nextNum       uint64
	maxObs, lastT int64
	kind          ngsild.AttrType
	classes       uint8
	noObs         bool
	windows       []winUpdate // chunk counts of the windows written (for compaction)
}

// winUpdate is the chunk counts of window w after a write.
type winUpdate struct {
	w int64
	c winCounts
}

// apply writes entity writes in one atomic, durable batch, with the change
// log cursor when cursor > 0.
func (s *Store) apply(ctx context.Context, writes []*entWrite, cursor uint64) error {
	if err := s.checkOpen(ctx); err != nil {
		return err
	}
	// One entWrite per entity, in order.
	merged := map[[2]string]*entWrite{}
	var order []*entWrite
	for _, w := range writes {
		k := [2]string{w.tenant, w.id}
		m := merged[k]
		if m == nil {
			merged[k] = w
			order = append(order, w)
			continue
		}
		m.types = unionTypes(m.types, w.types)
		m.at = max(m.at, w.at)
		if w.deleted > 0 {
			m.deleted, m.revived = w.deleted, false
		} else if w.revived {
			m.deleted, m.revived = 0, true
		}
		for sk, xs := range w.insts {
			for _, x := range xs {
				m.add(sk, x)
			}
		}
	}

	var ents []*entity
	var work []*seriesWork
	for {
		ents, work = ents[:0], work[:0]
		bySeries := map[*series]*seriesWork{}
		for _, w := range order {
			e := s.cat.getOrCreate(w.tenant, w.id)
			ents = append(ents, e)
			// In a stable order, so that new series get their ids
			// deterministically.
			keys := make([]sKey, 0, len(w.insts))
			for k := range w.insts {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, func(a, b sKey) int {
				if c := strings.Compare(a.attr, b.attr); c != 0 {
					return c
				}
				return strings.Compare(a.dataset, b.dataset)
			})
			for _, k := range keys {
				xs := w.insts[k]
				ser := s.cat.seriesOf(e, k.attr, k.dataset)
				sw := bySeries[ser]
				if sw == nil {
					sw = &seriesWork{s: ser}
					bySeries[ser] = sw
					work = append(work, sw)
				}
				sw.insts = append(sw.insts, xs...)
			}
		}
		slices.SortFunc(work, func(a, b *seriesWork) int { return cmpU64(a.s.id, b.s.id) })
		for _, sw := range work {
			sw.s.wmu.Lock()
		}
		stale := false
		for _, sw := range work {
			stale = stale || sw.s.isDead()
		}
		for _, e := range ents {
			stale = stale || e.dead.Load()
		}
		if !stale {
			break
		}
		for _, sw := range work {
			sw.s.wmu.Unlock()
		}
	}
	defer func() {
		for _, sw := range work {
			sw.s.wmu.Unlock()
		}
	}()

	b := s.db.NewBatch()
	defer b.Close()
	states := make([]seriesState, len(work))
	n := 0
	for i, sw := range work {
		st, err := s.writeSeries(b, sw.s, sw.insts)
		if err != nil {
			return err
		}
		states[i] = st
		n += len(sw.insts)
	}
	type entState struct {
		types                      []string
		created, modified, deleted int64
	}
	estates := make([]entState, len(order))
	for i, w := range order {
		e := ents[i]
		e.mu.RLock()
		es := entState{types: unionTypes(s.cat.typesOf(e), w.types), created: e.created, modified: max(e.modified, w.at), deleted: e.deleted}
		e.mu.RUnlock()
		if es.created == 0 {
			es.created = w.at
		}
		if w.deleted > 0 {
			es.deleted = w.deleted
		} else if w.revived {
			es.deleted = 0
		}
		estates[i] = es
		if err := b.Set(entityKey(w.tenant, w.id), entityRecord(es.types, es.created, es.modified, es.deleted), nil); err != nil {
			return err
		}
	}
	for i, sw := range work {
		st := &states[i]
		if err := b.Set(seriesKey(sw.s.id), s.cat.record(sw.s, st.nextNum, st.maxObs, st.lastT, st.kind, st.classes, st.noObs), nil); err != nil {
			return err
		}
	}
	s.cat.mu.RLock()
	next := s.cat.nextSeries
	s.cat.mu.RUnlock()
	if err := b.Set(keyNextSeries, binary.BigEndian.AppendUint64(nil, next), nil); err != nil {
		return err
	}
	if cursor > 0 {
		if err := b.Set(keyCursor, binary.BigEndian.AppendUint64(nil, cursor), nil); err != nil {
			return err
		}
	}
	if err := b.Commit(s.writeOpts()); err != nil {
		return fmt.Errorf("temporal: commit: %w", err)
	}

	// Durable: publish.
	for i, sw := range work {
		st := &states[i]
		ser := sw.s
		ser.nextNum, ser.maxObs, ser.lastT = st.nextNum, st.maxObs, st.lastT
		ser.setInfo(st.kind, st.classes, st.noObs)
		ser.setCommitted()
		for _, u := range st.windows {
			s.setCounts(ser, u.w, u.c)
		}
	}
	for i, e := range ents {
		es := estates[i]
		e.mu.Lock()
		e.types, e.created, e.modified, e.deleted = s.cat.typeList(es.types), es.created, es.modified, es.deleted
		e.mu.Unlock()
		e.committed.Store(true)
	}
	if cursor > 0 {
		s.cursor.Store(cursor)
	}
	if s.metrics != nil {
		s.metrics.instances.Add(float64(n))
	}
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeSeries stages new instances of a series (sorted here) in b and
// returns the series' state after them. ser.wmu is held.
func (s *Store) writeSeries(b *pebble.Batch, ser *series, insts []inst) (seriesState, error) {
	st := seriesState{nextNum: ser.nextNum, maxObs: ser.maxObs, lastT: ser.lastT}
	st.kind, st.classes, st.noObs = ser.info()
	if len(insts) == 0 {
		return st, nil
	}
	st.kind = kindOf(&insts[len(insts)-1])
	for i := range insts {
		x := &insts[i]
		st.classes |= valueClass(x)
		if x.flags&(flagObserved|flagDeleted) == 0 {
			st.noObs = true
		}
	}
	slices.SortStableFunc(insts, func(a, b inst) int { return cmpI64(a.t, b.t) })
	insts = dedupeObserved(insts)

	for i := 0; i < len(insts); {
		w := window(insts[i].t)
		j := i + 1
		for j < len(insts) && window(insts[j].t) == w {
			j++
		}
		g := insts[i:j]
		i = j
		late := false
		for k := range g {
			if g[k].flags&flagObserved != 0 && g[k].t <= st.maxObs {
				late = true
				break
			}
		}
		var err error
		if late {
			err = s.mergeIntoWindow(b, ser, w, g, &st)
		} else {
			err = s.appendToWindow(b, ser, w, g, &st)
		}
		if err != nil {
			return st, err
		}
		for k := range g {
			if g[k].flags&flagObserved != 0 {
				st.maxObs = max(st.maxObs, g[k].t)
			}
			st.lastT = max(st.lastT, g[k].t)
		}
	}
	return st, nil
}

func cmpI64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dedupeObserved keeps, of observed instances with the same key time, the
// last one (insts sorted stably by time: the last written).
func dedupeObserved(insts []inst) []inst {
	out := insts[:0]
	for i := range insts {
		x := insts[i]
		if x.flags&flagObserved != 0 {
			// Replace an earlier observed instance with the same time.
			replaced := false
			for k := len(out) - 1; k >= 0 && out[k].t == x.t; k-- {
				if out[k].flags&flagObserved != 0 {
					out[k] = x
					replaced = true
					break
				}
			}
			if replaced {
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// appendToWindow stages instances later than every observed one of the
// series in window w: a new chunk, and their roll-ups merged into the
// buckets they fall in.
func (s *Store) appendToWindow(b *pebble.Batch, ser *series, w int64, g []inst, st *seriesState) error {
	for k := range g {
		g[k].num = st.nextNum
		st.nextNum++
	}
	// A window after every instance of the series held no chunk: if g
	// fits in one, the window is left as compaction would leave it, and is
	// not pending (a later write to it makes it pending).
	before := s.countsBefore(ser, w, st)
	if err := putChunks(b, ser.id, w, g); err != nil {
		return err
	}
	st.windows = append(st.windows, winUpdate{w, before.plus(countsOf(len(g)))})
	for _, level := range [...]byte{levelHour, levelDay} {
		size := levelMillis(level)
		for bucket, add := range bucketStats(g, level) {
			key := rollupKey(level, ser.id, bucket)
			cur := stats{}
			if st.maxObs >= bucket*size { // the bucket may hold earlier instances
				v, closer, err := s.db.Get(key)
				switch {
				case err == nil:
					cur, err = decodeStats(v)
					closer.Close()
					if err != nil {
						return fmt.Errorf("temporal: roll-up of series %d: %w", ser.id, err)
					}
				case !errors.Is(err, pebble.ErrNotFound):
					return err
				}
			}
			cur.merge(*add)
			if err := b.Set(key, encodeStats(cur), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeIntoWindow stages instances of which some are not later than the
// series' last observed one: the window is read, an observed instance with
// the same time as a new one is replaced (keeping its number and
// createdAt), the window rewritten and its roll-ups recomputed.
func (s *Store) mergeIntoWindow(b *pebble.Batch, ser *series, w int64, g []inst, st *seriesState) error {
	cur, keys, err := loadWindow(s.db, ser.id, w)
	if err != nil {
		return err
	}
	byTime := map[int64]int{}
	for i := range cur {
		if cur[i].flags&flagObserved != 0 {
			byTime[cur[i].t] = i
		}
	}
	for k := range g {
		x := g[k]
		if x.flags&flagObserved != 0 {
			if i, ok := byTime[x.t]; ok {
				x.num, x.created = cur[i].num, cur[i].created
				cur[i] = x
				continue
			}
		}
		x.num = st.nextNum
		st.nextNum++
		cur = append(cur, x)
	}
	sortInsts(cur)
	st.windows = append(st.windows, winUpdate{w, countsOf(len(cur))})
	return rewriteWindow(b, ser.id, w, keys, cur, true)
}

// putChunks stages sorted instances of window w as chunks of at most
// maxChunk instances. A chunk's key ends with the smallest instance number
// it holds, which no other chunk of the series holds.
func putChunks(b *pebble.Batch, ser uint64, w int64, insts []inst) error {
	for i := 0; i < len(insts); i += maxChunk {
		part := insts[i:min(i+maxChunk, len(insts))]
		seq := uint64(math.MaxUint64)
		for k := range part {
			seq = min(seq, part[k].num)
		}
		if err := b.Set(chunkKey(ser, w, seq), encodeChunk(part), nil); err != nil {
			return err
		}
	}
	return nil
}

// rewriteWindow replaces the chunks keys of window w by insts (sorted;
// possibly none) and, with rollups, recomputes the window's roll-ups.
func rewriteWindow(b *pebble.Batch, ser uint64, w int64, keys [][]byte, insts []inst, rollups bool) error {
	for _, k := range keys {
		if err := b.Delete(k, nil); err != nil {
			return err
		}
	}
	if len(insts) > 0 {
		if err := putChunks(b, ser, w, insts); err != nil {
			return err
		}
	}
	if !rollups {
		return nil
	}
	hourLo, hourHi := w*24, w*24+24
	if err := b.DeleteRange(rollupKey(levelHour, ser, hourLo), rollupKey(levelHour, ser, hourHi), nil); err != nil {
		return err
	}
	if err := b.Delete(rollupKey(levelDay, ser, w), nil); err != nil {
		return err
	}
	for _, level := range [...]byte{levelHour, levelDay} {
		for bucket, st := range bucketStats(insts, level) {
			if err := b.Set(rollupKey(level, ser, bucket), encodeStats(*st), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadWindow reads the instances (sorted) and chunk keys of window w.
func loadWindow(r pebble.Reader, ser uint64, w int64) ([]inst, [][]byte, error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: chunkBound(ser, w), UpperBound: chunkBound(ser, w+1)})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	var out []inst
	var keys [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		keys = append(keys, slices.Clone(it.Key()))
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, nil, err
		}
		if out, err = decodeChunk(v, out); err != nil {
			return nil, nil, fmt.Errorf("temporal: chunk %x: %w", it.Key(), err)
		}
	}
	if err := it.Error(); err != nil {
		return nil, nil, err
	}
	sortInsts(out)
	return out, keys, nil
}

// valueClass classifies an instance's value for aggregation eligibility.
func valueClass(x *inst) uint8 {
	if x.flags&flagDeleted != 0 {
		return 0
	}
	if x.flags&flagNumber != 0 {
		return classNumber
	}
	switch x.a.Type {
	case ngsild.Property, ngsild.GeoProperty:
		return jsonClass(x.a.Value)
	case ngsild.JsonProperty:
		return classObject
	case ngsild.ListProperty:
		return classArray
	}
	return classOther
}

func jsonClass(v any) uint8 {
	switch x := v.(type) {
	case float64:
		return classNumber
	case bool:
		return classBool
	case string:
		if _, err := ngsild.ParseDateTime(x); err == nil && len(x) >= 19 {
			return classDateTime
		}
		return classString
	case []any:
		return classArray
	case map[string]any:
		return classObject
	}
	return 0
}
