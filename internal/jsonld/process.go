package jsonld

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/qala-city/qala/internal/problem"
)

// maxContextDepth bounds how deeply remote contexts may include one another,
// and maxContextURLs how many remote contexts one resolution may touch.
const (
	maxContextDepth = 16
	maxContextURLs  = 64
)

// loadFunc dereferences a context URL and returns the value of the "@context"
// member of the document.
type loadFunc func(ctx context.Context, url string) (any, error)

// processor runs the JSON-LD 1.1 Context Processing algorithm (API 4.1.2)
// for one resolution.
type processor struct {
	ctx     context.Context
	load    loadFunc
	fetched int
}

// ldError is a JSON-LD processing error; it becomes a BadRequestData problem.
func ldError(code, format string, args ...any) error {
	return problem.BadData("invalid @context: %s: %s", code, fmt.Sprintf(format, args...))
}

func (p *processor) process(active *activeCtx, local any, remote []string, override bool) (*activeCtx, error) {
	items, ok := local.([]any)
	if !ok {
		items = []any{local}
	}
	result := active.clone()
	for _, item := range items {
		switch v := item.(type) {
		case nil:
			if !override && hasProtected(result) {
				return nil, ldError("invalid context nullification", "null would remove protected terms")
			}
			result = &activeCtx{terms: map[string]*termDef{}}
		case string:
			u := v
			if result.base != "" {
				u = resolveRef(result.base, v)
			}
			for _, r := range remote {
				if r == u {
					return nil, ldError("recursive context inclusion", "%s includes itself", u)
				}
			}
			if len(remote) >= maxContextDepth {
				return nil, ldError("context overflow", "more than %d nested remote contexts at %s", maxContextDepth, u)
			}
			p.fetched++
			if p.fetched > maxContextURLs {
				return nil, ldError("context overflow", "more than %d remote contexts", maxContextURLs)
			}
			doc, err := p.load(p.ctx, u)
			if err != nil {
				return nil, err
			}
			next, err := p.process(result, doc, append(remote[:len(remote):len(remote)], u), override)
			if err != nil {
				return nil, err
			}
			result = next
		case map[string]any:
			if err := p.processMap(result, v, len(remote) > 0, override); err != nil {
				return nil, err
			}
		default:
			return nil, ldError("invalid local context", "a context must be a URL string, an object or an array of them, not %s", jsonKind(item))
		}
	}
	return result, nil
}

func hasProtected(a *activeCtx) bool {
	for _, d := range a.terms {
		if d.protected {
			return true
		}
	}
	return false
}

// nonTermKeys are context members that are not term definitions.
var nonTermKeys = map[string]bool{
	"@base": true, "@direction": true, "@import": true, "@language": true,
	"@propagate": true, "@protected": true, "@version": true, "@vocab": true,
}

func (p *processor) processMap(result *activeCtx, m map[string]any, remoteCtx, override bool) error {
	if v, ok := m["@version"]; ok {
		if f, isNum := v.(float64); (!isNum || f != 1.1) && v != json.Number("1.1") {
			return ldError("invalid @version value", "@version must be 1.1, not %v", v)
		}
	}
	if v, ok := m["@import"]; ok {
		s, isStr := v.(string)
		if !isStr {
			return ldError("invalid @import value", "@import must be a string")
		}
		p.fetched++
		if p.fetched > maxContextURLs {
			return ldError("context overflow", "more than %d remote contexts", maxContextURLs)
		}
		doc, err := p.load(p.ctx, s)
		if err != nil {
			return err
		}
		im, isMap := doc.(map[string]any)
		if !isMap {
			return ldError("invalid remote context", "@import %s must be an object", s)
		}
		if _, nested := im["@import"]; nested {
			return ldError("invalid context entry", "%s must not include @import", s)
		}
		merged := make(map[string]any, len(im)+len(m))
		for k, v := range im {
			merged[k] = v
		}
		for k, v := range m {
			if k != "@import" {
				merged[k] = v
			}
		}
		m = merged
	}
	if v, ok := m["@base"]; ok && !remoteCtx {
		switch b := v.(type) {
		case nil:
			result.base = ""
		case string:
			if isAbsoluteIRI(b) {
				result.base = b
			} else if result.base != "" {
				result.base = resolveRef(result.base, b)
			} else {
				return ldError("invalid base IRI", "@base %q is relative and there is no base to resolve it against", b)
			}
		default:
			return ldError("invalid base IRI", "@base must be a string or null")
		}
	}
	if v, ok := m["@language"]; ok {
		switch l := v.(type) {
		case nil:
			result.lang, result.hasLang = "", false
		case string:
			result.lang, result.hasLang = strings.ToLower(l), true
		default:
			return ldError("invalid default language", "@language must be a string or null")
		}
	}
	if v, ok := m["@direction"]; ok {
		switch d := v.(type) {
		case nil:
			result.dir = ""
		case string:
			if d != "ltr" && d != "rtl" {
				return ldError("invalid base direction", "@direction must be \"ltr\" or \"rtl\"")
			}
			result.dir = d
		default:
			return ldError("invalid base direction", "@direction must be a string or null")
		}
	}
	if v, ok := m["@propagate"]; ok {
		if _, isBool := v.(bool); !isBool {
			return ldError("invalid @propagate value", "@propagate must be a boolean")
		}
	}
	if v, ok := m["@vocab"]; ok {
		switch s := v.(type) {
		case nil:
			result.vocab, result.hasVocab = "", false
		case string:
			result.vocab, result.hasVocab = result.expandIRI(s, true, true), true
		default:
			return ldError("invalid vocab mapping", "@vocab must be a string or null")
		}
	}
	protected := false
	if v, ok := m["@protected"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return ldError("invalid @protected value", "@protected must be a boolean")
		}
		protected = b
	}
	t := &termCreator{p: p, active: result, local: m, defined: map[string]bool{}, protected: protected, override: override}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !nonTermKeys[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := t.create(k); err != nil {
			return err
		}
	}
	return nil
}

