package temporal

import (
	"testing"
	"unsafe"
)

// The catalog holds a series per attribute of every entity: at a million
// entities, each byte of a series is five megabytes.
func TestSeriesSize(t *testing.T) {
	if n := unsafe.Sizeof(series{}); n > 64 {
		t.Errorf("series takes %d bytes, want at most 64", n)
	}
}
