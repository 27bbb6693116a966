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
	j.seen = map[string]bool{}
	if v := c.query.Get("containedBy"); v != "" {
		for _, id := range splitList(v) {
			j.seen[id] = true
		}
	}
	return j, nil
}

// linkedTargets returns the ids e's relationships point at, in attribute order.
func linkedTargets(e *ngsild.Entity) []string {
	var out []string
	for _, name := range attrNames(e) {
		for _, a := range e.Attrs[name] {
			if a.Type != ngsild.Relationship && a.Type != ngsild.ListRelationship {
				continue
			}
			switch o := a.Object.(type) {
			case string:
				out = append(out, o)
			case []any:
				for _, x := range o {
					if s, ok := x.(string); ok {
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

// inline renders e and, up to level deep, puts each linked entity into the
// relationship that points at it: as an "entity" member in the normalized and
// concise forms, in place of the object id in keyValues. Missing targets are
// left out.
func (c *call) inline(ctx context.Context, e *ngsild.Entity, o ngsild.RenderOptions, level int, seen map[string]bool) ngsild.Doc {
	d := ngsild.Render(e, o)
	if level == 0 {
		return d
	}
	seen = copySeen(seen, e.ID)
	sub := o
	sub.IncludeContext = nil
	sub.Attrs, sub.Pick, sub.Omit = nil, nil, nil
	for _, name := range attrNames(e) {
		key := o.Context.CompactIRI(name)
		for _, a := range e.Attrs[name] {
			target, ok := a.Object.(string)
			if a.Type != ngsild.Relationship || !ok || seen[target] {
				continue
			}
			t, err := c.api.store.Get(ctx, c.tenant, target)
			if err != nil {
				continue
			}
			linked := c.inline(ctx, t, sub, level-1, seen)
			for i := range d {
				if d[i].Key != key {
					continue
				}
				d[i].Value = attachEntity(d[i].Value, a.DatasetID, target, linked, o.Format)
			}
		}
	}
	return d
}

// attachEntity adds the linked entity to a rendered relationship value.
func attachEntity(v any, datasetID, target string, linked ngsild.Doc, f ngsild.Format) any {
	switch x := v.(type) {
	case ngsild.Doc:
		if obj, _ := x.Get("object"); obj == target {
			if ds, _ := x.Get("datasetId"); ds == nil && datasetID == "" || ds == datasetID {
				return append(x, ngsild.Member{Key: "entity", Value: linked})
			}
		}
	case string:
		if f == ngsild.KeyValues && x == target {
			return linked
		}
	case []any:
		for i := range x {
			x[i] = attachEntity(x[i], datasetID, target, linked, f)
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

// flat returns the entities linked from roots, breadth first up to level
// hops, each once and none of the roots themselves.
func (c *call) flat(ctx context.Context, roots []*ngsild.Entity, level int, seen map[string]bool) []*ngsild.Entity {
	have := map[string]bool{}
	for k := range seen {
		have[k] = true
	}
	for _, r := range roots {
		have[r.ID] = true
	}
	var out []*ngsild.Entity
	frontier := roots
	for hop := 0; hop < level && len(frontier) > 0; hop++ {
		var next []*ngsild.Entity
		for _, e := range frontier {
			for _, id := range linkedTargets(e) {
				if have[id] {
					continue
				}
				have[id] = true
				t, err := c.api.store.Get(ctx, c.tenant, id)
				if err != nil {
					continue
				}
				next = append(next, t)
			}
		}
		out = append(out, next...)
		frontier = next
	}
	return out
}
