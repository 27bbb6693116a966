package subscription

import (
	"math"
	"slices"

	"github.com/qala-city/qala/internal/geo"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// The index of a tenant's subscriptions finds the candidates of a change
// event without looking at subscriptions that cannot match it. Each
// subscription sits under its most selective key:
//
//   - the entity types of its selectors, when every selector names plain
//     types (an entity is a candidate for the types it has before or after
//     the change);
//   - else its watched attributes (the attributes the change touched);
//   - else the cells of a 0.1° grid its geoQ's bounding box covers, per
//     geoproperty (the cells of the entity's geometry before or after);
//   - else it is evaluated for every event of the tenant (rest).
//
// Periodic subscriptions (timeInterval) are not event-driven and sit apart.
type tenantIdx struct {
	subs     map[string]*compiled
	byType   map[string][]*compiled
	byAttr   map[string][]*compiled
	byCell   map[string]map[cell][]*compiled // geoproperty -> cell -> subscriptions
	rest     []*compiled
	periodic map[string]*compiled
}

type indexKind uint8

const (
	idxRest indexKind = iota
	idxType
	idxAttr
	idxGeo
	idxPeriodic
)

type indexKey struct {
	kind  indexKind
	keys  []string // types or attributes
	prop  string   // geoproperty
	cells []cell
}

type cell struct{ x, y int32 }

const (
	cellDeg  = 0.1
	maxCells = 1024
)

func newTenantIdx() *tenantIdx {
	return &tenantIdx{subs: map[string]*compiled{}, byType: map[string][]*compiled{}, byAttr: map[string][]*compiled{},
		byCell: map[string]map[cell][]*compiled{}, periodic: map[string]*compiled{}}
}

// keyOf chooses where c is indexed.
func keyOf(c *compiled) indexKey {
	if c.TimeInterval > 0 {
		return indexKey{kind: idxPeriodic}
	}
	if len(c.sels) > 0 {
		var types []string
		ok := true
		for _, s := range c.sels {
			names, plain := s.types.Names()
			if !plain {
				ok = false
				break
			}
			types = append(types, names...)
		}
		if ok {
			slices.Sort(types)
			return indexKey{kind: idxType, keys: slices.Compact(types)}
		}
	}
	if len(c.Watched) > 0 {
		return indexKey{kind: idxAttr, keys: c.Watched}
	}
	if c.geo != nil {
		if b, ok := c.geo.Bounds(); ok {
			if cells, ok := cellsOf(b); ok {
				return indexKey{kind: idxGeo, prop: c.geo.Property, cells: cells}
			}
		}
	}
	return indexKey{kind: idxRest}
}

// cellsOf lists the grid cells a box covers, false when there are too many.
func cellsOf(b geo.BBox) ([]cell, bool) {
	x0, x1 := int32(math.Floor(b.MinLon/cellDeg)), int32(math.Floor(b.MaxLon/cellDeg))
	y0, y1 := int32(math.Floor(b.MinLat/cellDeg)), int32(math.Floor(b.MaxLat/cellDeg))
	if x1 < x0 || y1 < y0 || int64(x1-x0+1)*int64(y1-y0+1) > maxCells {
		return nil, false
	}
	out := make([]cell, 0, (x1-x0+1)*(y1-y0+1))
	for x := x0; x <= x1; x++ {
		for y := y0; y <= y1; y++ {
			out = append(out, cell{x, y})
		}
	}
	return out, true
}

func (t *tenantIdx) add(c *compiled) {
	t.subs[c.ID] = c
	c.index = keyOf(c)
	switch k := c.index; k.kind {
	case idxPeriodic:
		t.periodic[c.ID] = c
	case idxType:
		for _, n := range k.keys {
			t.byType[n] = append(t.byType[n], c)
		}
	case idxAttr:
		for _, n := range k.keys {
			t.byAttr[n] = append(t.byAttr[n], c)
		}
	case idxGeo:
		m := t.byCell[k.prop]
		if m == nil {
			m = map[cell][]*compiled{}
			t.byCell[k.prop] = m
		}
		for _, x := range k.cells {
			m[x] = append(m[x], c)
		}
	default:
		t.rest = append(t.rest, c)
	}
}

func without(l []*compiled, c *compiled) []*compiled {
	i := slices.Index(l, c)
	if i < 0 {
		return l
	}
	return slices.Delete(slices.Clone(l), i, i+1)
}

func (t *tenantIdx) remove(c *compiled) {
	delete(t.subs, c.ID)
	switch k := c.index; k.kind {
	case idxPeriodic:
		delete(t.periodic, c.ID)
	case idxType:
		for _, n := range k.keys {
			if t.byType[n] = without(t.byType[n], c); len(t.byType[n]) == 0 {
				delete(t.byType, n)
			}
		}
	case idxAttr:
		for _, n := range k.keys {
			if t.byAttr[n] = without(t.byAttr[n], c); len(t.byAttr[n]) == 0 {
				delete(t.byAttr, n)
			}
		}
	case idxGeo:
		m := t.byCell[k.prop]
		for _, x := range k.cells {
			if m[x] = without(m[x], c); len(m[x]) == 0 {
				delete(m, x)
			}
		}
		if len(m) == 0 {
			delete(t.byCell, k.prop)
		}
	default:
		t.rest = without(t.rest, c)
	}
}

// candidates calls f once for each subscription that may match ev. stamp,
// new for each call, deduplicates: a subscription reached through several
// keys is offered once.
func (t *tenantIdx) candidates(ev *store.Event, stamp uint64, f func(*compiled)) {
	visit := func(l []*compiled) {
		for _, c := range l {
			if c.mark != stamp {
				c.mark = stamp
				f(c)
			}
		}
	}
	for _, e := range [2]*ngsild.Entity{ev.Before, ev.After} {
		if e == nil {
			continue
		}
		for _, ty := range e.Types {
			visit(t.byType[ty])
		}
	}
	if len(t.byAttr) > 0 {
		for _, a := range ev.Attrs {
			visit(t.byAttr[a])
		}
		if ev.After == nil && ev.Before != nil { // a deletion touches every attribute
			for a := range ev.Before.Attrs {
				visit(t.byAttr[a])
			}
		}
	}
	for prop, m := range t.byCell {
		for _, e := range [2]*ngsild.Entity{ev.Before, ev.After} {
			if e == nil {
				continue
			}
			for _, a := range e.Attrs[prop] {
				g, err := geo.ParseGeometry(a.Value)
				if err != nil {
					continue
				}
				cells, ok := cellsOf(g.BBox())
				if !ok { // a huge geometry: every subscription of this property
					for _, l := range m {
						visit(l)
					}
					continue
				}
				for _, x := range cells {
					visit(m[x])
				}
			}
		}
	}
	visit(t.rest)
}
