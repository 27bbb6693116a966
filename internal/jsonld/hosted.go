package jsonld

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/problem"
)

// hostedExt names the files of hosted contexts in Config.Dir: <localId>.jsonld.
const hostedExt = ".jsonld"

// loadHosted reads the hosted contexts kept in cfg.Dir.
func (r *Resolver) loadHosted() error {
	if r.cfg.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(r.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("hosted contexts: %w", err)
	}
	des, err := os.ReadDir(r.cfg.Dir)
	if err != nil {
		return fmt.Errorf("hosted contexts: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		if de.IsDir() || !strings.HasSuffix(name, hostedExt) {
			continue
		}
		id := strings.TrimSuffix(name, hostedExt)
		b, err := os.ReadFile(filepath.Join(r.cfg.Dir, name))
		if err != nil {
			return fmt.Errorf("hosted context %s: %w", id, err)
		}
		doc, err := contextMember(name, b)
		if err != nil {
			return fmt.Errorf("hosted context %s: %w", id, err)
		}
		created := time.Now().UTC()
		if fi, err := de.Info(); err == nil {
			created = fi.ModTime().UTC()
		}
		r.addHosted(id, doc, created)
	}
	return nil
}

func (r *Resolver) addHosted(id string, doc any, created time.Time) *entry {
	e := &entry{info: ContextInfo{URL: r.cfg.BaseURL + HostedPath + id, LocalID: id, Kind: KindHosted, CreatedAt: created}, doc: doc}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byURL[e.info.URL] = e
	r.byID[id] = e
	return e
}

// Add stores a hosted context (the body of POST /jsonldContexts, an object
// with a "@context" member) and returns its info. The context must be valid:
// it is resolved once, and its errors are returned (BadRequestData for a
// malformed body or context, LdContextNotAvailable for an unreachable remote
// context it references).
func (r *Resolver) Add(ctx context.Context, body []byte) (ContextInfo, error) {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return ContextInfo{}, problem.Invalid("the body is not valid JSON: %v", err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return ContextInfo{}, problem.Invalid("the body must be a JSON object with an \"@context\" member, not %s", jsonKind(doc))
	}
	raw, ok := m["@context"]
	if !ok || raw == nil {
		return ContextInfo{}, problem.Invalid("the body must have an \"@context\" member")
	}
	switch raw.(type) {
	case map[string]any, []any, string:
	default:
		return ContextInfo{}, problem.BadData("\"@context\" must be an object, an array or a URL, not %s", jsonKind(raw))
	}
	if _, err := r.Resolve(ctx, raw); err != nil {
		return ContextInfo{}, err
	}
	var rnd [10]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return ContextInfo{}, fmt.Errorf("local id: %w", err)
	}
	id := hex.EncodeToString(rnd[:])
	if r.cfg.Dir != "" {
		b, err := json.Marshal(map[string]any{"@context": raw})
		if err != nil {
			return ContextInfo{}, fmt.Errorf("hosted context: %w", err)
		}
		if err := writeFileAtomic(filepath.Join(r.cfg.Dir, id+hostedExt), b); err != nil {
			return ContextInfo{}, fmt.Errorf("hosted context: %w", err)
		}
	}
	return r.addHosted(id, raw, time.Now().UTC()).snapshot(), nil
}

func writeFileAtomic(name string, b []byte) error {
	tmp := name + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// List returns the contexts held, of one kind when kind is not "", ordered by
// creation time then URL.
func (r *Resolver) List(kind string) []ContextInfo {
	r.mu.Lock()
	out := make([]ContextInfo, 0, len(r.byID))
	for _, e := range r.byID {
		if kind == "" || e.info.Kind == kind {
			out = append(out, e.snapshot())
		}
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].URL < out[j].URL
	})
	return out
}

// Get returns a held context by local id or URL, with its document
// ({"@context": ...}, shared: read it, do not modify it). An embedded context
// not used yet is loaded (as a Cached context). An unknown one is
// ResourceNotFound.
func (r *Resolver) Get(id string) (ContextInfo, any, error) {
	e := r.find(id)
	if e == nil {
		if _, ok := r.embedded[id]; ok {
			var err error
			if e, err = r.load(context.Background(), id); err != nil {
				return ContextInfo{}, nil, err
			}
		}
	}
	if e == nil {
		return ContextInfo{}, nil, problem.NotFound("no @context with local id or URL %q", id)
	}
	return e.snapshot(), map[string]any{"@context": e.doc}, nil
}

func (r *Resolver) find(id string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.byID[id]; ok {
		return e
	}
	if e, ok := r.byURL[id]; ok {
		return e
	}
	return nil
}

// Delete removes a hosted or implicitly created context, or a cached one from
// the cache; with reload, a cached context is fetched again instead (and the
// old copy kept when that fails). reload on a context that is not Cached, or
// deleting the default core context, is BadRequestData; an unknown id is
// ResourceNotFound. Every resolved Context is dropped from the cache, so that
// later requests see the change.
func (r *Resolver) Delete(ctx context.Context, id string, reload bool) error {
	e := r.find(id)
	if e == nil && isCoreURL(id) {
		// The core contexts are embedded: never deleted, and a reload has
		// nothing to fetch.
		if reload {
			return nil
		}
		return problem.BadData("the NGSI-LD core @context %s cannot be deleted", id)
	}
	if e == nil {
		if reload {
			return problem.BadData("no @context with local id or URL %q to reload", id)
		}
		return problem.NotFound("no @context with local id or URL %q", id)
	}
	if reload && e.info.Kind != KindCached {
		return problem.BadData("reload applies to Cached @contexts only; %s is %s", e.info.URL, e.info.Kind)
	}
	if isCoreURL(e.info.URL) && !reload {
		return problem.BadData("the NGSI-LD core @context %s cannot be deleted", e.info.URL)
	}
	if reload {
		var doc any
		var err error
		if _, ok := r.embedded[e.info.URL]; ok {
			doc, err = r.embeddedDoc(e.info.URL)
		} else {
			doc, err = r.fetchOnce(ctx, e.info.URL)
		}
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.removeLocked(e)
		r.mu.Unlock()
		r.addCached(e.info.URL, doc)
		return nil
	}
	if e.info.Kind == KindHosted && r.cfg.Dir != "" {
		err := os.Remove(filepath.Join(r.cfg.Dir, e.info.LocalID+hostedExt))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete hosted context: %w", err)
		}
	}
	r.mu.Lock()
	r.removeLocked(e)
	r.mu.Unlock()
	return nil
}

// removeLocked removes e and drops every resolved Context; mu is held.
func (r *Resolver) removeLocked(e *entry) {
	r.forget(e)
	switch e.info.Kind {
	case KindCached:
		r.cached.remove(e.info.URL)
	case KindImplicitlyCreated:
		r.implicit.remove(e.info.LocalID)
	}
	r.resolved.clear()
}
