package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/qala-city/qala/internal/store"
)

// The change log: every event the write path emits is also written, in the
// same pebble batch as the entity states it describes, under
// 'c' uint64-big-endian(Seq). So an acknowledged write's event survives a
// crash exactly when the write does, and durable consumers (history,
// subscriptions) catch up from their own cursor after a restart. TrimLog
// drops the prefix every consumer has processed with one range deletion.

const logVersion = 1

// logRecord is an event before its Seq is known, with the encodings of its
// entity states (those of the entity index, so that nothing is encoded twice).
type logRecord struct {
	before, after []byte // nil when the entity did not exist / was deleted
}

func logKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixLog}, seq)
}

// encodeLogRecord encodes ev (whose Before and After are given as their
// entity encodings) into a change log value.
func encodeLogRecord(ev *store.Event, id string, r logRecord) []byte {
	n := 32 + len(ev.Tenant) + len(id) + len(r.before) + len(r.after)
	for _, a := range ev.Attrs {
		n += len(a) + 2
	}
	b := make([]byte, 0, n)
	b = append(b, logVersion)
	b = appendString(b, ev.Tenant)
	b = appendString(b, string(ev.Op))
	b = appendString(b, id)
	b = binary.AppendVarint(b, ev.Time.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(ev.Attrs)))
	for _, a := range ev.Attrs {
		b = appendString(b, a)
	}
	b = appendString(b, string(r.before))
	b = appendString(b, string(r.after))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// logReader decodes change log values.
type logReader struct {
	b   []byte
	err error
}

func (r *logReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *logReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errors.New("truncated")
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (s *Store) decodeLogRecord(seq uint64, v []byte) (store.Event, error) {
	if len(v) == 0 || v[0] != logVersion {
		return store.Event{}, fmt.Errorf("embedded: change log %d: unknown version", seq)
	}
	r := &logReader{b: v[1:]}
	ev := store.Event{Seq: seq}
	ev.Tenant = string(r.bytes())
	ev.Op = store.Operation(r.bytes())
	id := string(r.bytes())
	if r.err == nil {
		t, n := binary.Varint(r.b)
		if n <= 0 {
			r.err = errors.New("bad time")
		} else {
			r.b = r.b[n:]
			ev.Time = time.Unix(0, t).UTC()
		}
	}
	if na := r.uvarint(); na > 0 && na <= uint64(len(r.b)) {
		ev.Attrs = make([]string, na)
		for i := range ev.Attrs {
			ev.Attrs[i] = string(r.bytes())
		}
	}
	before, after := r.bytes(), r.bytes()
	if r.err != nil {
		return store.Event{}, fmt.Errorf("embedded: change log %d: %w", seq, r.err)
	}
	var err error
	if len(before) > 0 {
		if ev.Before, err = decodeEntity(s.syms, id, before); err != nil {
			return store.Event{}, fmt.Errorf("embedded: change log %d: before: %w", seq, err)
		}
	}
	if len(after) > 0 {
		if ev.After, err = decodeEntity(s.syms, id, after); err != nil {
			return store.Event{}, fmt.Errorf("embedded: change log %d: after: %w", seq, err)
		}
	}
	return ev, nil
}

// ReadLog implements store.Store.
func (s *Store) ReadLog(ctx context.Context, after uint64, max int) ([]store.Event, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if after+1 < s.logStart.Load() {
		return nil, store.ErrLogTrimmed
	}
	last := s.pubSeq.Load()
	if after >= last || max <= 0 {
		return nil, nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logKey(after + 1), UpperBound: logKey(last + 1)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var evs []store.Event
	for ok := it.First(); ok && len(evs) < max; ok = it.Next() {
		seq := binary.BigEndian.Uint64(it.Key()[1:])
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		ev, err := s.decodeLogRecord(seq, v)
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if len(evs) > 0 && evs[0].Seq != after+1 {
		// A concurrent TrimLog removed what we were about to read.
		return nil, store.ErrLogTrimmed
	}
	return evs, nil
}

// LastSeq implements store.Store.
func (s *Store) LastSeq() uint64 { return s.pubSeq.Load() }

// TrimLog implements store.Store.
func (s *Store) TrimLog(ctx context.Context, upto uint64) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	upto = min(upto, s.pubSeq.Load())
	s.trimMu.Lock()
	defer s.trimMu.Unlock()
	if upto+1 <= s.logStart.Load() {
		return nil
	}
	if err := s.db.DeleteRange(logKey(0), logKey(upto+1), pebble.NoSync); err != nil {
		return fmt.Errorf("embedded: trim change log: %w", err)
	}
	s.logStart.Store(upto + 1)
	return nil
}

// loadLog sets the bounds of the change log at startup.
func (s *Store) loadLog(it *pebble.Iterator) error {
	s.pubSeq.Store(s.seq)
	start := s.seq + 1
	if it.SeekGE([]byte{prefixLog}) && it.Key()[0] == prefixLog {
		if k := it.Key(); len(k) == 9 {
			start = binary.BigEndian.Uint64(k[1:])
		}
	}
	s.logStart.Store(start)
	return it.Error()
}
