package api

import (
	"net/http"
	"sync"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/query"
	"github.com/qala-city/qala/internal/store"
)

// purgeBatch is how many changes purge hands to one store Write.
const purgeBatch = 1000

// purgeEntities is Purge Entities (v1.9 clause 5.6.21, 6.4.3.3): it deletes
// every entity of the tenant that matches id, idPattern, type, q, scopeQ and
// the geo-query (and has one of attrs, when given), or, with drop, deletes only the listed attributes of those
// entities, or, with keep, deletes every attribute but the listed ones. With
// local=true and no selector it purges every entity of the tenant (ETSI
// 060_03_03). Each changed entity goes through the write path (in groups of
// purgeBatch) and so emits its change event.
func (a *API) purgeEntities(c *call) (*response, error) {
	ctx, err := c.linkContext()
	if err != nil {
		return nil, err
	}
	local, err := boolParam(c, "local")
	if err != nil {
		return nil, err
	}
	if d := query.LinkDepth(c.query.Get("q")); d > 0 {
		return nil, problem.BadData("purge cannot follow linked entities in q (no Linked Entity retrieval applies to it): the query is too deep (clause 5.6.21.4 of v1.9)")
	}
	sel, err := query.Parse(query.ParamsFromValues(c.query), ctx)
	if err != nil {
		return nil, err
	}
	attrs, err := c.termList("attrs", ctx)
	if err != nil {
		return nil, err
	}
	keep, hasKeep, err := purgeAttrList(c, "keep", ctx)
	if err != nil {
		return nil, err
	}
	drop, hasDrop, err := purgeAttrList(c, "drop", ctx)
	if err != nil {
		return nil, err
	}
	// Ids alone cannot purge a set of entities (clause 5.6.21.3), but they
	// may name the entities whose attributes keep or drop purge (ETSI TP
	// 060_05 purges by id with keep and drop).
	idsNamed := (sel.IDs != nil || sel.IDPattern != nil) && (hasKeep || hasDrop)
	if err := narrowEnough("purging entities", sel, attrs, local || idsNamed); err != nil {
		return nil, err
	}
	if hasKeep && hasDrop {
		return nil, problem.BadData("keep and drop cannot be used together: keep lists the only attributes to keep, drop the attributes to delete")
	}
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	ids, err := a.purgeCandidates(c, sel, attrs)
	if err != nil {
		return nil, err
	}
	op := store.OpDelete
	if hasKeep || hasDrop {
		op = store.OpDeleteAttrs
	}
	now := time.Now().UTC()
	apply := func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		// The entity may have changed since it was selected: check again.
		if before == nil || !sel.Match(before) || (attrs != nil && !hasAnyAttr(before, attrs)) {
			return before, nil, nil
		}
		switch {
		case hasKeep:
			return withoutAttrs(before, func(name string) bool { return !contains(keep, name) }, now)
		case hasDrop:
			return withoutAttrs(before, func(name string) bool { return contains(drop, name) }, now)
		}
		return nil, nil, nil
	}
	for len(ids) > 0 {
		n := min(len(ids), purgeBatch)
		changes := make([]store.Change, n)
		for i, id := range ids[:n] {
			changes[i] = store.Change{ID: id, Op: op, Apply: apply}
		}
		if _, err := a.store.Write(c.r.Context(), c.tenant, changes); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return &response{status: http.StatusNoContent}, nil
}

// purgeAttrList reads keep or drop: a comma-separated list of attribute
// names, expanded with the request's @context.
func purgeAttrList(c *call, param string, ctx *jsonld.Context) (names []string, present bool, err error) {
	v, ok := c.query[param]
	if !ok {
		return nil, false, nil
	}
	items := splitList(v[0])
	if len(items) == 0 {
		return nil, true, problem.BadData("%s must list at least one attribute name", param)
	}
	for _, it := range items {
		if !validName(it) {
			return nil, true, problem.BadData("%s: %q is not a valid attribute name", param, it)
		}
		names = append(names, ctx.ExpandTerm(it))
	}
	return names, true, nil
}

// purgeCandidates returns the ids of the entities that match sel. It reads
// them with one store query whose Filter records each match and keeps none,
// so that a purge of a million entities holds ids, not decoded entities.
func (a *API) purgeCandidates(c *call, sel *query.Query, attrs []string) ([]string, error) {
	q := store.Query{IDs: sel.IDs, IDPattern: sel.IDPattern, Attrs: attrs, Count: true}
	if types, ok := sel.IndexTypes(); ok {
		q.Types = types
	}
	if sel.Q == nil && sel.Geo == nil {
		q.FilterAttrs = []string{} // id, types and scope suffice
	}
	var mu sync.Mutex
	var ids []string
	q.Filter = func(e *ngsild.Entity) bool {
		if sel.Match(e) {
			mu.Lock()
			ids = append(ids, e.ID)
			mu.Unlock()
		}
		return false
	}
	if _, err := a.store.Query(c.r.Context(), c.tenant, q); err != nil {
		return nil, err
	}
	return ids, nil
}

// withoutAttrs returns a copy of e without the attributes for which drop is
// true, or e itself when there are none (a no-op).
func withoutAttrs(e *ngsild.Entity, drop func(string) bool, now time.Time) (*ngsild.Entity, []string, error) {
	var gone []string
	for name := range e.Attrs {
		if drop(name) {
			gone = append(gone, name)
		}
	}
	if len(gone) == 0 {
		return e, nil, nil
	}
	after := e.Clone()
	for _, name := range gone {
		delete(after.Attrs, name)
	}
	after.ModifiedAt = now
	return after, gone, nil
}
