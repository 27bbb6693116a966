package query

import (
	"strings"
	"sync"

	"github.com/qala-city/qala/internal/geo"
)

// coordCache keeps the geometries of recent geo-query coordinates: clients
// repeat the same areas (a district's boundary is ~10 KB of JSON, parsed on
// every request otherwise). A cached Geometry is shared and must be treated
// as read-only, as every Geometry of a parsed query is. Bounded in entries
// and in source bytes; eviction is random (Go map order).
type coordCache struct {
	mu    sync.Mutex
	m     map[coordKey]geo.Geometry
	bytes int
}

type coordKey struct {
	t   geo.Type
	src string
}

const (
	coordCacheEntries = 256
	coordCacheBytes   = 4 << 20
	coordCacheMinLen  = 64 // shorter sources parse faster than a lookup pays
)

var coords = coordCache{m: make(map[coordKey]geo.Geometry)}

func (c *coordCache) get(t geo.Type, src string) (geo.Geometry, bool) {
	c.mu.Lock()
	g, ok := c.m[coordKey{t, src}]
	c.mu.Unlock()
	return g, ok
}

func (c *coordCache) put(t geo.Type, src string, g geo.Geometry) {
	if len(src) > coordCacheBytes/16 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := coordKey{t, src}
	if _, ok := c.m[k]; ok {
		return
	}
	for old := range c.m {
		if len(c.m) < coordCacheEntries && c.bytes+len(src) <= coordCacheBytes {
			break
		}
		delete(c.m, old)
		c.bytes -= len(old.src)
	}
	k.src = strings.Clone(src) // not a slice of a whole request's URL
	c.m[k] = g
	c.bytes += len(src)
}

// parseCoordinatesCached is parseCoordinates through the cache; errors are
// not cached (they are rare and cheap to recompute).
func parseCoordinatesCached(t geo.Type, src string) (geo.Geometry, error) {
	if len(src) < coordCacheMinLen {
		return parseCoordinates(t, src)
	}
	if g, ok := coords.get(t, src); ok {
		return g, nil
	}
	g, err := parseCoordinates(t, src)
	if err == nil {
		coords.put(t, src, g)
	}
	return g, err
}
