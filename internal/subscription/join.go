package subscription

import (
	"slices"

	"github.com/qala-city/qala/internal/ngsild"
)

// Getter returns an entity of a tenant, nil when there is none: what join
// reads linked entities with.
type Getter func(tenant, id string) *ngsild.Entity

// targets returns the ids e's relationships point at, by attribute name.
func targets(e *ngsild.Entity) map[string][]string {
	out := map[string][]string{}
	for name, insts := range e.Attrs {
		for _, a := range insts {
			if a.Type != ngsild.Relationship && a.Type != ngsild.ListRelationship {
				continue
			}
			switch o := a.Object.(type) {
			case string:
				out[name] = append(out[name], o)
			case []any:
				for _, x := range o {
					if s, ok := x.(string); ok {
						out[name] = append(out[name], s)
					}
				}
			}
		}
	}
	return out
}

func (c *compiled) joinLevel() int {
	if c.Notification.JoinLevel > 0 {
		return c.Notification.JoinLevel
	}
	return 1
}

// flat appends to docs the entities e links to, up to joinLevel hops, each
// once (clause 4.5.23, join=flat).
func (c *compiled) flat(docs []ngsild.Doc, e *ngsild.Entity, o ngsild.RenderOptions, get Getter) []ngsild.Doc {
	seen := map[string]bool{e.ID: true}
	level := []*ngsild.Entity{e}
	for range c.joinLevel() {
		var next []*ngsild.Entity
		for _, x := range level {
			ts := targets(x)
			names := make([]string, 0, len(ts))
			for n := range ts {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				for _, id := range ts[n] {
					if seen[id] {
						continue
					}
					seen[id] = true
					if l := get(c.Tenant, id); l != nil {
						docs = append(docs, ngsild.Render(l, o))
						next = append(next, l)
					}
				}
			}
		}
		level = next
	}
	return docs
}

// inline puts in d, the rendering of e, the entity each single-target
// relationship links to, up to joinLevel hops (clause 4.5.23, join=inline):
// as the relationship's "entity" member, or in keyValues in place of its
// object.
func (c *compiled) inline(d ngsild.Doc, e *ngsild.Entity, o ngsild.RenderOptions, get Getter, depth int, seen map[string]bool) ngsild.Doc {
	if depth >= c.joinLevel() {
		return d
	}
	seen[e.ID] = true
	defer delete(seen, e.ID)
	for name, ids := range targets(e) {
		if len(ids) != 1 || seen[ids[0]] {
			continue
		}
		l := get(c.Tenant, ids[0])
		if l == nil {
			continue
		}
		key := o.Context.CompactIRI(name)
		for i := range d {
			if d[i].Key != key {
				continue
			}
			ld := c.inline(ngsild.Render(l, o), l, o, get, depth+1, seen)
			if ad, ok := d[i].Value.(ngsild.Doc); ok && o.Format != ngsild.KeyValues {
				d[i].Value = append(slices.Clone(ad), ngsild.Member{Key: "entity", Value: ld})
			} else if _, ok := d[i].Value.(string); ok {
				d[i].Value = ld
			}
		}
	}
	return d
}
