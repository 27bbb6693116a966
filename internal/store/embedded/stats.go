package embedded

import (
	"cmp"
	"context"
	"math/bits"
	"slices"
	"sort"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// The statistics behind Types and Attributes (the /types and /attributes
// endpoints) are counters kept per tenant beside the indexes: what each
// entity contributes (its types, and per attribute name its instances and
// the kinds of these) is added when the entity is published and taken away
// when it is replaced or deleted. stage computes these contributions from
// the before and after states it already has in hand; publish applies them
// under tenant.mu, so the counters always describe the published state; load
// adds each entity's contribution, read by scanIndex, at startup. Answering
// therefore costs a walk over distinct types and attribute names, never over
// entities.

// opStats labels Types and Attributes in the store's metrics.
const opStats = "stats"

// attrKinds is what one attribute name of an entity contributes.
type attrKinds struct {
	attr  uint32 // symbol of the expanded attribute name
	n     uint32 // instances
	kinds uint16 // bit k set when an instance is of ngsild.AttrType k
}

// contrib is what one entity contributes to the statistics.
type contrib struct {
	types []uint32 // distinct type symbols
	attrs []attrKinds
}

// statDelta is a contribution to add (sign +1) or to take away (sign -1).
type statDelta struct {
	c    contrib
	sign int
}

// kindsOf computes the attribute part of ent's contribution, interning the
// names (the encoder already did for stored entities).
func kindsOf(syms *symbols, ent *ngsild.Entity) []attrKinds {
	out := make([]attrKinds, 0, len(ent.Attrs))
	for name, insts := range ent.Attrs {
		id, _ := syms.intern(name)
		ak := attrKinds{attr: id}
		for _, a := range insts {
			if a == nil {
				continue
			}
			ak.n++
			ak.kinds |= kindBit(a.Type)
		}
		out = append(out, ak)
	}
	sortKinds(out)
	return out
}

// sortKinds orders a contribution's attributes by symbol, so that indexKeys
// and scanIndex agree.
func sortKinds(ks []attrKinds) {
	slices.SortFunc(ks, func(a, b attrKinds) int { return cmp.Compare(a.attr, b.attr) })
}

func kindBit(t ngsild.AttrType) uint16 {
	if t >= 16 {
		return 0
	}
	return 1 << t
}

// contribOf computes ent's contribution.
func contribOf(syms *symbols, ent *ngsild.Entity) contrib {
	types := make([]uint32, 0, len(ent.Types))
	for _, t := range ent.Types {
		id, _ := syms.intern(t)
		types = append(types, id)
	}
	slices.Sort(types)
	return contrib{types: slices.Compact(types), attrs: kindsOf(syms, ent)}
}

// contribOfIndex is the contribution of an entity whose index entries are ix.
func contribOfIndex(ix indexed) contrib {
	return contrib{types: ix.syms[:ix.ntypes], attrs: ix.kinds}
}

// attrCounter counts one attribute name among a set of entities.
type attrCounter struct {
	entities  int
	instances int
	kinds     [16]int // entities with an instance of kind k
}

func (a *attrCounter) add(ak attrKinds, sign int) {
	a.entities += sign
	a.instances += sign * int(ak.n)
	for m := ak.kinds; m != 0; m &= m - 1 {
		a.kinds[bits.TrailingZeros16(m)] += sign
	}
}

// typeCounter counts the entities of one type and their attributes.
type typeCounter struct {
	entities int
	attrs    map[uint32]*attrCounter
}

// stats are the counters of one tenant, guarded by tenant.mu.
type stats struct {
	types map[uint32]*typeCounter
	attrs map[uint32]*attrCounter
}

func newStats() *stats {
	return &stats{types: make(map[uint32]*typeCounter), attrs: make(map[uint32]*attrCounter)}
}

// add adds (sign +1) or takes away (sign -1) one entity's contribution,
// dropping counters that fall to zero.
func (s *stats) add(c contrib, sign int) {
	for _, ak := range c.attrs {
		a := s.attrs[ak.attr]
		if a == nil {
			a = &attrCounter{}
			s.attrs[ak.attr] = a
		}
		if a.add(ak, sign); a.entities <= 0 {
			delete(s.attrs, ak.attr)
		}
	}
	for _, ty := range c.types {
		tc := s.types[ty]
		if tc == nil {
			tc = &typeCounter{attrs: make(map[uint32]*attrCounter)}
			s.types[ty] = tc
		}
		tc.entities += sign
		if tc.entities <= 0 {
			delete(s.types, ty)
			continue
		}
		for _, ak := range c.attrs {
			a := tc.attrs[ak.attr]
			if a == nil {
				a = &attrCounter{}
				tc.attrs[ak.attr] = a
			}
			if a.add(ak, sign); a.entities <= 0 {
				delete(tc.attrs, ak.attr)
			}
		}
	}
}

// apply applies a group's deltas. The caller holds t.mu.
func (t *tenant) applyStats(ds []statDelta) {
	for _, d := range ds {
		t.stats.add(d.c, d.sign)
	}
}

// kindList lists the kinds counted in a, ascending.
func (a *attrCounter) kindList() []ngsild.AttrType {
	var out []ngsild.AttrType
	for k, n := range a.kinds {
		if n > 0 {
			out = append(out, ngsild.AttrType(k))
		}
	}
	return out
}

// Types implements store.Store.
func (s *Store) Types(ctx context.Context, tenantName string) ([]store.TypeStat, error) {
	start := time.Now()
	ts, err := s.types(ctx, tenantName)
	s.metrics.observe(opStats, start, err)
	return ts, err
}

func (s *Store) types(ctx context.Context, tenantName string) ([]store.TypeStat, error) {
	t, err := s.statTenant(ctx, tenantName)
	if err != nil {
		return nil, err
	}
	t.mu.RLock()
	out := make([]store.TypeStat, 0, len(t.stats.types))
	for ty, tc := range t.stats.types {
		ts := store.TypeStat{Type: s.symName(ty), Entities: tc.entities, Attrs: make([]store.AttrStat, 0, len(tc.attrs))}
		for at, a := range tc.attrs {
			ts.Attrs = append(ts.Attrs, store.AttrStat{Name: s.symName(at), Entities: a.entities,
				Instances: a.instances, Kinds: a.kindList()})
		}
		out = append(out, ts)
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	for _, ts := range out {
		sort.Slice(ts.Attrs, func(i, j int) bool { return ts.Attrs[i].Name < ts.Attrs[j].Name })
	}
	return out, nil
}

// Attributes implements store.Store.
func (s *Store) Attributes(ctx context.Context, tenantName string) ([]store.AttrStat, error) {
	start := time.Now()
	as, err := s.attributes(ctx, tenantName)
	s.metrics.observe(opStats, start, err)
	return as, err
}

func (s *Store) attributes(ctx context.Context, tenantName string) ([]store.AttrStat, error) {
	t, err := s.statTenant(ctx, tenantName)
	if err != nil {
		return nil, err
	}
	t.mu.RLock()
	out := make([]store.AttrStat, 0, len(t.stats.attrs))
	index := make(map[uint32]int, len(t.stats.attrs))
	for at, a := range t.stats.attrs {
		index[at] = len(out)
		out = append(out, store.AttrStat{Name: s.symName(at), Entities: a.entities, Instances: a.instances,
			Kinds: a.kindList()})
	}
	for ty, tc := range t.stats.types {
		name := s.symName(ty)
		for at := range tc.attrs {
			if i, ok := index[at]; ok {
				out[i].Types = append(out[i].Types, name)
			}
		}
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for _, a := range out {
		slices.Sort(a.Types)
	}
	return out, nil
}

func (s *Store) statTenant(ctx context.Context, tenantName string) (*tenant, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := s.tenant(tenantName)
	if t == nil {
		return nil, store.ErrNoTenant
	}
	return t, nil
}

func (s *Store) symName(id uint32) string {
	name, _ := s.syms.name(id)
	return name
}
