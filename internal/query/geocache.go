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
	m     map[coordKey]coordEntry
	bytes int
}

// coordEntry is a cached geometry and, for an area, its prepared form.
type coordEntry struct {
	g    geo.Geometry
	grid *polyGrid
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

var coords = coordCache{m: make(map[coordKey]coordEntry)}

func (c *coordCache) get(t geo.Type, src string) (coordEntry, bool) {
	c.mu.Lock()
	e, ok := c.m[coordKey{t, src}]
	c.mu.Unlock()
	return e, ok
}

func (c *coordCache) put(t geo.Type, src string, e coordEntry) {
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
	c.m[k] = e
	c.bytes += len(src)
}

// parseCoordinatesCached is parseCoordinates through the cache; errors are
// not cached (they are rare and cheap to recompute).
func parseCoordinatesCached(t geo.Type, src string) (geo.Geometry, error) {
	e, err := parseCoordinatesPrepared(t, src)
	return e.g, err
}

// parseCoordinatesPrepared is parseCoordinatesCached with the prepared form
// of an area (newPolyGrid), built once per cached source.
func parseCoordinatesPrepared(t geo.Type, src string) (coordEntry, error) {
	if len(src) < coordCacheMinLen {
		g, err := parseCoordinates(t, src)
		return coordEntry{g: g}, err
	}
	if e, ok := coords.get(t, src); ok {
		return e, nil
	}
	g, err := parseCoordinates(t, src)
	if err != nil {
		return coordEntry{}, err
	}
	e := coordEntry{g: g, grid: newPolyGrid(g)}
	coords.put(t, src, e)
	return e, nil
}
