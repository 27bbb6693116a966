package jsonld

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qala-city/qala/internal/problem"
)

// Resolver resolves @context values into Contexts, with a cache. Safe for
// concurrent use.
//
// Lock order: Resolver.mu is never held while fetching or processing; the
// singleflight map has its own mutex (flightMu), never held with mu.
type Resolver struct {
	cfg        Config
	coreURL    string
	coreDoc    any // the "@context" value of the default core
	coreActive *activeCtx
	core       *Context
	embedded   map[string]string // URL -> embedded file
	client     *http.Client

	mu       sync.Mutex
	resolved *lru[ckey, *Context] // by cache key
	byURL    map[string]*entry    // every held context, by URL
	byID     map[string]*entry    // every held context, by local id
	cached   *lru[string, *entry] // Cached contexts, by URL
	implicit *lru[string, *entry] // ImplicitlyCreated contexts, by local id

	flightMu sync.Mutex
	flight   map[string]*call
}

// entry is one context held by the Resolver.
type entry struct {
	info ContextInfo // URL, LocalID, Kind, CreatedAt; immutable
	doc  any         // the "@context" value
	hits atomic.Int64
	last atomic.Int64 // unix nanoseconds of the last use
}

func (e *entry) touch() {
	e.hits.Add(1)
	e.last.Store(time.Now().UnixNano())
}

func (e *entry) snapshot() ContextInfo {
	i := e.info
	i.NumberOfHits = int(e.hits.Load())
	if n := e.last.Load(); n != 0 {
		i.LastUsage = time.Unix(0, n).UTC()
	}
	return i
}

