package api

import (
	"strings"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/problem"
)

// proj is a parsed pick or omit parameter (clause 4.21 of v1.8): members at
// this level, and for relationships, the projection of the entities they
// link to when joined ("locatedAt{id,name}").
type proj struct {
	omit  bool
	names []string         // members named at this level (expanded; id, type, scope as is)
	sub   map[string]*proj // nested projections by expanded relationship name
}

// members returns the RenderOptions list for this level: every name for
// pick; for omit only the names without a nested projection (omit=a{b}
// omits b of the linked entities, not a).
func (p *proj) members() []string {
	if p == nil {
		return nil
	}
	if !p.omit {
		return p.names
	}
	var out []string
	for _, n := range p.names {
		if p.sub[n] == nil {
			out = append(out, n)
		}
	}
	return out
}

// follows reports whether the relationship attribute is kept at this level.
func (p *proj) follows(attr string) bool {
	if p == nil {
		return true
	}
	if !p.omit {
		return contains(p.names, attr)
	}
	return p.sub[attr] != nil || !contains(p.names, attr)
}

// child returns the projection of the entities linked through attr.
func (p *proj) child(attr string) *proj {
	if p == nil {
		return nil
	}
	return p.sub[attr]
}

// depth returns how many relationship hops p reaches into linked entities:
// 0 for "a,b", 1 for "a{b}", 2 for "a{b{c}}".
func (p *proj) depth() int {
	if p == nil {
		return 0
	}
	d := 0
	for _, c := range p.sub {
		d = max(d, 1+c.depth())
	}
	return d
}

// parseProjection parses "a,b{c,d{e}}" (the grammar of pick and omit). The
// or-operator between members is a comma or a pipe (clause 4.21: "either a
// comma or a pipe character can be used as alternative representations of
// the or operator"), so "a|b{c|d}" is the same projection; neither can be
// part of a member name (clause 4.6.2).
func parseProjection(param, s string, ctx *jsonld.Context, omit bool) (*proj, error) {
	p := &projParser{param: param, s: s, ctx: ctx, omit: omit}
	out, err := p.list(0)
	if err != nil {
		return nil, err
	}
	if p.i != len(s) {
		return nil, problem.BadData("%s: unexpected %q at offset %d of %q", param, s[p.i], p.i, s)
	}
	return out, nil
}

type projParser struct {
	param string
	s     string
	i     int
	ctx   *jsonld.Context
	omit  bool
}

func (p *projParser) list(depth int) (*proj, error) {
	if depth > 8 {
		return nil, problem.BadData("%s nests deeper than 8 levels", p.param)
	}
	out := &proj{omit: p.omit}
	for {
		start := p.i
		for p.i < len(p.s) && !strings.ContainsRune(",|{}", rune(p.s[p.i])) {
			p.i++
		}
		name := strings.TrimSpace(p.s[start:p.i])
		if name == "" {
			return nil, problem.BadData("%s: a member name is missing at offset %d of %q", p.param, start, p.s)
		}
		switch name {
		case "id", "type", "scope":
		default:
			if !validName(name) {
				return nil, problem.BadData("%s: %q is not a valid attribute name", p.param, name)
			}
			name = p.ctx.ExpandTerm(name)
		}
		out.names = append(out.names, name)
		if p.i < len(p.s) && p.s[p.i] == '{' {
			p.i++
			sub, err := p.list(depth + 1)
			if err != nil {
				return nil, err
			}
			if p.i >= len(p.s) || p.s[p.i] != '}' {
				return nil, problem.BadData("%s: missing } at offset %d of %q", p.param, p.i, p.s)
			}
			p.i++
			if out.sub == nil {
				out.sub = map[string]*proj{}
			}
			out.sub[name] = sub
		}
		if p.i >= len(p.s) || p.s[p.i] == '}' {
			return out, nil
		}
		if p.s[p.i] != ',' && p.s[p.i] != '|' {
			return nil, problem.BadData("%s: unexpected %q at offset %d of %q", p.param, p.s[p.i], p.i, p.s)
		}
		p.i++
	}
}
