package query

import (
	"slices"
	"strings"

	"github.com/qala-city/qala/internal/ngsild"
)

// LinkDepth returns how deep the linked-entity paths of a q expression
// reach ("attr{linkedAttr}" follows a Relationship to the entity it points
// at): 0 when it has none, 1 for "owner{name}==1", 2 for
// "owner{works{name}}==1". Braces inside double-quoted strings do not
// count. The API compares it with join and joinLevel (clause 5.7.2.4 of
// v1.9: a filter over Linked Entities deeper than the retrieval asked for
// is a "too deep query").
func LinkDepth(src string) int {
	depth, deepest, quoted := 0, 0, false
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == '}':
			depth = max(0, depth-1)
		}
	}
	return deepest
}

// maxLinkDepth bounds the linked-entity steps of one q path.
const maxLinkDepth = 16

// linked scans the "{[Type:]path}" of a linked-entity path (clause 4.9 of
// v1.9, EXAMPLE 13 and 14) after the attribute of path, which started at
// start. A name before ":" is a type hint unless it is a prefix of the
// @context (then "prefix:name" is a compact attribute name).
func (p *qParser) linked(path *Path, start, depth int) error {
	open := p.pos
	if path.Entity != MemberNone || path.Member != MemberNone || len(path.Subs) > 0 || len(path.Keys) > 0 {
		return p.errAt(open, "\"{\" must follow a Relationship's name directly, not %q", p.src[start:open])
	}
	if depth+1 > maxLinkDepth {
		return p.errAt(open, "linked-entity paths nest deeper than %d", maxLinkDepth)
	}
	p.pos++
	p.skipSpace()
	at := p.pos
	n := p.name()
	if i := strings.IndexByte(n, ':'); i > 0 && i < len(n)-1 && p.ctx.ExpandTerm(n) == n {
		path.LinkTypes = []string{p.ctx.ExpandTerm(n[:i])}
		at += i + 1
	}
	p.pos = at
	inner, err := p.pathAt(depth + 1)
	if err != nil {
		return err
	}
	p.skipSpace()
	if !p.accept("}") {
		if p.eof() {
			return p.errAt(open, "unclosed \"{\"")
		}
		return p.errAt(p.pos, "expected \"}\" after the linked-entity path, found %s", p.describe(p.pos))
	}
	path.Linked = &inner
	return nil
}

// Resolver returns the entity with the given id, of the tenant of the
// entities being matched, or nil when there is none. It is how a
// linked-entity path reaches the entities a Relationship points at; it is
// called while a query is evaluated, possibly from several goroutines.
type Resolver func(id string) *ngsild.Entity

// visitLinked evaluates a term whose path is linked ("rel{path}") on e:
// it holds when the rest of the term holds on one of the entities e's
// Relationship (or ListRelationship) rel points at, found with r and of
// one of the hinted types. Without a resolver nothing is linked.
func (t *Term) visitLinked(e *ngsild.Entity, r Resolver, exist bool) bool {
	p := &t.Path
	if r == nil {
		return false
	}
	inner := Term{Path: *p.Linked, Op: t.Op, Values: t.Values, Range: t.Range, Regexp: t.Regexp}
	for _, a := range e.Attrs[p.Attr] {
		if a.Type != ngsild.Relationship && a.Type != ngsild.ListRelationship {
			continue
		}
		for _, id := range objectIDs(a.Object) {
			target := r(id)
			if target == nil || (p.LinkTypes != nil && !slices.ContainsFunc(target.Types, func(ty string) bool { return slices.Contains(p.LinkTypes, ty) })) {
				continue
			}
			if inner.visitWith(target, r, exist) {
				return true
			}
		}
	}
	return false
}

// objectIDs returns the entity ids a Relationship's object or a
// ListRelationship's objectList holds.
func objectIDs(o any) []string {
	switch v := o.(type) {
	case string:
		return []string{v}
	case []any:
		ids := make([]string, 0, len(v))
		for _, x := range v {
			switch y := x.(type) {
			case string:
				ids = append(ids, y)
			case map[string]any:
				if s, ok := y["object"].(string); ok {
					ids = append(ids, s)
				}
			}
		}
		return ids
	case []string:
		return v
	}
	return nil
}
