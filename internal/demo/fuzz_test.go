package demo

import (
	"testing"
	"time"
)

// FuzzUpdates checks that any pair of instants, however far apart or far from today, yields
// well-formed updates without panicking, and that buses stay in the city.
func FuzzUpdates(f *testing.F) {
	f.Add(testTime.Unix(), int64(5))
	f.Add(int64(0), int64(86400))
	f.Add(int64(-1), int64(1))
	f.Add(int64(253402300799), int64(3600)) // 9999-12-31
	c := newCity(f, 1)
	f.Fuzz(func(t *testing.T, sec, delta int64) {
		// Keep to years 0001–9999, the range RFC 3339 times can be written in.
		const lo, hi = -62135596800, 253402300799
		if sec < lo || sec > hi || delta < 0 || delta > 7*86400 || sec+delta > hi {
			t.Skip()
		}
		prev := time.Unix(sec, 0)
		docs := c.Updates(prev, prev.Add(time.Duration(delta)*time.Second))
		for _, d := range docs {
			id := d["id"].(string)
			checkNormalized(t, id, d)
			if d["type"] == "Vehicle" {
				p := toPoint(t, d["location"].(map[string]any)["value"].(map[string]any)["coordinates"])
				if !c.geo.Boundary.contains(p) {
					t.Fatalf("%s at %v is outside the city", id, p)
				}
			}
		}
	})
}
