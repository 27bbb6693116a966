package jsonld

import (
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// termDef is one term definition of an active context (JSON-LD 1.1 API,
// clause 4.2.2). It is comparable with ==, which is what the protected-term
// rule needs ("identical definition").
type termDef struct {
	id        string // IRI, blank node or keyword; "" when null
	null      bool   // the term is decoupled from any IRI (value null)
	typ       string // type mapping: "@id", "@vocab", "@json", "@none", a datatype IRI, or ""
	container string // container mapping, sorted and joined ("@index@set"), or ""
	hasLang   bool
	lang      string // "@null" for an explicit null language
	hasDir    bool
	dir       string
	prefix    bool
	protected bool
	reverse   bool
	hasColon  bool // the term itself contains ':' after its first character
	index     string
	nest      string
	scoped    string // canonical JSON of a term-scoped @context, or ""
}

// activeCtx is the result of processing a context list.
type activeCtx struct {
	terms    map[string]*termDef
	vocab    string
	hasVocab bool
	base     string
	lang     string
	hasLang  bool
	dir      string
}

func (a *activeCtx) clone() *activeCtx {
	b := *a
	b.terms = make(map[string]*termDef, len(a.terms)+8)
	for k, v := range a.terms {
		b.terms[k] = v
	}
	return &b
}

// Context is a resolved @context (list), always ending with the NGSI-LD core
// context. It is immutable and safe for concurrent use: every lookup is a map
// read over tables built once when the context was resolved.
type Context struct {
	ac          *activeCtx
	compactKey  map[string]string   // expanded IRI -> term JSON-LD picks for a property key
	compactType map[string]string   // expanded IRI -> term JSON-LD picks for a type / @vocab value
	coercion    map[string]string   // expanded IRI -> @type coercion of its term
	prefixes    map[string][]string // prefix IRI -> terms usable as prefix, shortest-least first
	oddPrefixes []string            // prefix IRIs not ending in a gen-delim (explicit @prefix: true)
	source      any
	key         ckey // cache key of source (zero for the core alone)

	r    *Resolver
	deps []*entry // held contexts this one was built from, touched on every cache hit

	expanded  sync.Map     // term -> ExpandTerm result (bounded by maxExpandedCache)
	nExpanded atomic.Int64 // entries in expanded
}

func newContext(ac *activeCtx) *Context {
	c := &Context{
		ac:          ac,
		compactKey:  map[string]string{},
		compactType: map[string]string{},
		coercion:    map[string]string{},
		prefixes:    map[string][]string{},
	}
	terms := make([]string, 0, len(ac.terms))
	for t := range ac.terms {
		terms = append(terms, t)
	}
	sort.Slice(terms, func(i, j int) bool { return shortestLeast(terms[i], terms[j]) })
	byIRI := map[string][]string{}
	for _, t := range terms {
		d := ac.terms[t]
		if d.null {
			continue
		}
		byIRI[d.id] = append(byIRI[d.id], t)
		if d.prefix && !d.hasColon && !isKeyword(d.id) {
			if _, ok := c.prefixes[d.id]; !ok && !endsWithGenDelim(d.id) {
				c.oddPrefixes = append(c.oddPrefixes, d.id)
			}
			c.prefixes[d.id] = append(c.prefixes[d.id], t)
		}
	}
	for iri, ts := range byIRI {
		if t := selectTerm(ac, ts, keyContainers); t != "" {
			c.compactKey[iri] = t
			c.coercion[iri] = ac.terms[t].typ
		} else if t := firstForward(ac, ts); t != "" {
			// No term fits an attribute (node) value: the IRI's terms are all
			// coerced (vocab: @vocab, observedAt: DateTime) or have a
			// container (avg: @list). Their coercion is the shortest-least's.
			c.coercion[iri] = ac.terms[t].typ
		}
		if t := selectTerm(ac, ts, typeContainers); t != "" {
			c.compactType[iri] = t
		}
	}
	return c
}

// The containers the IRI compaction algorithm (JSON-LD 1.1 API 6.2.2 step 4)
// tries, in order, for a property whose value is a node object without @id
// (an NGSI-LD attribute), and for a type or @vocab-coerced value (no value).
var (
	keyContainers  = []string{"@id", "@id@set", "@type", "@set@type", "@set", "@none", "@index", "@index@set"}
	typeContainers = []string{"@set", "@none"}
)

// firstForward returns the first term that is not a reverse property.
func firstForward(ac *activeCtx, terms []string) string {
	for _, t := range terms {
		if !ac.terms[t].reverse {
			return t
		}
	}
	return ""
}

// selectTerm is the term selection algorithm (JSON-LD 1.1 API 6.2.3) over the
// inverse-context entries of one IRI, with type/language "@type" and preferred
// values @id, @none, @any. terms are sorted shortest-least.
func selectTerm(ac *activeCtx, terms []string, containers []string) string {
	for _, want := range containers {
		var byID, byNone, byAny string
		for _, t := range terms {
			d := ac.terms[t]
			ck := d.container
			if ck == "" {
				ck = "@none"
			}
			if ck != want {
				continue
			}
			switch {
			case d.reverse:
			case d.typ == "@none":
				if byAny == "" {
					byAny = t
				}
			case d.typ == "@id":
				if byID == "" {
					byID = t
				}
			case d.typ != "":
			case d.hasLang || d.hasDir:
			default:
				if byNone == "" {
					byNone = t
				}
			}
		}
		for _, t := range []string{byID, byNone, byAny} {
			if t != "" {
				return t
			}
		}
	}
	return ""
}

// ExpandTerm expands a term used as a key or a type (attribute names, entity
// types, VocabProperty values): a term of the context, a compact IRI
// (prefix:suffix), an absolute IRI (returned as is), or a term resolved
// against @vocab (the core context's default-context vocabulary). A term the
// context maps to null expands to "".
func (c *Context) ExpandTerm(term string) string {
	if v, ok := c.expanded.Load(term); ok {
		return v.(string)
	}
	iri := c.ac.expandIRI(term, true, false)
	// Remember expansions (most are @vocab concatenations that allocate) for
	// the attribute names that recur in every request; bounded, so that
	// clients sending random names cannot grow it without limit.
	if c.nExpanded.Load() < maxExpandedCache {
		if _, loaded := c.expanded.LoadOrStore(term, iri); !loaded {
			c.nExpanded.Add(1)
		}
	}
	return iri
}

// maxExpandedCache bounds the memoised expansions of one Context.
const maxExpandedCache = 4096

// expandIRI is IRI expansion (JSON-LD 1.1 API 5.2.2) over a finished active
// context.
func (a *activeCtx) expandIRI(v string, vocab, docRelative bool) string {
	if isKeyword(v) {
		return v
	}
	if looksLikeKeyword(v) {
		return ""
	}
	if vocab {
		if d, ok := a.terms[v]; ok {
			if d.null {
				return ""
			}
			return d.id
		}
	}
	if i := strings.IndexByte(v, ':'); i > 0 {
		prefix, suffix := v[:i], v[i+1:]
		if prefix == "_" || strings.HasPrefix(suffix, "//") {
			return v
		}
		if d, ok := a.terms[prefix]; ok && !d.null && d.id != "" && d.prefix {
			return d.id + suffix
		}
		if isAbsoluteIRI(v) {
			return v
		}
	}
	if vocab && a.hasVocab {
		return a.vocab + v
	}
	if docRelative && a.base != "" {
		return resolveRef(a.base, v)
	}
	return v
}

// CompactIRI compacts an expanded IRI used as a property key (an attribute
// name, whose value is a node object) into the term JSON-LD compaction picks
// for it: a term whose definition has no conflicting coercion (none, or
// "@id"), shortest then lexicographically least. Failing that, as JSON-LD
// does: the part after @vocab when that is not itself a term, else a compact
// IRI with a prefix, else the IRI unchanged. So an attribute whose only term
// is coerced (e.g. "category" with "@type": "@vocab" in the FIWARE tutorial
// context) compacts to a compact IRI ("fiware:category"), as in json-gold.
func (c *Context) CompactIRI(iri string) string {
	if t, ok := c.compactKey[iri]; ok {
		return t
	}
	return c.compactRest(iri, true, false)
}

// CompactType compacts an expanded IRI used as a type (the @type of an entity
// or attribute, or a value coerced with "@type": "@vocab"), as JSON-LD
// compaction does for such values.
func (c *Context) CompactType(iri string) string {
	if t, ok := c.compactType[iri]; ok {
		return t
	}
	return c.compactRest(iri, true, true)
}

// compactRest is IRI compaction after term selection failed: @vocab suffix,
// then compact IRI, then the IRI itself.
func (c *Context) compactRest(iri string, vocab, nilValue bool) string {
	a := c.ac
	if vocab && a.hasVocab && len(iri) > len(a.vocab) && strings.HasPrefix(iri, a.vocab) {
		suffix := iri[len(a.vocab):]
		if _, isTerm := a.terms[suffix]; !isTerm {
			return suffix
		}
	}
	best := ""
	try := func(prefixIRI string) {
		for _, t := range c.prefixes[prefixIRI] {
			curie := t + ":" + iri[len(prefixIRI):]
			if d, isTerm := a.terms[curie]; isTerm && !(nilValue && !d.null && d.id == iri) {
				continue
			}
			if best == "" || shortestLeast(curie, best) {
				best = curie
			}
		}
	}
	if len(c.prefixes) > 0 {
		for i := 1; i < len(iri); i++ {
			if isGenDelim(iri[i-1]) {
				try(iri[:i])
			}
		}
		for _, p := range c.oddPrefixes {
			if len(p) < len(iri) && strings.HasPrefix(iri, p) {
				try(p)
			}
		}
	}
	if best != "" {
		return best
	}
	return iri
}

// Coercion returns the @type coercion of the term definition for the
// expanded IRI (e.g. "@vocab", "@id", "@json", a datatype IRI), or "": the
// definition of the term CompactIRI picks, or when it picks none, of the
// shortest-least term of the IRI.
func (c *Context) Coercion(iri string) string { return c.coercion[iri] }

// ExpandValue expands the string value of the key term (as written in the
// document) when the key's definition coerces it: "@vocab" values expand like
// types, "@id" values like compact IRIs; other values are returned unchanged.
func (c *Context) ExpandValue(key, value string) string {
	d, ok := c.ac.terms[key]
	if !ok || d.null {
		return value
	}
	switch d.typ {
	case "@vocab":
		return c.ac.expandIRI(value, true, true)
	case "@id":
		return c.ac.expandIRI(value, false, true)
	}
	return value
}

// CompactValue compacts the string value of the property with expanded IRI
// iri according to Coercion(iri): the inverse of ExpandValue.
func (c *Context) CompactValue(iri, value string) string {
	switch c.Coercion(iri) {
	case "@vocab":
		return c.CompactType(value)
	case "@id":
		return c.compactRest(value, false, true)
	}
	return value
}

// Vocab returns the @vocab mapping in effect ("" when none).
func (c *Context) Vocab() string { return c.ac.vocab }

// Source returns the @context value as the client gave it (string, map or
// []any), or nil when only the core context applies.
func (c *Context) Source() any { return c.source }

// LinkURL returns the URL to announce in a Link header for this context: the
// URL itself when the context is one URL, the core context URL when only the
// core applies, or the URL of the implicitly created hosted context that holds
// an inline or list context (created on the first call; a map lookup after).
func (c *Context) LinkURL() string {
	if s, ok := c.source.(string); ok {
		return s
	}
	if c.source == nil || c.r == nil {
		if c.r != nil {
			return c.r.coreURL
		}
		return CoreV18
	}
	return c.r.implicitURL(c)
}

var keywords = map[string]bool{
	"@base": true, "@container": true, "@context": true, "@direction": true, "@graph": true,
	"@id": true, "@import": true, "@included": true, "@index": true, "@json": true,
	"@language": true, "@list": true, "@nest": true, "@none": true, "@prefix": true,
	"@propagate": true, "@protected": true, "@reverse": true, "@set": true, "@type": true,
	"@value": true, "@version": true, "@vocab": true,
}

func isKeyword(s string) bool { return len(s) > 1 && s[0] == '@' && keywords[s] }

// looksLikeKeyword reports the form "@" followed by ASCII letters only, which
// JSON-LD 1.1 reserves and ignores.
func looksLikeKeyword(s string) bool {
	if len(s) < 2 || s[0] != '@' {
		return false
	}
	for i := 1; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z') {
			return false
		}
	}
	return true
}

func isGenDelim(b byte) bool {
	switch b {
	case ':', '/', '?', '#', '[', ']', '@':
		return true
	}
	return false
}

func endsWithGenDelim(s string) bool { return s != "" && isGenDelim(s[len(s)-1]) }

func isAbsoluteIRI(s string) bool {
	if strings.HasPrefix(s, "_:") {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && u.IsAbs()
}

func resolveRef(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}

// shortestLeast orders terms shortest first, then lexicographically least.
func shortestLeast(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
