package embedded

import (
	"sync"
)

// Limits on what the symbol table interns beyond entity types and attribute
// names (which are always interned, as the indexes are keyed by them): JSON
// object keys, language tags, unit codes and object types are interned only
// while short and while the table is small, so that arbitrary client JSON
// cannot grow it without bound.
const (
	maxOptionalSymbolLen = 64
	maxOptionalSymbols   = 1 << 16
)

// symbols interns the strings that repeat across entities (types, attribute
// names, JSON keys) as small integers, store-wide. A symbol never changes
// once assigned; new symbols are persisted in the batch that first uses them.
//
// Reads take mu.RLock; new symbols are added under mu.Lock by the writer that
// holds Store.writeMu, so ids are assigned in commit order.
type symbols struct {
	mu    sync.RWMutex
	ids   map[string]uint32
	names []string
}

func newSymbols() *symbols {
	return &symbols{ids: make(map[string]uint32)}
}

// lookup returns the id of s, if interned.
func (t *symbols) lookup(s string) (uint32, bool) {
	t.mu.RLock()
	id, ok := t.ids[s]
	t.mu.RUnlock()
	return id, ok
}

// name returns the string of id, and false if id is unknown.
func (t *symbols) name(id uint32) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if int(id) >= len(t.names) {
		return "", false
	}
	return t.names[id], true
}

// intern returns the id of s, adding it if needed; added reports whether it
// is new (the caller then persists it).
func (t *symbols) intern(s string) (id uint32, added bool) {
	t.mu.RLock()
	id, ok := t.ids[s]
	t.mu.RUnlock()
	if ok {
		return id, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.ids[s]; ok {
		return id, false
	}
	id = uint32(len(t.names))
	s = clone(s)
	t.names = append(t.names, s)
	t.ids[s] = id
	return id, true
}

// load installs a persisted symbol at startup.
func (t *symbols) load(id uint32, s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for uint32(len(t.names)) <= id {
		t.names = append(t.names, "")
	}
	t.names[id] = s
	t.ids[s] = id
}

func (t *symbols) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.names)
}

func clone(s string) string { return string([]byte(s)) }