// New returns a Resolver. It loads the hosted contexts kept in cfg.Dir.
func New(cfg Config) (*Resolver, error) {
	if cfg.DefaultCore == "" || cfg.DefaultCore == CoreVersionless {
		cfg.DefaultCore = CoreV18
	}
	if _, ok := coreFiles[cfg.DefaultCore]; !ok {
		return nil, fmt.Errorf("default core %q is not an embedded core context", cfg.DefaultCore)
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 5 * time.Second
	}
	if cfg.MaxContextSize <= 0 {
		cfg.MaxContextSize = 1 << 20
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 1000
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	files, err := embeddedFiles(cfg.DefaultCore)
	if err != nil {
		return nil, err
	}
	r := &Resolver{
		cfg:      cfg,
		coreURL:  cfg.DefaultCore,
		embedded: files,
		byURL:    map[string]*entry{},
		byID:     map[string]*entry{},
		flight:   map[string]*call{},
	}
	r.client = newClient(cfg)
	r.resolved = newLRU[ckey, *Context](cfg.CacheSize, nil)
	r.cached = newLRU(cfg.CacheSize, func(_ string, e *entry) { r.forget(e) })
	r.implicit = newLRU(cfg.CacheSize, func(_ string, e *entry) { r.forget(e) })

	coreDoc, err := r.embeddedDoc(cfg.DefaultCore)
	if err != nil {
		return nil, fmt.Errorf("core context: %w", err)
	}
	r.coreDoc = coreDoc
	p := &processor{ctx: context.Background()}
	r.coreActive, err = p.process(&activeCtx{terms: map[string]*termDef{}}, coreDoc, []string{r.coreURL}, false)
	if err != nil {
		return nil, fmt.Errorf("core context: %w", err)
	}
	r.core = newContext(r.coreActive)
	r.core.r = r
	r.addCached(r.coreURL, coreDoc) // listed and served like any cached context
	if err := r.loadHosted(); err != nil {
		return nil, err
	}
	return r, nil
}

// Core returns the context made of the default core context alone.
func (r *Resolver) Core() *Context { return r.core }

// CoreURL returns the URL of the default core context.
func (r *Resolver) CoreURL() string { return r.coreURL }

// Resolve resolves a @context value (a URL string, an inline object, or an
// array of both, possibly nested) followed by the core context. Errors are
// *problem.Error: LdContextNotAvailable when a remote context cannot be
// fetched, BadRequestData when the context is malformed (including a
// redefinition of a protected core term).
//
// The same URL, or an inline value with the same canonical JSON, resolves
// from a cache without processing. raw is kept as the Context's Source: the
// caller must not modify it afterwards.
func (r *Resolver) Resolve(ctx context.Context, raw any) (*Context, error) {
	if raw == nil {
		return r.core, nil
	}
	key, err := cacheKey(raw)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	c, ok := r.resolved.get(key)
	r.mu.Unlock()
	if ok {
		for _, d := range c.deps {
			d.touch()
		}
		return c, nil
	}
	c, err = r.build(ctx, raw, key)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.resolved.add(key, c)
	r.mu.Unlock()
	return c, nil
}

// ckey keys the resolved-context cache: a URL, or the hex SHA-256 of the
// canonical form of an inline or list context.
type ckey struct {
	url, hash string
}

// cacheKey keys a string context by itself and any other by a hash of its
// canonical form (object members sorted by key), so that equal JSON gives
// equal keys whatever the member order.
func cacheKey(raw any) (ckey, error) {
	switch v := raw.(type) {
	case string:
		return ckey{url: v}, nil
	case map[string]any, []any:
		bp := canonPool.Get().(*[]byte)
		buf, err := appendCanonical((*bp)[:0], v, 0)
		if err != nil {
			return ckey{}, err
		}
		sum := sha256.Sum256(buf)
		*bp = buf
		canonPool.Put(bp)
		return ckey{hash: hex.EncodeToString(sum[:])}, nil
	}
	return ckey{}, problem.BadData("@context must be a URL string, an object or an array, not %s", jsonKind(raw))
}

var canonPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendCanonical appends an unambiguous, length-prefixed encoding of a
// decoded JSON value to buf, with object members sorted by key.
func appendCanonical(buf []byte, v any, depth int) ([]byte, error) {
	if depth > 64 {
		return nil, problem.BadData("@context is nested more than 64 levels deep")
	}
	str := func(tag byte, s string) {
		buf = append(buf, tag)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	var err error
	switch x := v.(type) {
	case nil:
		buf = append(buf, 'z')
	case bool:
		if x {
			buf = append(buf, 't')
		} else {
			buf = append(buf, 'f')
		}
	case float64:
		buf = append(buf, 'n')
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(x))
	case json.Number:
		str('N', string(x))
	case string:
		str('s', x)
	case []any:
		buf = append(buf, 'a')
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(x)))
		for _, e := range x {
			if buf, err = appendCanonical(buf, e, depth+1); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		var small [16]string
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf = append(buf, 'o')
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(x)))
		for _, k := range keys {
			str('k', k)
			if buf, err = appendCanonical(buf, x[k], depth+1); err != nil {
				return nil, err
			}
		}
	default:
		return nil, problem.BadData("@context contains %T, which is not JSON", v)
	}
	return buf, nil
}

func (r *Resolver) build(ctx context.Context, raw any, key ckey) (*Context, error) {
	var deps []*entry
	p := &processor{ctx: ctx}
	p.load = func(ctx context.Context, u string) (any, error) {
		if isCoreURL(u) {
			return r.coreDoc, nil // one core per broker: any core version means the default core
		}
		e, err := r.load(ctx, u)
		if err != nil {
			return nil, err
		}
		e.touch()
		deps = append(deps, e)
		return e.doc, nil
	}
	ac, err := p.process(&activeCtx{terms: map[string]*termDef{}}, raw, nil, false)
	if err != nil {
		return nil, err
	}
	// The core comes last, as NGSI-LD requires: it overrides earlier
	// definitions of its terms, and a protected user term it would change is
	// an error.
	ac, err = p.process(ac, r.coreDoc, []string{r.coreURL}, false)
	if err != nil {
		return nil, err
	}
	c := newContext(ac)
	c.source, c.key, c.r, c.deps = raw, key, r, deps
	return c, nil
}

