package query

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/qala-city/qala/internal/geo"
)

// A cached geometry is the one a fresh parse gives; errors are not cached
// and the cache stays within its bounds.
func TestCoordCache(t *testing.T) {
	var ring []string
	for i := range 40 {
		ring = append(ring, fmt.Sprintf("[71.%03d,51.%03d]", i, (i*7)%40))
	}
	ring = append(ring, ring[0])
	src := "[[" + strings.Join(ring, ",") + "]]"
	want, err := parseCoordinates(geo.Polygon, src)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := parseCoordinatesCached(geo.Polygon, src)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("cached parse: %v, %v", got, err)
		}
	}
	if _, err := parseCoordinatesCached(geo.LineString, src); err == nil {
		t.Fatalf("a polygon's coordinates parsed as a LineString (the type is part of the key)")
	}
	bad := src[:len(src)-1] + strings.Repeat(" ", 70)
	for range 2 {
		if _, err := parseCoordinatesCached(geo.Polygon, bad); err == nil {
			t.Fatalf("unterminated coordinates accepted")
		}
	}
	for i := range 2 * coordCacheEntries {
		s := fmt.Sprintf("[71.%d,51.5]%s", i, strings.Repeat(" ", coordCacheMinLen))
		if _, err := parseCoordinatesCached(geo.Point, s); err != nil {
			t.Fatal(err)
		}
	}
	coords.mu.Lock()
	n, b := len(coords.m), coords.bytes
	coords.mu.Unlock()
	if n > coordCacheEntries || b > coordCacheBytes {
		t.Fatalf("cache holds %d entries, %d bytes", n, b)
	}
}
