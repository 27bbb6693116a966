package api

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
)

// maxOrdered bounds how many matches a query with orderBy may sort: ordering
// needs every match in memory, so a larger result is refused as too complex
// rather than exhausting the server.
const maxOrdered = 20000

// orderKey is one key of orderBy (clause 4.23 of v1.9): a member path and a
// direction.
type orderKey struct {
	member string   // "id", "type", "scope", "createdAt", "modifiedAt", or "" for an attribute
	attr   string   // expanded attribute name
	sub    []string // expanded sub-attribute names, or a final metadata member
	desc   bool
}

// parseOrderBy parses "type;asc,name.subProperty;desc,name".
func parseOrderBy(s string, ctx *jsonld.Context) ([]orderKey, error) {
	var keys []orderKey
	for _, part := range strings.Split(s, ",") {
		path, dir, _ := strings.Cut(strings.TrimSpace(part), ";")
		var k orderKey
		switch dir {
		case "", "asc", "ascending":
		case "desc", "descending":
			k.desc = true
		default:
			return nil, problem.BadData("orderBy: direction must be asc or desc, not %q", dir)
		}
		if path == "" {
			return nil, problem.BadData("orderBy: an empty key in %q", s)
		}
		steps := strings.Split(path, ".")
		for _, st := range steps {
			if !validName(st) {
				return nil, problem.BadData("orderBy: %q is not a valid member name", st)
			}
		}
		switch steps[0] {
		case "id", "type", "scope", "createdAt", "modifiedAt":
			if len(steps) > 1 {
				return nil, problem.BadData("orderBy: %s has no members", steps[0])
			}
			k.member = steps[0]
		default:
			k.attr = ctx.ExpandTerm(steps[0])
			for _, st := range steps[1:] {
				switch st {
				case "createdAt", "modifiedAt", "observedAt", "unitCode", "datasetId":
					k.sub = append(k.sub, st)
				default:
					k.sub = append(k.sub, ctx.ExpandTerm(st))
				}
			}
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// orderValue returns the value an entity is sorted by for k, or nil.
func orderValue(e *ngsild.Entity, k orderKey) any {
	switch k.member {
	case "id":
		return e.ID
	case "type":
		if len(e.Types) > 0 {
			return e.Types[0]
		}
		return nil
	case "scope":
		if len(e.Scope) > 0 {
			return e.Scope[0]
		}
		return nil
	case "createdAt":
		return e.CreatedAt
	case "modifiedAt":
		return e.ModifiedAt
	}
	a := e.Instance(k.attr, "")
	if a == nil {
		if insts := e.Attrs[k.attr]; len(insts) > 0 {
			a = insts[0]
		}
	}
	for _, st := range k.sub {
		if a == nil {
			return nil
		}
		switch st {
		case "createdAt":
			return a.CreatedAt
		case "modifiedAt":
			return a.ModifiedAt
		case "observedAt":
			return a.ObservedAt
		case "unitCode":
			return a.UnitCode
		case "datasetId":
			return a.DatasetID
		}
		a = a.Sub[st]
	}
	if a == nil {
		return nil
	}
	switch a.Type {
	case ngsild.Relationship, ngsild.ListRelationship:
		return a.Object
	case ngsild.LanguageProperty:
		return a.LanguageMap
	}
	return a.Value
}

// rank orders values of different JSON kinds: numbers, strings, booleans,
// date-times, then anything else; missing values sort last either way.
func rank(v any) int {
	switch v.(type) {
	case float64:
		return 0
	case string:
		return 1
	case bool:
		return 2
	case time.Time:
		return 3
	case nil:
		return 5
	}
	return 4
}

func compareValues(a, b any) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch x := a.(type) {
	case float64:
		return cmp.Compare(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case time.Time:
		return x.Compare(b.(time.Time))
	}
	return 0
}

// sortEntities orders es by keys, then by id for a stable, total order.
func sortEntities(es []*ngsild.Entity, keys []orderKey) {
	slices.SortStableFunc(es, func(a, b *ngsild.Entity) int {
		for _, k := range keys {
			va, vb := orderValue(a, k), orderValue(b, k)
			if va == nil || vb == nil { // missing values last, whatever the direction
				if c := cmp.Compare(rank(va), rank(vb)); c != 0 {
					return c
				}
				continue
			}
			c := compareValues(va, vb)
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(a.ID, b.ID)
	})
}
