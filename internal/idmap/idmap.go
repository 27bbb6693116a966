// Package idmap finds values by a string key (an entity id) that each value
// knows, without holding the keys. A Go map keyed by the ids themselves
// holds a pointer to every id: at a million entities, a million pointers to
// small objects that every garbage collection cycle visits at the cost of a
// cache miss each. A Map is keyed by a 64-bit hash of the key instead; a key
// whose hash another key took first is kept in an overflow map, keyed by
// the key (rare: 64-bit hashes of a million ids collide with a probability
// of about 3e-8).
//
// A Map is not safe for concurrent writes; its owner's lock guards it.
package idmap

import (
	"hash/maphash"
	"iter"
)

// Map holds values of V under the key each one returns from the key
// function given to New. The zero V means none (a nil pointer, slot 0).
type Map[V comparable] struct {
	seed     maphash.Seed
	key      func(V) string
	byHash   map[uint64]V
	overflow map[string]V
	// HashOf, when set (by tests, to force collisions), replaces maphash.
	HashOf func(string) uint64
}

// New returns an empty Map of values whose key is key(v).
func New[V comparable](key func(V) string) *Map[V] {
	return &Map[V]{seed: maphash.MakeSeed(), key: key, byHash: make(map[uint64]V), overflow: make(map[string]V)}
}

func (m *Map[V]) hash(k string) uint64 {
	if m.HashOf != nil {
		return m.HashOf(k)
	}
	return maphash.String(m.seed, k)
}

// Get returns the value under k, or the zero V.
func (m *Map[V]) Get(k string) V {
	var zero V
	if v, ok := m.byHash[m.hash(k)]; ok && m.key(v) == k {
		return v
	}
	if len(m.overflow) == 0 {
		return zero
	}
	return m.overflow[k]
}

// Set enters v under its key, which no other value has. If v is there
// already, its overflow entry (if any) is keyed anew by the key as v
// returns it now: the map must not keep an old copy of the key alive.
func (m *Map[V]) Set(v V) {
	k := m.key(v)
	h := m.hash(k)
	switch o, ok := m.byHash[h]; {
	case !ok:
		m.byHash[h] = v
	case o != v:
		delete(m.overflow, k)
		m.overflow[k] = v
	}
}

// Delete removes v.
func (m *Map[V]) Delete(v V) {
	k := m.key(v)
	h := m.hash(k)
	if o, ok := m.byHash[h]; ok && o == v {
		delete(m.byHash, h)
		return
	}
	if o, ok := m.overflow[k]; ok && o == v {
		delete(m.overflow, k)
	}
}

// Len returns the number of values.
func (m *Map[V]) Len() int { return len(m.byHash) + len(m.overflow) }

// All yields every value, in no particular order.
func (m *Map[V]) All() iter.Seq[V] {
	return func(yield func(V) bool) {
		for _, v := range m.byHash {
			if !yield(v) {
				return
			}
		}
		for _, v := range m.overflow {
			if !yield(v) {
				return
			}
		}
	}
}
