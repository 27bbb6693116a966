package idmap

import (
	"fmt"
	"testing"
)

type val struct{ id string }

// With real hashes and with every key colliding (all but the first of a
// hash go to overflow): lookups, updates that give a value a new copy of
// its key, and removal of a hash's owner before the others.
func TestMap(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("collide=%v", collide), func(t *testing.T) {
			m := New(func(v *val) string { return v.id })
			if collide {
				m.HashOf = func(k string) uint64 { return uint64(len(k)) }
			}
			vals := map[string]*val{}
			for i := range 500 {
				v := &val{fmt.Sprintf("urn:ngsi-ld:E:%d", i)}
				m.Set(v)
				vals[v.id] = v
			}
			if m.Len() != 500 {
				t.Fatalf("len %d, want 500", m.Len())
			}
			for k, v := range vals {
				if got := m.Get(k); got != v {
					t.Fatalf("Get(%q) = %p, want %p", k, got, v)
				}
				v.id = string([]byte(k)) // an update: a new copy of the key
				m.Set(v)
			}
			if m.Len() != 500 || m.Get("urn:ngsi-ld:E:500") != nil {
				t.Fatalf("after updates: len %d", m.Len())
			}
			for i := range 250 {
				k := fmt.Sprintf("urn:ngsi-ld:E:%d", i)
				m.Delete(vals[k])
				delete(vals, k)
			}
			for i := range 500 {
				k := fmt.Sprintf("urn:ngsi-ld:E:%d", i)
				if got, want := m.Get(k), vals[k]; got != want {
					t.Fatalf("after deletes: Get(%q) = %p, want %p", k, got, want)
				}
			}
			n := 0
			for v := range m.All() {
				if vals[v.id] != v {
					t.Fatalf("All yields %q, not in the map", v.id)
				}
				n++
			}
			if n != 250 || m.Len() != 250 {
				t.Fatalf("All yields %d, len %d, want 250", n, m.Len())
			}
		})
	}
}
