package temporal

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Compaction merges the chunks of a window that were written in small
// pieces — the change log brings one instance per series per batch — so
// that a day of 1-minute readings ends as one chunk. Small chunks are
// merged in tiers while the window is current (write amplification stays
// a small constant); once the day is over and an hour of grace has passed
// (the window is sealed), everything left is merged into as few chunks as
// maxChunk allows. Merging changes no instance, so roll-ups are untouched.

type dirtyKey struct {
	s uint32 // series slot
	w int64
}

// winCounts are the chunk counts of a window: all its chunks, and the
// small ones. The write path knows what it writes, so the counts of a
// window are kept up to date in memory and a compaction pass reads only
// the windows it merges; a window whose earlier content is not known (after
// a restart) is read once to learn them.
//
// They take 4 bytes (every series holds those of its last window): counts
// that do not fit are unknown, and then read again.
type winCounts struct{ chunks, small uint16 }

// unknownCounts are the counts of a window whose content is not known.
var unknownCounts = winCounts{chunks: math.MaxUint16}

func (c winCounts) known() bool { return c.chunks != math.MaxUint16 }

// counts returns known counts, or unknownCounts if they do not fit.
func counts(chunks, small int) winCounts {
	if chunks < 0 || chunks >= math.MaxUint16 || small < 0 || small > chunks {
		return unknownCounts
	}
	return winCounts{uint16(chunks), uint16(small)}
}

// countsOf returns the counts of a window written whole with n instances
// (putChunks).
func countsOf(n int) winCounts {
	chunks, small := n/maxChunk, 0
	if rest := n % maxChunk; rest > 0 {
		chunks++
		if rest < smallChunk {
			small++
		}
	}
	return counts(chunks, small)
}

// plus returns the counts after adding d's chunks.
func (c winCounts) plus(d winCounts) winCounts {
	if !c.known() || !d.known() {
		return unknownCounts
	}
	return counts(int(c.chunks)+int(d.chunks), int(c.small)+int(d.small))
}

// needsMerge reports whether a pass merges a window with counts c.
func (c winCounts) needsMerge(sealed bool) bool {
	return c.chunks > 1 && (sealed || c.chunks > maxChunks || c.small >= smallBatch)
}

// Compaction thresholds: a chunk of fewer than smallChunk instances is
// small; smallBatch small chunks are merged together; a window with more
// than maxChunks chunks is merged whole.
const (
	smallChunk = 128
	smallBatch = 16
	maxChunks  = 64
	sealGrace  = time.Hour
)

// Bounds of a background pass (a forced one is not bounded): it stops
// after passSlice of work, having looked at passMin windows at least, so
// that a restart with millions of series (each last window is read once)
// or the sealing of millions of windows at the end of a day spreads over
// passes instead of taking the CPU.
const (
	defaultPassSlice = 250 * time.Millisecond
	passMin          = 64
)

// countsBefore returns the counts of window w of ser before a write, with
// st the series' state so far in that write. ser.wmu is held.
func (s *Store) countsBefore(ser *series, w int64, st *seriesState) winCounts {
	if st.lastT == math.MinInt64 || w > window(st.lastT) {
		return winCounts{} // after every instance: empty
	}
	s.dirtyMu.Lock()
	c, ok := s.dirty[dirtyKey{ser.slot, w}]
	s.dirtyMu.Unlock()
	if ok {
		return c
	}
	if ser.lastT != math.MinInt64 && w == window(ser.lastT) {
		return ser.last
	}
	return unknownCounts
}

// setCounts records the counts of window w of ser after a committed write
// or merge; the window is pending unless it is known to hold at most one
// chunk. ser.wmu is held and ser.lastT is up to date.
func (s *Store) setCounts(ser *series, w int64, c winCounts) {
	if ser.lastT != math.MinInt64 && w == window(ser.lastT) {
		ser.last = c
	}
	k := dirtyKey{ser.slot, w}
	s.dirtyMu.Lock()
	if c.known() && c.chunks <= 1 {
		delete(s.dirty, k)
	} else {
		s.dirty[k] = c
	}
	s.dirtyMu.Unlock()
}

