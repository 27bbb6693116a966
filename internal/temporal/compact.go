package temporal

import (
	"context"
	"encoding/binary"
	"errors"
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
	s *series
	w int64
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

func (s *Store) markDirty(ser *series, w int64) {
	s.dirtyMu.Lock()
	s.dirty[dirtyKey{ser, w}] = struct{}{}
	s.dirtyMu.Unlock()
}

// PendingCompactions returns the number of windows waiting to be looked at.
func (s *Store) PendingCompactions() int {
	s.dirtyMu.Lock()
	defer s.dirtyMu.Unlock()
	return len(s.dirty)
}

// Compact looks at every window written in pieces and merges what it can;
// with force, current windows too are merged whole, and pebble then
// compacts the whole database (what a benchmark measuring the size on disk
// wants). It returns the number of windows merged.
func (s *Store) Compact(ctx context.Context, force bool) (int, error) {
	s.dirtyMu.Lock()
	keys := make([]dirtyKey, 0, len(s.dirty))
	for k := range s.dirty {
		keys = append(keys, k)
	}
	s.dirtyMu.Unlock()
	merged := 0
	now := s.nowMs()
	for _, k := range keys {
		if err := s.checkOpen(ctx); err != nil {
			return merged, err
		}
		did, _, err := s.compactWindow(k.s, k.w, now, force)
		if err != nil {
			return merged, err
		}
		if did {
			merged++
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

// compactWindow merges chunks of one window as the policy says. done
// reports that the window needs no more attention; it then leaves the dirty
// set while ser.wmu is still held, so a write that adds a chunk afterwards
// (writes mark their windows dirty under ser.wmu) marks it again.
func (s *Store) compactWindow(ser *series, w, now int64, force bool) (did, done bool, err error) {
	ser.wmu.Lock()
	defer ser.wmu.Unlock()
	defer func() {
		if done && err == nil {
			s.dirtyMu.Lock()
			delete(s.dirty, dirtyKey{ser, w})
			s.dirtyMu.Unlock()
		}
	}()
	if ser.dead.Load() {
		return false, true, nil
	}
	type chunkInfo struct {
		key []byte
		n   int
	}
	var chunks []chunkInfo
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: chunkBound(ser.id, w), UpperBound: chunkBound(ser.id, w+1)})
	if err != nil {
		return false, false, err
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, verr := it.ValueAndErr()
		if verr != nil {
			it.Close()
			return false, false, verr
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
		return false, false, err
	}
	sealed := force || (w+1)*dayMillis+sealGrace.Milliseconds() <= now
	var pick []chunkInfo
	switch {
	case len(chunks) <= 1:
		// Nothing to merge now or when the window seals; only a write can
		// add a chunk, and it marks the window dirty again. (Keeping such
		// windows cost a pebble iterator per series every pass: after a
		// load of a million entities, a pass that never ended.)
		return false, true, nil
	case sealed || len(chunks) > maxChunks:
		pick = chunks
	default:
		for _, c := range chunks {
			if c.n < smallChunk {
				pick = append(pick, c)
			}
		}
		if len(pick) < smallBatch {
			return false, false, nil
		}
	}
	var insts []inst
	keys := make([][]byte, len(pick))
	for i, c := range pick {
		keys[i] = c.key
		v, closer, err := s.db.Get(c.key)
		if err != nil {
			return false, false, err
		}
		insts, err = decodeChunk(v, insts)
		closer.Close()
		if err != nil {
			return false, false, err
		}
	}
	sortInsts(insts)
	b := s.db.NewBatch()
	defer b.Close()
	if err := rewriteWindow(b, ser.id, w, keys, insts, false); err != nil {
		return false, false, err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return false, false, err
	}
	return true, sealed, nil
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
