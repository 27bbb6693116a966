package query

import (
	"slices"
	"strings"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/problem"
)

// parseExpandValues parses the expandValues parameter: attribute names,
// comma-separated, returned expanded with ctx.
func parseExpandValues(s string, ctx *jsonld.Context) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if err := checkLen("expandValues", s); err != nil {
		return nil, err
	}
	var out []string
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" || strings.ContainsAny(n, " \t\"<>{}[];|()=!~") {
			return nil, problem.BadData("expandValues: %q is not an attribute name", n)
		}
		out = append(out, ctx.ExpandTerm(n))
	}
	return out, nil
}

// settleExpansion decides how the string values of a term compare with
// the entity (clause 4.9 of v1.9, EXAMPLE 12): for an attribute listed in
// expandValues they are expanded with the @context before the query runs,
// and only the expansion is compared (so "category==commercial" finds the
// VocabProperty whose vocab is held as the expanded IRI); for any other
// attribute they are compared as written. Entity types are always held
// expanded, so a term on the type member also equals its expansion.
//
// Through a linked-entity path, the attribute compared is the last one.
func (p *qParser) settleExpansion(t *Term) {
	path := &t.Path
	for path.Linked != nil {
		path = path.Linked
	}
	if path.Entity == MemberType {
		return
	}
	expand := path.Entity == MemberNone && path.Member == MemberNone && slices.Contains(p.expandValues, path.Attr)
	for i := range t.Values {
		v := &t.Values[i]
		if expand && v.Expanded != "" {
			v.Str = v.Expanded
		}
		v.Expanded = ""
	}
}