// termCreator runs Create Term Definition (JSON-LD 1.1 API 4.2.2) for the
// terms of one local context.
type termCreator struct {
	p         *processor
	active    *activeCtx
	local     map[string]any
	defined   map[string]bool
	protected bool
	override  bool
}

var validTermKeys = map[string]bool{
	"@container": true, "@id": true, "@language": true, "@reverse": true, "@type": true,
	"@context": true, "@direction": true, "@index": true, "@nest": true, "@prefix": true, "@protected": true,
}

func (t *termCreator) create(term string) error {
	if done, seen := t.defined[term]; seen {
		if done {
			return nil
		}
		return ldError("cyclic IRI mapping", "term %q", term)
	}
	if term == "" {
		return ldError("invalid term definition", "the empty string is not a valid term")
	}
	t.defined[term] = false
	value := t.local[term]
	if isKeyword(term) {
		vm, isMap := value.(map[string]any)
		ok := term == "@type" && isMap
		for k, v := range vm {
			if k != "@container" && k != "@protected" || k == "@container" && v != "@set" {
				ok = false
			}
		}
		if !ok {
			return ldError("keyword redefinition", "%q cannot be redefined", term)
		}
		t.defined[term] = true
		return nil
	}
	if looksLikeKeyword(term) {
		t.defined[term] = true
		return nil
	}
	prev := t.active.terms[term]
	delete(t.active.terms, term)

	var m map[string]any
	simple := false
	switch v := value.(type) {
	case nil:
		m = map[string]any{"@id": nil}
	case string:
		m = map[string]any{"@id": v}
		simple = true
	case map[string]any:
		m = v
	default:
		return ldError("invalid term definition", "term %q: a definition must be a string, an object or null, not %s", term, jsonKind(value))
	}
	for k := range m {
		if !validTermKeys[k] {
			return ldError("invalid term definition", "term %q: unknown member %q", term, k)
		}
	}
	d := &termDef{}
	colon := strings.IndexByte(term, ':')
	d.hasColon = colon > 0
	if pv, ok := m["@protected"]; ok {
		b, isBool := pv.(bool)
		if !isBool {
			return ldError("invalid @protected value", "term %q: @protected must be a boolean", term)
		}
		d.protected = b
	} else {
		d.protected = t.protected
	}

	idVal, hasID := m["@id"]
	if hasID && idVal == nil {
		d.null = true
	}
	if rv, ok := m["@reverse"]; ok {
		if hasID {
			return ldError("invalid reverse property", "term %q: @reverse must not be combined with @id", term)
		}
		if _, nest := m["@nest"]; nest {
			return ldError("invalid reverse property", "term %q: @reverse must not be combined with @nest", term)
		}
		s, isStr := rv.(string)
		if !isStr {
			return ldError("invalid IRI mapping", "term %q: @reverse must be a string", term)
		}
		if looksLikeKeyword(s) {
			t.defined[term] = true
			return nil
		}
		id, err := t.expand(s, false, true)
		if err != nil {
			return err
		}
		if !isAbsoluteIRI(id) {
			return ldError("invalid IRI mapping", "term %q: @reverse %q is not an absolute IRI", term, s)
		}
		d.id, d.reverse = id, true
	} else if hasID && !d.null {
		s, isStr := idVal.(string)
		if !isStr {
			return ldError("invalid IRI mapping", "term %q: @id must be a string", term)
		}
		if s != term {
			if !isKeyword(s) && looksLikeKeyword(s) {
				t.defined[term] = true
				return nil
			}
			id, err := t.expand(s, false, true)
			if err != nil {
				return err
			}
			if !isKeyword(id) && !isAbsoluteIRI(id) {
				return ldError("invalid IRI mapping", "term %q: %q does not expand to an absolute IRI (is a prefix missing?)", term, s)
			}
			if id == "@context" {
				return ldError("invalid keyword alias", "term %q: @context cannot be aliased", term)
			}
			d.id = id
			if iriLike(term) {
				t.defined[term] = true
				tid, err := t.expand(term, false, true)
				if err != nil {
					return err
				}
				if tid != id {
					return ldError("invalid IRI mapping", "term %q looks like an IRI that expands to %q, not %q", term, tid, id)
				}
				delete(t.defined, term)
			}
			d.prefix = colon <= 0 && !strings.Contains(term, "/") && simple && endsWithGenDelim(id)
		}
	}
	if d.id == "" && !d.null {
		switch {
		case colon > 0:
			prefix := term[:colon]
			if _, inLocal := t.local[prefix]; inLocal {
				if err := t.create(prefix); err != nil {
					return err
				}
			}
			if pd, ok := t.active.terms[prefix]; ok && !pd.null {
				d.id = pd.id + term[colon+1:]
			} else {
				d.id = term
			}
		case strings.Contains(term, "/"):
			d.id = t.active.expandIRI(term, false, true)
			if !isAbsoluteIRI(d.id) {
				return ldError("invalid IRI mapping", "term %q is a relative IRI", term)
			}
		case term == "@type":
			d.id = "@type"
		case t.active.hasVocab:
			d.id = t.active.vocab + term
		default:
			return ldError("invalid IRI mapping", "term %q has no @id and there is no @vocab", term)
		}
	}
	t.defined[term] = true

	if tv, ok := m["@type"]; ok {
		s, isStr := tv.(string)
		if !isStr {
			return ldError("invalid type mapping", "term %q: @type must be a string", term)
		}
		if s != "@id" && s != "@vocab" && s != "@json" && s != "@none" {
			e, err := t.expand(s, false, true)
			if err != nil {
				return err
			}
			if !isAbsoluteIRI(e) || strings.HasPrefix(e, "_:") {
				return ldError("invalid type mapping", "term %q: @type %q is not @id, @vocab, @json, @none or an absolute IRI", term, s)
			}
			s = e
		}
		d.typ = s
	}
	if cv, ok := m["@container"]; ok {
		if err := t.container(term, d, cv); err != nil {
			return err
		}
	}
	if iv, ok := m["@index"]; ok {
		s, isStr := iv.(string)
		if d.container == "" || !strings.Contains(d.container, "@index") || !isStr || strings.HasPrefix(s, "@") {
			return ldError("invalid term definition", "term %q: @index needs an @index container and a non-keyword string", term)
		}
		d.index = s
	}
	if cv, ok := m["@context"]; ok {
		b, err := json.Marshal(cv)
		if err != nil {
			return ldError("invalid scoped context", "term %q: %v", term, err)
		}
		d.scoped = string(b)
	}
	if lv, ok := m["@language"]; ok {
		if _, hasType := m["@type"]; !hasType {
			switch l := lv.(type) {
			case nil:
				d.hasLang, d.lang = true, "@null"
			case string:
				d.hasLang, d.lang = true, strings.ToLower(l)
			default:
				return ldError("invalid language mapping", "term %q: @language must be a string or null", term)
			}
		}
	}
	if pv, ok := m["@prefix"]; ok {
		if strings.ContainsAny(term, ":/") {
			return ldError("invalid term definition", "term %q: @prefix on a compact or relative IRI", term)
		}
		b, isBool := pv.(bool)
		if !isBool {
			return ldError("invalid @prefix value", "term %q: @prefix must be a boolean", term)
		}
		if isKeyword(d.id) {
			return ldError("invalid term definition", "term %q: a keyword alias cannot be a prefix", term)
		}
		d.prefix = b
	}
	if dv, ok := m["@direction"]; ok {
		switch s := dv.(type) {
		case nil:
			d.hasDir, d.dir = true, "@null"
		case string:
			if s != "ltr" && s != "rtl" {
				return ldError("invalid base direction", "term %q: @direction must be \"ltr\" or \"rtl\"", term)
			}
			d.hasDir, d.dir = true, s
		default:
			return ldError("invalid base direction", "term %q: @direction must be a string or null", term)
		}
	}
	if nv, ok := m["@nest"]; ok {
		s, isStr := nv.(string)
		if !isStr || s == "" || s != "@nest" && s[0] == '@' {
			return ldError("invalid @nest value", "term %q: @nest must be a non-keyword string or @nest", term)
		}
		d.nest = s
	}
	if d.id == "@preserve" {
		return ldError("invalid keyword alias", "term %q: @preserve cannot be aliased", term)
	}
	if prev != nil && prev.protected && !t.override {
		d.protected = true
		if *d != *prev {
			return ldError("protected term redefinition", "term %q is protected and cannot be redefined as %s; it is %s", term, describe(d), describe(prev))
		}
		d = prev
	}
	t.active.terms[term] = d
	return nil
}

