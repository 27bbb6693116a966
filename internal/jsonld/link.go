package jsonld

import (
	"net/url"
	"strings"

	"github.com/qala-city/qala/internal/problem"
)

// ParseLink parses the value of a Link header (RFC 8288; several header lines
// joined with ", ") and returns the URL of the link with
// rel="http://www.w3.org/ns/json-ld#context", "" when there is none. A
// malformed header is InvalidRequest. More than one context link (JSON-LD 1.1
// API "multiple context link headers", NGSI-LD clause 6.3.5), a context link
// whose type is not application/ld+json or application/json, or a context URL
// that is not an absolute http(s) URL is BadRequestData.
func ParseLink(header string) (string, error) {
	p := linkParser{s: header}
	found, n := "", 0
	for {
		p.skipListSep()
		if p.i >= len(p.s) {
			break
		}
		target, params, err := p.linkValue()
		if err != nil {
			return "", err
		}
		if !hasRel(params["rel"], ContextRel) {
			continue
		}
		if t, ok := params["type"]; ok && !strings.EqualFold(t, "application/ld+json") && !strings.EqualFold(t, "application/json") {
			return "", problem.BadData("Link header: the JSON-LD context link has type %q; it must be application/ld+json", t)
		}
		n++
		found = target
	}
	if n > 1 {
		return "", problem.BadData("Link header: %d links with rel=%q; at most one JSON-LD context link is allowed", n, ContextRel)
	}
	if found == "" {
		if n == 1 {
			return "", problem.BadData("Link header: the JSON-LD context link has an empty URL")
		}
		return "", nil
	}
	u, err := url.Parse(found)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", problem.BadData("Link header: the JSON-LD context URL %q is not an absolute http(s) URL", found)
	}
	return found, nil
}

func hasRel(rel, want string) bool {
	for _, r := range strings.Fields(rel) {
		if strings.EqualFold(r, want) {
			return true
		}
	}
	return false
}

type linkParser struct {
	s string
	i int
}

func (p *linkParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *linkParser) skipListSep() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == ',') {
		p.i++
	}
}

func (p *linkParser) errorf(what string) error {
	return problem.Invalid("Link header: %s at offset %d of %q", what, p.i, p.s)
}

// linkValue parses `<target> *( OWS ";" OWS name [ "=" value ] )` followed by
// the end of the header or a comma. Parameter names are lower-cased; the first
// occurrence of a parameter wins.
func (p *linkParser) linkValue() (string, map[string]string, error) {
	if p.s[p.i] != '<' {
		return "", nil, p.errorf("expected '<'")
	}
	end := strings.IndexByte(p.s[p.i+1:], '>')
	if end < 0 {
		return "", nil, p.errorf("missing '>'")
	}
	target := strings.TrimSpace(p.s[p.i+1 : p.i+1+end])
	p.i += end + 2
	params := map[string]string{}
	for {
		p.skipOWS()
		if p.i >= len(p.s) || p.s[p.i] == ',' {
			return target, params, nil
		}
		if p.s[p.i] != ';' {
			return "", nil, p.errorf("expected ';' or ','")
		}
		p.i++
		p.skipOWS()
		start := p.i
		for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
			p.i++
		}
		if p.i == start {
			if p.i >= len(p.s) || p.s[p.i] == ',' {
				continue // a trailing ';' is tolerated
			}
			return "", nil, p.errorf("expected a parameter name")
		}
		name := strings.ToLower(p.s[start:p.i])
		p.skipOWS()
		val := ""
		if p.i < len(p.s) && p.s[p.i] == '=' {
			p.i++
			p.skipOWS()
			v, err := p.paramValue()
			if err != nil {
				return "", nil, err
			}
			val = v
		}
		if _, dup := params[name]; !dup {
			params[name] = val
		}
	}
}

// paramValue parses a quoted-string, or an unquoted value up to the next
// ';', ',' or whitespace (lenient: clients often send rel=http://... bare).
func (p *linkParser) paramValue() (string, error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		var b strings.Builder
		p.i++
		for p.i < len(p.s) {
			c := p.s[p.i]
			switch {
			case c == '\\' && p.i+1 < len(p.s):
				b.WriteByte(p.s[p.i+1])
				p.i += 2
			case c == '"':
				p.i++
				return b.String(), nil
			default:
				b.WriteByte(c)
				p.i++
			}
		}
		return "", p.errorf("unterminated quoted string")
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ';' && p.s[p.i] != ',' && p.s[p.i] != ' ' && p.s[p.i] != '\t' {
		if p.s[p.i] == '"' || p.s[p.i] == '<' || p.s[p.i] == '>' {
			return "", p.errorf("unexpected character in parameter value")
		}
		p.i++
	}
	if p.i == start {
		return "", p.errorf("empty parameter value")
	}
	return p.s[start:p.i], nil
}

// isTokenChar reports RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
