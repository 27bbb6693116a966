package embedded

import (
	"strings"

	"github.com/tidwall/rtree"
)

// geoPart is one partition of a tenant's spatial index (see geoKey). multi
// counts its entities that are in more than one entry of the attribute's
// partitions (several types or instances): while the partitions searched all
// have multi == 0, a search meets each entity once.
//
// Each entry carries an order key of its entity's id: the 8 bytes that
// follow the prefix every id in the partition shares (ids of one type mostly
// share "urn:ngsi-ld:Type:" and more). Collecting the page's smallest ids
// among thousands of hits then compares keys that sit in the R-tree's own
// nodes, and reads an id (two cache misses on a large store) only on a tie.
type geoPart struct {
	tr     rtree.RTreeG[geoItem]
	multi  int
	point  bool   // the partition holds points only
	prefix string // shared by every id entered so far
	any    bool   // prefix is set
}

// geoItem is one entry of a partition.
type geoItem struct {
	r   *rec
	key uint64
}

// idKey returns the 8 bytes of id from position l on, big-endian, zero
// padded: for ids that share their first l bytes, a < b implies
// idKey(a) <= idKey(b).
func idKey(id string, l int) uint64 {
	var k uint64
	for i := range 8 {
		k <<= 8
		if l+i < len(id) {
			k |= uint64(id[l+i])
		}
	}
	return k
}

func (g *geoPart) insert(b *geoBox, r *rec) {
	switch {
	case !g.any:
		g.prefix, g.any = strings.Clone(r.id), true
	case !strings.HasPrefix(r.id, g.prefix):
		g.rekey(r.id)
	}
	g.tr.Insert(b.min, b.max, geoItem{r, idKey(r.id, len(g.prefix))})
}

func (g *geoPart) delete(b *geoBox, r *rec) {
	g.tr.Delete(b.min, b.max, geoItem{r, idKey(r.id, len(g.prefix))})
}

// rekey shortens the shared prefix to what id shares with it, and enters
// every entry again with its key from there. The prefix only ever shortens,
// so a partition is rekeyed at most as many times as its first id is long.
func (g *geoPart) rekey(id string) {
	n := 0
	for n < len(g.prefix) && n < len(id) && g.prefix[n] == id[n] {
		n++
	}
	g.prefix = g.prefix[:n]
	type entry struct {
		min, max [2]float64
		r        *rec
	}
	var all []entry
	g.tr.Scan(func(min, max [2]float64, it geoItem) bool {
		all = append(all, entry{min, max, it.r})
		return true
	})
	g.tr.Clear()
	for _, e := range all {
		g.tr.Insert(e.min, e.max, geoItem{e.r, idKey(e.r.id, n)})
	}
}