func (t *termCreator) container(term string, d *termDef, cv any) error {
	var list []string
	switch v := cv.(type) {
	case string:
		list = []string{v}
	case []any:
		for _, x := range v {
			s, isStr := x.(string)
			if !isStr {
				return ldError("invalid container mapping", "term %q: @container values must be strings", term)
			}
			list = append(list, s)
		}
	default:
		return ldError("invalid container mapping", "term %q: @container must be a string or an array", term)
	}
	set := map[string]bool{}
	for _, s := range list {
		switch s {
		case "@list", "@set", "@index", "@language", "@graph", "@id", "@type":
		default:
			return ldError("invalid container mapping", "term %q: unknown container %q", term, s)
		}
		set[s] = true
	}
	if set["@list"] && len(list) != 1 {
		return ldError("invalid container mapping", "term %q: @list cannot be combined", term)
	}
	if set["@graph"] {
		for s := range set {
			if s != "@graph" && s != "@id" && s != "@index" && s != "@set" {
				return ldError("invalid container mapping", "term %q: @graph only combines with @id, @index and @set", term)
			}
		}
	} else {
		max := 1
		if set["@set"] {
			max = 2
		}
		if len(list) > max {
			return ldError("invalid container mapping", "term %q: only @set may be combined with one other container", term)
		}
	}
	if set["@type"] {
		if d.typ == "" {
			d.typ = "@id"
		}
		if d.typ != "@id" && d.typ != "@vocab" {
			return ldError("invalid type mapping", "term %q: a @type container needs @type @id or @vocab", term)
		}
	}
	if d.reverse {
		for s := range set {
			if s != "@index" && s != "@set" {
				return ldError("invalid reverse property", "term %q: a reverse property only takes @index or @set containers", term)
			}
		}
	}
	sort.Strings(list)
	d.container = strings.Join(list, "")
	return nil
}

