package api

import (
	"net/url"
	"strings"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
)

// renderOptions reads the representation parameters of a read operation
// (options, format, attrs, pick, omit, lang, datasetId; clause 6.3.7, 6.3.14,
// 4.15 of v1.8) into the renderer's options.
func (c *call) renderOptions(ctx *jsonld.Context) (ngsild.RenderOptions, error) {
	o := ngsild.RenderOptions{Context: ctx, Format: ngsild.Normalized}
	opts, err := c.optionSet("options", "keyValues", "sysAttrs", "normalized", "concise", "simplified")
	if err != nil {
		return o, err
	}
	n := 0
	for _, f := range []string{"keyValues", "simplified", "concise", "normalized"} {
		if opts[f] {
			n++
		}
	}
	if opts["keyValues"] && opts["simplified"] {
		n--
	}
	if n > 1 {
		return o, problem.BadData("options may name only one of normalized, concise and keyValues")
	}
	switch {
	case opts["keyValues"], opts["simplified"]:
		o.Format = ngsild.KeyValues
	case opts["concise"]:
		o.Format = ngsild.Concise
	}
	if f := c.query.Get("format"); f != "" {
		switch f {
		case "normalized":
			o.Format = ngsild.Normalized
		case "concise":
			o.Format = ngsild.Concise
		case "keyValues", "simplified":
			o.Format = ngsild.KeyValues
		default:
			return o, problem.Invalid("format must be normalized, concise, keyValues or simplified, not %q", f)
		}
	}
	o.SysAttrs = opts["sysAttrs"]
	return o, c.selectionOptions(ctx, &o)
}

// selectionOptions reads the parameters that select what of an entity is
// rendered (attrs, pick, omit, lang, datasetId) into o.
func (c *call) selectionOptions(ctx *jsonld.Context, o *ngsild.RenderOptions) error {
	var err error
	if o.Attrs, err = c.termList("attrs", ctx); err != nil {
		return err
	}
	if c.pick, err = c.projection("pick", ctx, false); err != nil {
		return err
	}
	if c.omit, err = c.projection("omit", ctx, true); err != nil {
		return err
	}
	o.Pick, o.Omit = c.pick.members(), c.omit.members()
	if o.Pick != nil && o.Omit != nil {
		return problem.BadData("pick and omit must not be used together")
	}
	if (o.Pick != nil || o.Omit != nil) && o.Attrs != nil {
		return problem.BadData("attrs must not be used together with pick or omit")
	}
	if v, ok := c.query["lang"]; ok {
		if len(v) != 1 || strings.TrimSpace(v[0]) == "" {
			return problem.BadData("lang must be one language tag, a comma-separated list of them, or *")
		}
		o.Lang = v[0]
	}
	if v, ok := c.query["datasetId"]; ok {
		for _, s := range splitList(strings.Join(v, ",")) {
			if s != "@none" && !isURI(s) {
				return problem.BadData("datasetId %q is not a URI", s)
			}
			o.DatasetIDs = append(o.DatasetIDs, s)
		}
	}
	return nil
}

// optionSet reads a comma-separated list parameter whose values must come
// from allowed.
func (c *call) optionSet(name string, allowed ...string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, v := range c.query[name] {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if !contains(allowed, s) {
				return nil, problem.Invalid("%s value %q is not one of %s", name, s, strings.Join(allowed, ", "))
			}
			set[s] = true
		}
	}
	return set, nil
}

// termList reads a comma-separated list of terms and expands them.
func (c *call) termList(name string, ctx *jsonld.Context) ([]string, error) {
	v, ok := c.query[name]
	if !ok {
		return nil, nil
	}
	items := splitList(strings.Join(v, ","))
	if len(items) == 0 {
		return nil, problem.BadData("%s must name at least one attribute", name)
	}
	out := make([]string, 0, len(items))
	for _, s := range items {
		if strings.ContainsAny(s, "{}") {
			return nil, problem.BadData("%s: %q asks for members of linked entities, which %s cannot select (use pick with join)", name, s, name)
		}
		if !validName(s) {
			return nil, problem.BadData("%s: %q is not a valid attribute name", name, s)
		}
		switch s {
		case "id", "type", "scope", "@context", "createdAt", "modifiedAt", "deletedAt":
			return nil, problem.BadData("%s: %q is an entity member, not an attribute (use pick to select members)", name, s)
		}
		out = append(out, ctx.ExpandTerm(s))
	}
	return out, nil
}

// projection reads pick or omit (clause 4.21 of v1.8).
func (c *call) projection(name string, ctx *jsonld.Context, omit bool) (*proj, error) {
	v, ok := c.query[name]
	if !ok {
		return nil, nil
	}
	if len(v) != 1 {
		return nil, problem.BadData("%s is given more than once", name)
	}
	return parseProjection(name, v[0], ctx, omit)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validName reports whether s may be an attribute name or type term in a
// query parameter: no characters forbidden by clause 4.6.2, and not a dot
// segment ("." or "..", also percent-encoded: RFC 3986 clause 5.2.4 would
// resolve it away from the attribute it stands for in a path).
func validName(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	if d, err := url.PathUnescape(s); s == "." || s == ".." || (err == nil && (d == "." || d == "..")) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || strings.ContainsRune(`<>"'=;()`+"\x7f ", r) {
			return false
		}
	}
	return true
}

// isURI reports whether s looks like an absolute URI: a scheme, a colon and
// something after it.
func isURI(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return false
	}
	for j := 0; j < i; j++ {
		ch := s[j]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z':
		case j > 0 && ('0' <= ch && ch <= '9' || ch == '+' || ch == '-' || ch == '.'):
		default:
			return false
		}
	}
	return !strings.ContainsAny(s, " \t\n<>\"{}|\\^`")
}