// PendingCompactions returns the number of windows waiting to be looked at.
func (s *Store) PendingCompactions() int {
	s.dirtyMu.Lock()
	defer s.dirtyMu.Unlock()
	return len(s.dirty) + len(s.rescan)
}

// Compact looks at every window written in pieces and merges what it can;
// with force, current windows too are merged whole, and pebble then
// compacts the whole database (what a benchmark measuring the size on disk
// wants). It returns the number of windows merged. Only the windows it
// merges, and those whose counts are not known yet, are read.
func (s *Store) Compact(ctx context.Context, force bool) (int, error) {
	start := time.Now()
	now := s.nowMs()
	s.dirtyMu.Lock()
	var keys []dirtyKey
	for k, c := range s.dirty {
		if force || !c.known() || s.cat.seriesAt(k.s).isDead() || c.needsMerge(sealedAt(k.w, now)) {
			keys = append(keys, k)
		}
	}
	s.dirtyMu.Unlock()
	merged, looked := 0, 0
	budget := func() bool { return force || looked < passMin || time.Since(start) < s.passSlice }
	for _, k := range keys {
		if err := s.checkOpen(ctx); err != nil {
			return merged, err
		}
		if !budget() {
			break
		}
		looked++
		did, err := s.compactWindow(s.cat.seriesAt(k.s), k.w, now, force)
		if err != nil {
			return merged, err
		}
		if did {
			merged++
		}
	}
	// The last windows of the series loaded at Open, a few at a time.
	for budget() {
		s.dirtyMu.Lock()
		n := len(s.rescan)
		var ser *series
		if n > 0 {
			ser = s.cat.seriesAt(s.rescan[n-1])
			s.rescan = s.rescan[:n-1]
			if len(s.rescan) == 0 {
				s.rescan = nil
			}
		}
		s.dirtyMu.Unlock()
		if ser == nil {
			break
		}
		looked++
		if err := s.rescanLast(ser); err != nil {
			return merged, err
		}
	}
	if force {
		lo, hi := []byte{0}, []byte{0xff}
		if err := s.db.Compact(ctx, lo, hi, true); err != nil && !errors.Is(err, context.Canceled) {
			return merged, err
		}
	}
	if s.metrics != nil {
		s.metrics.compactions.Add(float64(merged))
	}
	return merged, nil
}

// sealedAt reports whether window w is sealed at now.
func sealedAt(w, now int64) bool { return (w+1)*dayMillis+sealGrace.Milliseconds() <= now }

// rescanLast learns the counts of the last window of a series loaded at
// Open, unless a write or a pass did meanwhile; the window becomes pending
// if it holds several chunks.
func (s *Store) rescanLast(ser *series) error {
	ser.wmu.Lock()
	defer ser.wmu.Unlock()
	if ser.isDead() || ser.last.known() || ser.lastT == math.MinInt64 {
		return nil
	}
	w := window(ser.lastT)
	s.dirtyMu.Lock()
	_, pending := s.dirty[dirtyKey{ser.slot, w}]
	s.dirtyMu.Unlock()
	if pending {
		return nil // the dirty set has it
	}
	chunks, err := s.windowChunks(ser.id, w)
	if err != nil {
		return err
	}
	s.setCounts(ser, w, chunks.counts())
	return nil
}

type chunkInfo struct {
	key []byte
	n   int
}

type chunkList []chunkInfo

func (l chunkList) counts() winCounts {
	small := 0
	for _, x := range l {
		if x.n < smallChunk {
			small++
		}
	}
	return counts(len(l), small)
}