// expand is IRI expansion during context processing: terms of the local
// context being processed are defined on demand.
func (t *termCreator) expand(v string, docRelative, vocab bool) (string, error) {
	if isKeyword(v) {
		return v, nil
	}
	if looksLikeKeyword(v) {
		return "", nil
	}
	if _, inLocal := t.local[v]; inLocal && !t.defined[v] {
		if err := t.create(v); err != nil {
			return "", err
		}
	}
	if d, ok := t.active.terms[v]; vocab && ok {
		if d.null {
			return "", nil
		}
		return d.id, nil
	}
	if i := strings.IndexByte(v, ':'); i > 0 {
		prefix, suffix := v[:i], v[i+1:]
		if prefix == "_" || strings.HasPrefix(suffix, "//") {
			return v, nil
		}
		if _, inLocal := t.local[prefix]; inLocal && !t.defined[prefix] {
			if err := t.create(prefix); err != nil {
				return "", err
			}
		}
		if d, ok := t.active.terms[prefix]; ok && !d.null && d.id != "" && d.prefix {
			return d.id + suffix, nil
		}
		if isAbsoluteIRI(v) {
			return v, nil
		}
	}
	return t.active.expandIRI(v, vocab, docRelative), nil
}

// iriLike reports whether a term has the form of a compact or relative IRI
// (a colon not at the end of the term, or a slash).
func iriLike(term string) bool {
	for i := 0; i < len(term); i++ {
		if term[i] == '/' || term[i] == ':' && i+1 < len(term) && term[i+1] != ':' {
			return true
		}
	}
	return false
}

func describe(d *termDef) string {
	s := fmt.Sprintf("{@id: %q", d.id)
	if d.null {
		s = "{@id: null"
	}
	if d.typ != "" {
		s += fmt.Sprintf(", @type: %q", d.typ)
	}
	if d.container != "" {
		s += fmt.Sprintf(", @container: %q", d.container)
	}
	return s + "}"
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
