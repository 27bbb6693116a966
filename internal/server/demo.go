package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// demoWriter writes the demo city and its simulator's updates through the one
// write path, exactly as batch upsert and batch merge requests would.
type demoWriter struct {
	store    store.Store
	resolver *jsonld.Resolver
}

// parse resolves each document's @context and parses it.
func (w *demoWriter) parse(ctx context.Context, docs []map[string]any, fragment bool) ([]*ngsild.Entity, error) {
	out := make([]*ngsild.Entity, 0, len(docs))
	for _, d := range docs {
		c, err := w.resolver.Resolve(ctx, d["@context"])
		if err != nil {
			return nil, fmt.Errorf("demo entity %v: %w", d["id"], err)
		}
		body := make(map[string]any, len(d))
		for k, v := range d {
			if k != "@context" {
				body[k] = v
			}
		}
		var e *ngsild.Entity
		if fragment {
			e, err = ngsild.ParseFragment(body, c, ngsild.ParseOptions{})
		} else {
			e, err = ngsild.ParseEntity(body, c, ngsild.ParseOptions{})
		}
		if err != nil {
			return nil, fmt.Errorf("demo entity %v: %w", d["id"], err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Upsert creates or replaces whole entities (batch upsert, options=replace).
func (w *demoWriter) Upsert(ctx context.Context, tenant string, docs []map[string]any) error {
	ents, err := w.parse(ctx, docs, false)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	changes := make([]store.Change, len(ents))
	for i, e := range ents {
		changes[i] = store.Change{ID: e.ID, Op: store.OpReplace, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
			after, touched := ngsild.Upsert(before, e, false, now)
			return after, touched, nil
		}}
	}
	return w.write(ctx, tenant, changes)
}

// Update overwrites the attributes of partial entities in existing ones
// (batch update).
func (w *demoWriter) Update(ctx context.Context, tenant string, docs []map[string]any) error {
	ents, err := w.parse(ctx, docs, true)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	changes := make([]store.Change, len(ents))
	for i, e := range ents {
		changes[i] = store.Change{ID: e.ID, Op: store.OpUpdate, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
			if before == nil {
				return nil, nil, store.ErrNotFound
			}
			after, res := ngsild.AppendAttrs(before, e, false, now)
			return after, res.Updated, nil
		}}
	}
	return w.write(ctx, tenant, changes)
}

func (w *demoWriter) write(ctx context.Context, tenant string, changes []store.Change) error {
	errs, err := w.store.Write(ctx, tenant, changes)
	if err != nil {
		return err
	}
	var all []error
	for i, e := range errs {
		// An entity deleted by a user is not an error of the simulator.
		if e != nil && !errors.Is(e, store.ErrNotFound) {
			all = append(all, fmt.Errorf("%s: %w", changes[i].ID, e))
		}
	}
	return errors.Join(all...)
}
