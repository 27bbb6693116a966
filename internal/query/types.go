package query

import (
	"strings"

	"github.com/qala-city/qala/internal/jsonld"
)

// TypeExpr is a parsed entity type selection (clause 4.17): a name, "*"
// (every type), or an AND or OR of type expressions.
type TypeExpr struct {
	And, Or []*TypeExpr
	Name    string // expanded type IRI
	All     bool   // "*"
	term    string // as written
}

// String renders x in type selection syntax, with names as written.
func (x *TypeExpr) String() string {
	switch {
	case x.All:
		return "*"
	case x.And != nil:
		return joinTypes(x.And, ";")
	case x.Or != nil:
		return joinTypes(x.Or, ",")
	}
	return x.term
}

func joinTypes(xs []*TypeExpr, sep string) string {
	parts := make([]string, len(xs))
	for i, c := range xs {
		parts[i] = c.String()
		if c.Or != nil {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, sep)
}

// ParseTypes parses an entity type selection (clause 4.17): type names
// combined with "," or "|" (OR) and ";" (AND), AND binding tighter, and
// parentheses, e.g. "(Building;Home),Vehicle"; or "*" for every type. Names
// are expanded with ctx.
func ParseTypes(src string, ctx *jsonld.Context) (*TypeExpr, error) {
	if err := checkLen("type", src); err != nil {
		return nil, err
	}
	p := &typeParser{scanner: scanner{param: "type", src: src}, ctx: ctx}
	p.skipSpace()
	if p.eof() {
		return nil, p.errAt(0, "empty type selection")
	}
	x, err := p.or(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errAt(p.pos, "expected \",\", \"|\", \";\" or end of type selection, found %s", p.describe(p.pos))
	}
	return x, nil
}

type typeParser struct {
	scanner
	ctx *jsonld.Context
}

func (p *typeParser) or(depth int) (*TypeExpr, error) {
	xs, err := list(&p.scanner, ",|", func() (*TypeExpr, error) { return p.and(depth) })
	if err != nil || len(xs) == 1 {
		return first(xs), err
	}
	return &TypeExpr{Or: xs}, nil
}

func (p *typeParser) and(depth int) (*TypeExpr, error) {
	xs, err := list(&p.scanner, ";", func() (*TypeExpr, error) { return p.unit(depth) })
	if err != nil || len(xs) == 1 {
		return first(xs), err
	}
	return &TypeExpr{And: xs}, nil
}

func (p *typeParser) unit(depth int) (*TypeExpr, error) {
	p.skipSpace()
	at := p.pos
	switch {
	case p.accept("*"):
		return &TypeExpr{All: true, term: "*"}, nil
	case p.peek() == '(':
		return group(&p.scanner, depth, p.or)
	}
	name := p.typeName()
	if name == "" {
		return nil, p.errAt(at, "expected an entity type name, found %s", p.describe(at))
	}
	if i := strings.IndexFunc(name, forbiddenInName); i >= 0 {
		return nil, p.errAt(at+i, "%s is not allowed in an entity type name (clause 4.6.2)", p.describe(at+i))
	}
	return &TypeExpr{Name: p.ctx.ExpandTerm(name), term: name}, nil
}

// typeName scans a type name: an NGSI-LD name, or an absolute IRI.
func (p *typeParser) typeName() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ',' || c == '|' || c == ';' || c == '(' || c == ')' || c == ' ' || c == '*' {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

// Match reports whether an entity with the (expanded) types holds x.
func (x *TypeExpr) Match(types []string) bool {
	switch {
	case x.All:
		return true
	case x.And != nil:
		for _, c := range x.And {
			if !c.Match(types) {
				return false
			}
		}
		return true
	case x.Or != nil:
		for _, c := range x.Or {
			if c.Match(types) {
				return true
			}
		}
		return false
	}
	for _, t := range types {
		if t == x.Name {
			return true
		}
	}
	return false
}

// Names returns the expanded types of x when x is a plain OR list of names
// (so that a store can use its type index), and false otherwise ("*", or an
// expression with ";").
func (x *TypeExpr) Names() ([]string, bool) {
	switch {
	case x.All || x.And != nil:
		return nil, false
	case x.Or != nil:
		var out []string
		for _, c := range x.Or {
			ns, ok := c.Names()
			if !ok {
				return nil, false
			}
			out = append(out, ns...)
		}
		return out, true
	}
	return []string{x.Name}, true
}

// forbiddenInName reports the characters clause 4.6.2 forbids in names
// (and that no IRI holds unescaped): control characters, <, >, ", ', =.
func forbiddenInName(r rune) bool {
	return r < 0x20 || r == 0x7f || strings.ContainsRune(`<>"'=`, r)
}
