package query

import "sort"

// Attrs returns the expanded attribute names Match reads (q terms, the
// geoproperty), so that a store may hand Match an entity holding only these
// attributes (store.Query.FilterAttrs). Entity members (id, type, scope,
// createdAt, modifiedAt) are always available and not listed.
func (q *Query) Attrs() []string {
	set := map[string]bool{}
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case And:
			for _, s := range x {
				walk(s)
			}
		case Or:
			for _, s := range x {
				walk(s)
			}
		case *Term:
			if x.Path.Attr != "" {
				set[x.Path.Attr] = true
			}
		}
	}
	if q.Q != nil {
		walk(q.Q)
	}
	if q.Geo != nil {
		set[q.Geo.Property] = true
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
