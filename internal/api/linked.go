package api

import (
	"context"
	"strconv"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
)

// join holds the linked-entity retrieval parameters of v1.8 (clause 4.5.23,
// join, joinLevel, containedBy).
type join struct {
	mode  string // "", "inline" or "flat"
	level int
	seen  map[string]bool // containedBy: ids not to follow again
}

func (c *call) joinOptions() (join, error) {
	j := join{mode: c.query.Get("join"), level: 1}
	switch j.mode {
	case "", "@none":
		j.mode = ""
	case "inline", "flat":
	default:
		return j, problem.BadData("join must be inline, flat or @none, not %q", j.mode)
	}
	if v := c.query.Get("joinLevel"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 16 {
			return j, problem.BadData("joinLevel must be an integer from 1 to 16, not %q", v)
		}
		if j.mode == "" {
			return j, problem.BadData("joinLevel needs join=inline or join=flat")
		}
		j.level = n
	}
	// A pick or omit that reaches into linked entities needs the Linked
	// Entity retrieval to go at least as deep (clause 5.7.1.4, 5.7.2.4 of
	// v1.9; ETSI TPs 019_33, 5711_01).
	if d := max(c.pick.depth(), c.omit.depth()); d > 0 {
		if j.mode == "" {
			return j, problem.BadData("pick or omit selects members of linked entities (\"rel{...}\"), which needs join=inline or join=flat")
		}
		if d > j.level {
			return j, problem.BadData("pick or omit reaches %d linked entities deep, deeper than joinLevel=%d", d, j.level)
		}
	}
	j.seen = map[string]bool{}
	if v := c.query.Get("containedBy"); v != "" {
		for _, id := range splitList(v) {
			j.seen[id] = true
		}
	}
	return j, nil
}

// linkedTargets returns the ids e's relationships point at, in attribute
// order, with the attribute that points at each, following only the
// relationships the projections keep.
func linkedTargets(e *ngsild.Entity, pick, omit *proj) (ids, via []string) {
	for _, name := range attrNames(e) {
		if !pick.follows(name) || !omit.follows(name) {
			continue
		}
		for _, a := range e.Attrs[name] {
			if a.Type != ngsild.Relationship && a.Type != ngsild.ListRelationship {
				continue
			}
			switch o := a.Object.(type) {
			case string:
				ids, via = append(ids, o), append(via, name)
			case []any:
				for _, x := range o {
					if s, ok := x.(string); ok {
						ids, via = append(ids, s), append(via, name)
					}
				}
			}
		}
	}
	return ids, via
}

// withProj returns o with the pick and omit of one level.
func withProj(o ngsild.RenderOptions, pick, omit *proj) ngsild.RenderOptions {
	o.Pick, o.Omit = pick.members(), omit.members()
	return o
}

// inline renders e and, up to level deep, puts each linked entity into the
// relationship that points at it: as an "entity" member in the normalized and
// concise forms, in place of the object id in keyValues (clause 4.5.23).
// Missing targets are left out. pick and omit may nest into linked entities.
func (c *call) inline(ctx context.Context, e *ngsild.Entity, o ngsild.RenderOptions, level int, seen map[string]bool, pick, omit *proj) ngsild.Doc {
	d := ngsild.Render(e, withProj(o, pick, omit))
	if level == 0 {
		return d
	}
	seen = copySeen(seen, e.ID)
	sub := o
	sub.IncludeContext = nil
	sub.Attrs = nil
	ids, via := linkedTargets(e, pick, omit)
	for i, target := range ids {
		if seen[target] {
			continue
		}
		t, err := c.api.store.Get(ctx, c.tenant, target)
		if err != nil {
			continue
		}
		name := via[i]
		linked := c.inline(ctx, t, sub, level-1, seen, pick.child(name), omit.child(name))
		key := o.Context.CompactIRI(name)
		for j := range d {
			if d[j].Key == key {
				d[j].Value = attachEntity(d[j].Value, target, linked, o.Format)
			}
		}
	}
	return d
}

// attachEntity adds the linked entity to a rendered relationship value.
func attachEntity(v any, target string, linked ngsild.Doc, f ngsild.Format) any {
	switch x := v.(type) {
	case ngsild.Doc:
		if obj, _ := x.Get("object"); obj == target {
			if _, done := x.Get("entity"); !done {
				return append(x, ngsild.Member{Key: "entity", Value: linked})
			}
		}
	case string:
		if f == ngsild.KeyValues && x == target {
			return linked
		}
	case []any:
		for i := range x {
			x[i] = attachEntity(x[i], target, linked, f)
		}
	}
	return v
}

func copySeen(seen map[string]bool, id string) map[string]bool {
	out := make(map[string]bool, len(seen)+1)
	for k := range seen {
		out[k] = true
	}
	out[id] = true
	return out
}

// linked is an entity reached by a flat join, with the projections that
// apply to it.
type linked struct {
	e          *ngsild.Entity
	pick, omit *proj
}

// flat returns the entities linked from roots, breadth first up to level
// hops, each once and none of the roots themselves.
func (c *call) flat(ctx context.Context, roots []*ngsild.Entity, level int, seen map[string]bool, pick, omit *proj) []linked {
	have := map[string]bool{}
	for k := range seen {
		have[k] = true
	}
	frontier := make([]linked, len(roots))
	for i, r := range roots {
		have[r.ID] = true
		frontier[i] = linked{r, pick, omit}
	}
	var out []linked
	for hop := 0; hop < level && len(frontier) > 0; hop++ {
		var next []linked
		for _, l := range frontier {
			ids, via := linkedTargets(l.e, l.pick, l.omit)
			for i, id := range ids {
				if have[id] {
					continue
				}
				have[id] = true
				t, err := c.api.store.Get(ctx, c.tenant, id)
				if err != nil {
					continue
				}
				next = append(next, linked{t, l.pick.child(via[i]), l.omit.child(via[i])})
			}
		}
		out = append(out, next...)
		frontier = next
	}
	return out
}