// load returns the held context for URL u: a hosted or implicitly created
// one (never fetched), a cached one, an embedded one, or a fetched one.
func (r *Resolver) load(ctx context.Context, u string) (*entry, error) {
	if e := r.lookup(u); e != nil {
		return e, nil
	}
	if r.cfg.BaseURL != "" && strings.HasPrefix(u, r.cfg.BaseURL+HostedPath) {
		return nil, problem.New(problem.LdContextNotAvailable, "@context %s: no such hosted context on this broker", u)
	}
	if _, ok := r.embedded[u]; ok {
		doc, err := r.embeddedDoc(u)
		if err != nil {
			return nil, err
		}
		return r.addCached(u, doc), nil
	}
	doc, err := r.fetchOnce(ctx, u)
	if err != nil {
		return nil, err
	}
	return r.addCached(u, doc), nil
}

// lookup finds a held context by URL, or by local id when u has the hosted
// path (so that a hosted context is found whatever host name the client used).
func (r *Resolver) lookup(u string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.byURL[u]; ok {
		if e.info.Kind == KindCached {
			r.cached.get(u)
		}
		return e
	}
	if i := strings.Index(u, HostedPath); i >= 0 && strings.HasPrefix(u, "http") {
		if e, ok := r.byID[u[i+len(HostedPath):]]; ok && e.info.Kind != KindCached {
			return e
		}
	}
	return nil
}

func (r *Resolver) addCached(u string, doc any) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.byURL[u]; ok {
		return e
	}
	e := &entry{info: ContextInfo{URL: u, LocalID: shortHash(u), Kind: KindCached, CreatedAt: time.Now().UTC()}, doc: doc}
	r.byURL[u] = e
	r.byID[e.info.LocalID] = e
	r.cached.add(u, e)
	return e
}

// forget removes e from the indexes; mu is held.
func (r *Resolver) forget(e *entry) {
	if r.byURL[e.info.URL] == e {
		delete(r.byURL, e.info.URL)
	}
	if r.byID[e.info.LocalID] == e {
		delete(r.byID, e.info.LocalID)
	}
}

// embeddedDoc parses the embedded file for URL u and returns its "@context".
func (r *Resolver) embeddedDoc(u string) (any, error) {
	name, ok := r.embedded[u]
	if !ok {
		if f, isCore := coreFiles[u]; isCore {
			name = "contexts/" + f
		} else {
			return nil, problem.New(problem.LdContextNotAvailable, "%s is not embedded", u)
		}
	}
	b, err := contextFS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return contextMember(u, b)
}

// contextMember parses a context document and returns its "@context" value.
func contextMember(u string, b []byte) (any, error) {
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, problem.New(problem.LdContextNotAvailable, "@context %s is not JSON: %v", u, err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, problem.BadData("invalid @context: invalid remote context: %s is %s, not an object with an \"@context\" member", u, jsonKind(doc))
	}
	v, ok := m["@context"]
	if !ok {
		return nil, problem.BadData("invalid @context: invalid remote context: %s has no \"@context\" member", u)
	}
	return v, nil
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:10])
}

// implicitURL returns the URL of the implicitly created context holding c's
// source, creating it when needed.
func (r *Resolver) implicitURL(c *Context) string {
	id := c.key.hash
	if len(id) > 20 {
		id = id[:20]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.implicit.get(id); ok {
		return e.info.URL
	}
	e := &entry{info: ContextInfo{URL: r.cfg.BaseURL + HostedPath + id, LocalID: id, Kind: KindImplicitlyCreated, CreatedAt: time.Now().UTC()}, doc: c.source}
	r.byURL[e.info.URL] = e
	r.byID[id] = e
	r.implicit.add(id, e)
	return e.info.URL
}