// windowChunks lists the chunks of a window with their sizes (reading
// them: the size is in the value).
func (s *Store) windowChunks(ser uint64, w int64) (chunkList, error) {
	var chunks chunkList
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: chunkBound(ser, w), UpperBound: chunkBound(ser, w+1)})
	if err != nil {
		return nil, err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, verr := it.ValueAndErr()
		if verr != nil {
			it.Close()
			return nil, verr
		}
		n := 0
		if len(v) > 1 {
			if x, k := binary.Uvarint(v[1:]); k > 0 && x <= maxChunk {
				n = int(x)
			}
		}
		chunks = append(chunks, chunkInfo{append([]byte(nil), it.Key()...), n})
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	return chunks, nil
}

// compactWindow merges chunks of one window as the policy says, reading it
// only if its counts are unknown or it is merged. A window known to hold
// at most one chunk, or sealed and merged, leaves the dirty set while
// ser.wmu is still held, so a write that adds a chunk afterwards (writes
// update the set under ser.wmu) marks it again.
func (s *Store) compactWindow(ser *series, w, now int64, force bool) (did bool, err error) {
	ser.wmu.Lock()
	defer ser.wmu.Unlock()
	k := dirtyKey{ser.slot, w}
	s.dirtyMu.Lock()
	c, ok := s.dirty[k]
	if ser.isDead() {
		delete(s.dirty, k)
	}
	s.dirtyMu.Unlock()
	if !ok || ser.isDead() {
		return false, nil
	}
	sealed := force || sealedAt(w, now)
	if c.known() && !c.needsMerge(sealed) {
		s.setCounts(ser, w, c)
		return false, nil
	}
	chunks, err := s.windowChunks(ser.id, w)
	if err != nil {
		return false, err
	}
	c = chunks.counts()
	if !c.needsMerge(sealed) {
		s.setCounts(ser, w, c)
		return false, nil
	}
	pick := chunks
	whole := sealed || c.chunks > maxChunks
	if !whole {
		pick = nil
		for _, x := range chunks {
			if x.n < smallChunk {
				pick = append(pick, x)
			}
		}
	}
	var insts []inst
	keys := make([][]byte, len(pick))
	for i, x := range pick {
		keys[i] = x.key
		v, closer, err := s.db.Get(x.key)
		if err != nil {
			return false, err
		}
		insts, err = decodeChunk(v, insts)
		closer.Close()
		if err != nil {
			return false, err
		}
	}
	sortInsts(insts)
	b := s.db.NewBatch()
	defer b.Close()
	if err := rewriteWindow(b, ser.id, w, keys, insts, false); err != nil {
		return false, err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return false, err
	}
	after := countsOf(len(insts))
	if !whole {
		after = counts(int(c.chunks)-len(pick)+int(after.chunks), int(after.small))
	}
	s.setCounts(ser, w, after)
	if sealed {
		// Merged as far as it goes: only a write brings it back.
		s.dirtyMu.Lock()
		delete(s.dirty, k)
		s.dirtyMu.Unlock()
	}
	return true, nil
}

// startBackground runs compaction and retention until Close.
func (s *Store) startBackground(compact, retention time.Duration) {
	if compact == 0 {
		compact = 2 * time.Second
	}
	if retention == 0 {
		retention = time.Hour
	}
	if compact > 0 {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.every(compact, func(ctx context.Context) {
				if _, err := s.Compact(ctx, false); err != nil && !errors.Is(err, ErrClosed) {
					s.log.Warn("history compaction failed", "err", err)
				}
			})
		}()
	}
	if retention > 0 {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			run := func(ctx context.Context) {
				if _, err := s.ApplyRetention(ctx); err != nil && !errors.Is(err, ErrClosed) {
					s.log.Warn("history retention failed", "err", err)
				}
			}
			run(s.bgCtx)
			s.every(retention, run)
		}()
	}
}

// every calls fn every interval until the store closes.
func (s *Store) every(interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			fn(s.bgCtx)
		}
	}
}
