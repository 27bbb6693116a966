package embedded

import (
	"sync"
	"unsafe"

	"github.com/qala-city/qala/internal/ngsild"
)

// defaultCacheEntries bounds the decoded-entity cache: about 3–4 KB each for
// a 1 KB entity, so ~30 MB.
const defaultCacheEntries = 8192

const cacheShards = 16

// cache keeps recently decoded entities, keyed by the identity of their
// encoding: every write allocates a new encoding, so an entry can never be
// stale, and holding the key keeps that memory from being reused. Entities
// are immutable, so one decoded value is shared by all readers. Eviction is
// random (Go map order), which is cheap and good enough for hot sets.
type cache struct {
	perShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.Mutex
	m  map[*byte]*ngsild.Entity
}

func newCache(entries int) *cache {
	if entries <= 0 {
		return nil
	}
	c := &cache{perShard: max(entries/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[*byte]*ngsild.Entity)
	}
	return c
}

func (c *cache) shard(k *byte) *cacheShard {
	h := uintptr(unsafe.Pointer(k)) >> 4
	return &c.shards[(h^h>>7)%cacheShards]
}

// decode returns the entity encoded in data, from the cache when it can.
func (c *cache) decode(syms *symbols, id string, data []byte) (*ngsild.Entity, error) {
	if c == nil || len(data) == 0 {
		return decodeEntity(syms, id, data)
	}
	k := unsafe.SliceData(data)
	sh := c.shard(k)
	sh.mu.Lock()
	e := sh.m[k]
	sh.mu.Unlock()
	if e != nil {
		return e, nil
	}
	e, err := decodeEntity(syms, id, data)
	if err != nil {
		return nil, err
	}
	sh.mu.Lock()
	if len(sh.m) >= c.perShard {
		for old := range sh.m {
			delete(sh.m, old)
			break
		}
	}
	sh.m[k] = e
	sh.mu.Unlock()
	return e, nil
}
