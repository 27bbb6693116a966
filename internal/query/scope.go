package query

import (
	"strings"

	"github.com/qala-city/qala/internal/ngsild"
)

// ScopeNode is a parsed scope query (clause 4.19), or one node of it: an
// AND or OR of children, or a pattern.
type ScopeNode struct {
	And, Or []*ScopeNode
	// Pattern holds the levels of a scope pattern, "+" standing for exactly
	// one level and a final "#" for zero or more levels.
	Pattern []string
}

// String renders n in scopeQ syntax.
func (n *ScopeNode) String() string {
	switch {
	case n.And != nil:
		return joinScope(n.And, ";")
	case n.Or != nil:
		return joinScope(n.Or, "|")
	}
	return "/" + strings.Join(n.Pattern, "/")
}

func joinScope(ns []*ScopeNode, sep string) string {
	parts := make([]string, len(ns))
	for i, c := range ns {
		parts[i] = c.String()
		if c.Or != nil {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, sep)
}

// ParseScopeQ parses a scope query (clause 4.19): scope patterns such as
// "/Madrid/Gardens", "/Madrid/#" (Madrid and every scope below it), "/+/Gardens"
// (one level, any name) and "/#" (any scope), combined with ";" (AND), "|" or
// "," (OR) and parentheses, AND binding tighter.
func ParseScopeQ(src string) (*ScopeNode, error) {
	if err := checkLen("scopeQ", src); err != nil {
		return nil, err
	}
	p := &scopeParser{scanner{param: "scopeQ", src: src}}
	p.skipSpace()
	if p.eof() {
		return nil, p.errAt(0, "empty expression")
	}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errAt(p.pos, "expected \";\", \"|\", \",\" or end of expression, found %s", p.describe(p.pos))
	}
	return n, nil
}

type scopeParser struct{ scanner }

func (p *scopeParser) or(depth int) (*ScopeNode, error) {
	xs, err := list(&p.scanner, "|,", func() (*ScopeNode, error) { return p.and(depth) })
	if err != nil || len(xs) == 1 {
		return first(xs), err
	}
	return &ScopeNode{Or: xs}, nil
}

func (p *scopeParser) and(depth int) (*ScopeNode, error) {
	xs, err := list(&p.scanner, ";", func() (*ScopeNode, error) { return p.unit(depth) })
	if err != nil || len(xs) == 1 {
		return first(xs), err
	}
	return &ScopeNode{And: xs}, nil
}

func (p *scopeParser) unit(depth int) (*ScopeNode, error) {
	p.skipSpace()
	if p.peek() != '(' {
		return p.pattern()
	}
	return group(&p.scanner, depth, p.or)
}

func (p *scopeParser) pattern() (*ScopeNode, error) {
	if !p.accept("/") {
		return nil, p.errAt(p.pos, "expected a scope starting with \"/\", found %s", p.describe(p.pos))
	}
	n := &ScopeNode{}
	for {
		at := p.pos
		var level string
		switch {
		case p.accept("#"):
			level = "#"
		case p.accept("+"):
			level = "+"
		default:
			level = p.name()
			if level == "" || strings.Contains(level, ":") || strings.Contains(level, "-") {
				return nil, p.errAt(at, "expected a scope level (letters, digits, \"_\"), \"+\" or \"#\", found %s", p.describe(at))
			}
		}
		n.Pattern = append(n.Pattern, level)
		if !p.accept("/") {
			break
		}
		if level == "#" {
			return nil, p.errAt(at, "\"#\" must be the last level of a scope pattern")
		}
	}
	return n, nil
}

// MatchScope reports whether entity e's scopes satisfy n; an entity without
// a scope satisfies no pattern.
func MatchScope(n *ScopeNode, e *ngsild.Entity) bool {
	switch {
	case n.And != nil:
		for _, c := range n.And {
			if !MatchScope(c, e) {
				return false
			}
		}
		return true
	case n.Or != nil:
		for _, c := range n.Or {
			if MatchScope(c, e) {
				return true
			}
		}
		return false
	}
	for _, s := range e.Scope {
		if scopeMatches(s, n.Pattern) {
			return true
		}
	}
	return false
}

// scopeMatches reports whether scope (e.g. "/Madrid/Gardens") matches the
// pattern levels, without allocating.
func scopeMatches(scope string, pat []string) bool {
	rest := strings.TrimPrefix(scope, "/")
	more := rest != ""
	for _, seg := range pat {
		if seg == "#" {
			return true
		}
		if !more {
			return false
		}
		var level string
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			level, rest = rest[:j], rest[j+1:]
		} else {
			level, rest, more = rest, "", false
		}
		if seg != "+" && seg != level {
			return false
		}
	}
	return !more
}
