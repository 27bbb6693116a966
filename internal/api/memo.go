package api

import (
	"net/url"
	"strings"
	"sync"
)

// memo keeps the results of a pure function of long strings: the query of
// a district is ~10 KB of escaped coordinates that clients repeat, and
// unescaping it and escaping it again for the next-page link costs each
// request ~15 KB of garbage (collected at ~4 ns a byte while a million
// entities are live) and as much copying. Bounded in entries and bytes;
// eviction is random (Go map order). Values are immutable strings, shared.
type memo[K comparable] struct {
	mu    sync.Mutex
	m     map[K]string
	bytes int
	size  func(K) int // bytes a key holds
	clone func(K) K   // a copy of a key that shares no request's memory
}

const (
	memoMinLen  = 1024    // shorter inputs cost less than a lookup saves
	memoEntries = 256     // per memo
	memoBytes   = 8 << 20 // keys and values, per memo
)

func (m *memo[K]) get(k K) (string, bool) {
	m.mu.Lock()
	v, ok := m.m[k]
	m.mu.Unlock()
	return v, ok
}

func (m *memo[K]) put(k K, v string) {
	size := m.size(k) + len(v)
	if size > memoBytes/16 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[K]string)
	}
	if _, ok := m.m[k]; ok {
		return
	}
	for old, ov := range m.m {
		if len(m.m) < memoEntries && m.bytes+size <= memoBytes {
			break
		}
		delete(m.m, old)
		m.bytes -= m.size(old) + len(ov)
	}
	m.m[m.clone(k)] = v
	m.bytes += size
}

var unescapeMemo = memo[string]{
	size:  func(k string) int { return len(k) },
	clone: strings.Clone, // not a slice of a whole request's URL
}

// linkKey is what a page link of a GET query depends on (the query
// parameters are those of raw).
type linkKey struct {
	raw, path, rel, mt string
	limit, offset      int
}

var linkMemo = memo[linkKey]{
	size: func(k linkKey) int { return len(k.raw) + len(k.path) + len(k.rel) + len(k.mt) },
	clone: func(k linkKey) linkKey {
		k.raw, k.path, k.rel, k.mt = strings.Clone(k.raw), strings.Clone(k.path), strings.Clone(k.rel), strings.Clone(k.mt)
		return k
	},
}

// queryUnescape is url.QueryUnescape, through unescapeMemo for long
// values. Errors are not kept.
func queryUnescape(s string) (string, error) {
	if len(s) < memoMinLen {
		return url.QueryUnescape(s)
	}
	if v, ok := unescapeMemo.get(s); ok {
		return v, nil
	}
	v, err := url.QueryUnescape(s)
	if err == nil {
		unescapeMemo.put(s, v)
	}
	return v, err
}
