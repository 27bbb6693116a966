package api

import (
	"strconv"
	"sync"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/query"
)

// narrowEnough checks the "too wide query" rule of Query Entities and Purge
// Entities (clauses 5.7.2.4 and 5.6.21.4 of v1.9): at least one of a) a
// selector of entity types, b) a list of attributes naming at least one
// non-system attribute, c) a q query over at least one non-system
// attribute, d) a geo-query, e) local=true. Entity ids and idPatterns only
// narrow such a selection (clause 5.6.21.3: entities cannot be purged "by
// only specifying desired Entity identifiers"; ETSI TPs 019_03_05, 060_06,
// 5722_01). op names the operation in the error.
func narrowEnough(op string, sel *query.Query, attrs []string, local bool) error {
	if local || sel.Type != nil || sel.Geo != nil || len(attrs) > 0 || hasAttrTerm(sel.Q) {
		return nil
	}
	return problem.BadData("%s needs at least one of type, attrs, a q over a non-system attribute, a geo-query (georel, geometry, coordinates) or local=true; id, idPattern, scopeQ and system members (createdAt, modifiedAt...) only narrow it", op)
}

// hasAttrTerm reports whether x tests an attribute rather than only entity
// members (id, type, scope, createdAt, modifiedAt).
func hasAttrTerm(x query.Expr) bool {
	switch t := x.(type) {
	case query.And:
		for _, c := range t {
			if hasAttrTerm(c) {
				return true
			}
		}
	case query.Or:
		for _, c := range t {
			if hasAttrTerm(c) {
				return true
			}
		}
	case *query.Term:
		return t.Path.Attr != ""
	}
	return false
}

// linkedDepthAllowed refuses a q that follows linked entities ("a{b}")
// deeper than the Linked Entity retrieval asked for with join and
// joinLevel: clause 5.7.2.4 of v1.9 makes such a "too deep query"
// BadRequestData (ETSI TP 5722_01). Within that depth the query follows
// the Relationships with resolver.
func (c *call) linkedDepthAllowed(q string) error {
	d := query.LinkDepth(q)
	if d == 0 {
		return nil
	}
	switch c.query.Get("join") {
	case "", "@none":
		return problem.BadData("q follows linked entities %d level(s) deep but no Linked Entity retrieval is asked for (join=inline or flat): the query is too deep (clause 5.7.2.4 of v1.9)", d)
	}
	level := 1
	if n, err := strconv.Atoi(c.query.Get("joinLevel")); err == nil {
		level = n
	}
	if d > level {
		return problem.BadData("q follows linked entities %d levels deep, deeper than joinLevel=%d: the query is too deep (clause 5.7.2.4 of v1.9)", d, level)
	}
	return nil
}

// maxResolved bounds the linked entities one query remembers.
const maxResolved = 10000

// resolver finds the entities the linked-entity paths of a q reach (clause
// 4.9 of v1.9): in the tenant of the request, as they are when the query
// reads them. The entities found are remembered for the query, as many
// entities usually point at the same few.
func (c *call) resolver() query.Resolver {
	var mu sync.Mutex
	seen := map[string]*ngsild.Entity{}
	ctx, tenant := c.r.Context(), c.tenant
	return func(id string) *ngsild.Entity {
		mu.Lock()
		e, ok := seen[id]
		mu.Unlock()
		if ok {
			return e
		}
		e, err := c.api.store.Get(ctx, tenant, id)
		if err != nil {
			e = nil
		}
		mu.Lock()
		if len(seen) < maxResolved {
			seen[id] = e
		}
		mu.Unlock()
		return e
	}
}
