package temporal

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The catalog's slabs and arena: more entities than a page holds, ids that
// fill several arena chunks (and one larger than a small chunk share), hash
// collisions, removal, and the sorted id listing.
func TestCatalogSlabs(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("collide=%v", collide), func(t *testing.T) {
			c := newCatalog()
			if collide {
				c.hashOf = func(id string) uint64 { return uint64(len(id) % 3) }
			}
			n := 3*pageLen + 17
			long := strings.Repeat("x", arenaLarge+5)
			var want []string
			for i := range n {
				id := fmt.Sprintf("urn:ngsi-ld:Sensor:%06d:%s", i, strings.Repeat("p", i%300))
				if i == 1000 {
					id = "urn:ngsi-ld:Sensor:long:" + long
				}
				tenant := ""
				if i%2 == 1 {
					tenant = "lab"
				}
				e := c.getOrCreate(tenant, id)
				if again := c.getOrCreate(tenant, id); again != e {
					t.Fatalf("getOrCreate(%q) twice gave two entities", id)
				}
				e.types = c.typeList([]string{"Sensor"})
				e.committed.Store(true)
				for j := range i%4 + 1 {
					c.seriesOf(e, fmt.Sprintf("attr%d", j), "")
				}
				if tenant == "" {
					want = append(want, id)
				}
			}
			if got := c.seriesCount(); got == 0 {
				t.Fatal("no series")
			}
			slices.Sort(want)
			if got := c.ids(""); !slices.Equal(got, want) {
				t.Fatalf("ids: %d ids, want %d (first %q vs %q)", len(got), len(want), got[0], want[0])
			}
			for i, id := range want {
				e := c.entity("", id)
				if e == nil || c.idOf(e) != id || c.tenantOf(e) != "" || !slices.Equal(c.typesOf(e), []string{"Sensor"}) {
					t.Fatalf("entity %q: not found intact", id)
				}
				ss := c.list(e)
				for j, x := range ss {
					if c.entOf(x) != e || c.nameOf(x).attr != fmt.Sprintf("attr%d", j) || c.seriesAt(x.slot) != x {
						t.Fatalf("entity %q: series %d is %+v", id, j, c.nameOf(x))
					}
				}
				if i%5 == 0 {
					c.removeSeries(ss[len(ss)-1])
					if len(c.list(e)) != len(ss)-1 || c.find(e, sKey{c.nameOf(ss[len(ss)-1]).attr, ""}) != nil {
						t.Fatalf("entity %q: series not removed", id)
					}
				}
				if i%7 == 0 {
					c.removeEntity(e)
					if c.entity("", id) != nil || !e.dead.Load() {
						t.Fatalf("entity %q: not removed", id)
					}
				}
			}
			var left []string
			for i, id := range want {
				if i%7 != 0 {
					left = append(left, id)
				}
			}
			if got := c.ids(""); !slices.Equal(got, left) {
				t.Fatalf("ids after removal: %d, want %d", len(got), len(left))
			}
			if c.entity("lab", want[1]) != nil {
				t.Fatal("a tenant sees another's entity")
			}
			// A removed entity comes back as a new one.
			if e := c.getOrCreate("", want[0]); e.dead.Load() || len(c.list(e)) != 0 {
				t.Fatal("a re-created entity kept its removed state")
			}
		})
	}
}
