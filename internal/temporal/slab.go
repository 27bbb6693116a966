package temporal

import (
	"sync/atomic"
	"unsafe"
)

// The catalog holds millions of entities and series for the life of the
// process. Were each a heap object with pointers, every garbage collection
// cycle would visit all of them (tens of millions of pointers for a city of
// a million entities), and the collector's mark work would show in the
// latency of every request. So they live in slabs: pages of a few thousand
// values of a type without pointers, addressed by slot numbers, with their
// strings in an arena of large byte chunks. The collector sees a few
// thousand pointer-free pages instead.

const (
	pageShift = 12
	pageLen   = 1 << pageShift
)

// slab holds values of T in pages of pageLen, addressed by slot numbers
// from 1 (slot 0 means none). The address of a slot never changes, and a
// slot is never reused while the process runs. alloc is called under the
// owner's lock; at is safe at any time for a slot the caller learned of
// through the owner (which orders the slot's initialisation before it).
// For the collector to skip its pages, T must hold no pointers.
type slab[T any] struct {
	pages atomic.Pointer[[]*[pageLen]T]
	n     uint32 // slots handed out, slot 0 included
}

// at returns the value of slot i (i > 0, handed out).
func (s *slab[T]) at(i uint32) *T {
	p := *s.pages.Load()
	return &p[i>>pageShift][i&(pageLen-1)]
}

// alloc returns a new zero slot and its value.
func (s *slab[T]) alloc() (uint32, *T) {
	if s.n == 0 {
		s.n = 1
	}
	i := s.n
	var cur []*[pageLen]T
	if p := s.pages.Load(); p != nil {
		cur = *p
	}
	if pg := int(i >> pageShift); pg == len(cur) {
		next := make([]*[pageLen]T, len(cur)+1)
		copy(next, cur)
		next[len(cur)] = new([pageLen]T)
		s.pages.Store(&next)
	}
	s.n++
	return i, s.at(i)
}

// arena holds strings in large byte chunks; a string added is never moved
// or freed while the process runs. add is called under the owner's lock;
// get is safe for a reference learned through the owner.
type arena struct {
	chunks atomic.Pointer[[][]byte] // each at its full length; bytes past fill are not written yet
	fill   int                      // bytes used of the last chunk
}

// strRef names a string of an arena.
type strRef struct{ chunk, off, n uint32 }

const (
	arenaChunk = 1 << 20
	arenaLarge = arenaChunk / 16 // strings this long get a chunk of their own
)

func (a *arena) add(s string) strRef {
	if s == "" {
		return strRef{}
	}
	var cur [][]byte
	if p := a.chunks.Load(); p != nil {
		cur = *p
	}
	if len(s) >= arenaLarge {
		// A chunk of its own; the next small string opens a new chunk.
		next := append(cur[:len(cur):len(cur)], []byte(s))
		a.chunks.Store(&next)
		a.fill = arenaChunk
		return strRef{chunk: uint32(len(cur)), n: uint32(len(s))}
	}
	if len(cur) == 0 || a.fill+len(s) > arenaChunk {
		next := append(cur[:len(cur):len(cur)], make([]byte, arenaChunk))
		a.chunks.Store(&next)
		cur, a.fill = next, 0
	}
	last := uint32(len(cur) - 1)
	off := a.fill
	copy(cur[last][off:], s)
	a.fill += len(s)
	return strRef{chunk: last, off: uint32(off), n: uint32(len(s))}
}

// get returns the string r names, without copying it.
func (a *arena) get(r strRef) string {
	if r.n == 0 {
		return ""
	}
	c := (*a.chunks.Load())[r.chunk]
	return unsafe.String(&c[r.off], int(r.n))
}
