package embedded

import (
	"fmt"
	"testing"
)

// The id index with real hashes and with every id colliding (all but the
// first of a hash go to overflow): lookups, updates that move an id to a
// new body, and removal of the hash's owner before the others.
func TestIDIndex(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("collide=%v", collide), func(t *testing.T) {
			x := newIDIndex()
			if collide {
				x.hashOf = func(id string) uint64 { return uint64(len(id)) }
			}
			recs := map[string]*rec{}
			for i := range 500 {
				id := fmt.Sprintf("urn:ngsi-ld:E:%d", i)
				r := &rec{id: id}
				x.set(r)
				recs[id] = r
			}
			if x.len() != 500 {
				t.Fatalf("len %d, want 500", x.len())
			}
			for id, r := range recs {
				if got := x.get(id); got != r {
					t.Fatalf("get(%q) = %p, want %p", id, got, r)
				}
				// An update: the same rec under a new copy of its id.
				r.id = string([]byte(id))
				x.set(r)
			}
			if x.len() != 500 || x.get("urn:ngsi-ld:E:500") != nil {
				t.Fatalf("after updates: len %d", x.len())
			}
			for i := range 250 {
				id := fmt.Sprintf("urn:ngsi-ld:E:%d", i)
				x.delete(recs[id])
				delete(recs, id)
			}
			for i := range 500 {
				id := fmt.Sprintf("urn:ngsi-ld:E:%d", i)
				if got, want := x.get(id), recs[id]; got != want {
					t.Fatalf("after deletes: get(%q) = %p, want %p", id, got, want)
				}
			}
			if x.len() != 250 {
				t.Fatalf("len %d, want 250", x.len())
			}
		})
	}
}
