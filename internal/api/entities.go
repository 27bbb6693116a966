package api

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/store"
)

const entitiesPath = "/ngsi-ld/v1/entities/"

// readObject reads a body that must be one JSON object and resolves its
// @context (clause 6.3.5).
func (c *call) readObject(mergePatch bool) (map[string]any, *jsonld.Context, error) {
	mt, err := c.contentType(mergePatch)
	if err != nil {
		return nil, nil, err
	}
	v, err := c.readJSON()
	if err != nil {
		return nil, nil, err
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, nil, problem.Invalid("the request body must be a JSON object")
	}
	ctx, err := c.bodyContext(mt, doc)
	if err != nil {
		return nil, nil, err
	}
	return doc, ctx, nil
}

// write runs one change through the store's write path and returns its error.
func (c *call) write(ch store.Change) error {
	errs, err := c.api.store.Write(c.r.Context(), c.tenant, []store.Change{ch})
	if err != nil {
		return err
	}
	return errs[0]
}

// entityID returns the entityId path parameter, checked to be a URI.
func (c *call) entityID() (string, error) {
	id := c.params["entityId"]
	if !isURI(id) {
		return "", problem.BadData("entity id %q is not a URI", id)
	}
	return id, nil
}

func notFound(id string) error {
	return problem.NotFound("entity %s does not exist", id)
}

// changeExisting writes one change to an entity that must exist (else
// ResourceNotFound) and answers 204 No Content: the shape of every
// single-entity update, replace and delete operation. apply sees the
// current, existing entity.
func (c *call) changeExisting(id string, op store.Operation, apply func(before *ngsild.Entity) (*ngsild.Entity, []string, error)) (*response, error) {
	err := c.write(store.Change{ID: id, Op: op, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		if before == nil {
			return nil, nil, notFound(id)
		}
		return apply(before)
	}})
	if err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

// createEntity is Create Entity (clause 5.6.1, 6.4.3.1).
func (a *API) createEntity(c *call) (*response, error) {
	doc, ctx, err := c.readObject(false)
	if err != nil {
		return nil, err
	}
	e, err := ngsild.ParseEntity(doc, ctx, ngsild.ParseOptions{})
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	err = c.write(store.Change{ID: e.ID, Op: store.OpCreate, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		if before != nil {
			return nil, nil, problem.New(problem.AlreadyExists, "entity %s already exists", e.ID)
		}
		return ngsild.Create(e, now), attrNames(e), nil
	}})
	if err != nil {
		return nil, err
	}
	resp := &response{status: http.StatusCreated}
	resp.setHeader("Location", entitiesPath+url.PathEscape(e.ID))
	return resp, nil
}

// retrieveEntity is Retrieve Entity (clause 5.7.1, 6.5.3.1).
func (a *API) retrieveEntity(c *call) (*response, error) {
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	mt, err := c.accept(true)
	if err != nil {
		return nil, err
	}
	ctx, err := c.linkContext()
	if err != nil {
		return nil, err
	}
	o, err := c.renderOptions(ctx)
	if err != nil {
		return nil, err
	}
	types, err := c.typeFilter(ctx)
	if err != nil {
		return nil, err
	}
	gp, err := c.geometryProperty(ctx, mt)
	if err != nil {
		return nil, err
	}
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	e, err := a.store.Get(c.r.Context(), c.tenant, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && len(types) > 0 && !hasAnyType(e, types)) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if o.Attrs != nil && !hasAnyAttr(e, o.Attrs) {
		return nil, problem.NotFound("entity %s has none of the attributes asked for", id)
	}
	// A client that prefers an earlier version gets the entity amended as
	// clause 4.3.6.8 of v1.9 gives it, flagged 203 Non-Authoritative
	// Information when that altered it.
	altered := false
	if c.hasVersion {
		e = e.Clone()
		altered = ngsild.Downgrade(e, c.version, ctx.CompactType)
	}
	if mt != mtJSON {
		o.IncludeContext = contextValue(ctx)
	}
	if mt == mtGeo {
		o.IncludeContext = geoContextValue(ctx)
		return amended(withContext(&response{body: ngsild.RenderFeature(e, o, gp)}, mt, ctx), altered), nil
	}
	j, err := c.joinOptions()
	if err != nil {
		return nil, err
	}
	var doc ngsild.Doc
	switch j.mode {
	case "inline":
		doc = c.inline(c.r.Context(), e, o, j.level, j.seen, c.pick, c.omit)
	default:
		doc = ngsild.Render(e, o)
	}
	if (o.Pick != nil || o.Omit != nil) && len(doc) == 0 {
		return nil, problem.NotFound("entity %s has none of the members asked for", id)
	}
	if j.mode == "flat" {
		// The linking entity and the linked ones, as an array; alone when
		// nothing it links to exists (ETSI TP 018_14).
		if ls := c.flat(c.r.Context(), []*ngsild.Entity{e}, j.level, j.seen, c.pick, c.omit); len(ls) > 0 {
			sub := o
			sub.IncludeContext = nil
			list := []ngsild.Doc{doc}
			for _, l := range ls {
				list = append(list, ngsild.Render(l.e, withProj(sub, l.pick, l.omit)))
			}
			return amended(withContext(&response{body: list}, mt, ctx), altered), nil
		}
	}
	return amended(withContext(&response{body: doc}, mt, ctx), altered), nil
}

// typeFilter reads the optional "type" parameter of retrieve and delete: the
// entity must have one of these types.
func (c *call) typeFilter(ctx *jsonld.Context) ([]string, error) {
	v, ok := c.query["type"]
	if !ok {
		return nil, nil
	}
	items := splitList(v[0])
	if len(items) == 0 {
		return nil, problem.BadData("type must name at least one entity type")
	}
	out := make([]string, len(items))
	for i, t := range items {
		if !validName(t) {
			return nil, problem.BadData("type %q is not a valid entity type", t)
		}
		out[i] = ctx.ExpandTerm(t)
	}
	return out, nil
}

// geometryProperty reads the GeoProperty a GeoJSON response takes its
// geometry from (clause 6.3.15); the parameter is refused with any other
// representation (clause 5.7.1.4 and 5.7.2.4 of v1.9, ETSI TP 019_27).
func (c *call) geometryProperty(ctx *jsonld.Context, mt string) (string, error) {
	gp := c.query.Get("geometryProperty")
	if _, ok := c.query["geometryProperty"]; ok && mt != mtGeo {
		return "", problem.BadData("geometryProperty applies only to GeoJSON responses (Accept: application/geo+json)")
	}
	if gp == "" {
		return ngsild.IRILocation, nil
	}
	if !validName(gp) {
		return "", problem.BadData("geometryProperty %q is not a valid attribute name", gp)
	}
	return ctx.ExpandTerm(gp), nil
}

func hasAnyAttr(e *ngsild.Entity, names []string) bool {
	for _, n := range names {
		if _, ok := e.Attrs[n]; ok {
			return true
		}
	}
	return false
}

func hasAnyType(e *ngsild.Entity, types []string) bool {
	for _, t := range types {
		if e.HasType(t) {
			return true
		}
	}
	return false
}

// deleteEntity is Delete Entity (clause 5.6.6, 6.5.3.2).
func (a *API) deleteEntity(c *call) (*response, error) {
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	ctx, err := c.linkContext()
	if err != nil {
		return nil, err
	}
	types, err := c.typeFilter(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	return c.changeExisting(id, store.OpDelete, func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		if len(types) > 0 && !hasAnyType(before, types) {
			return nil, nil, notFound(id)
		}
		return nil, nil, nil
	})
}

// fragment reads the body of an operation that changes an existing entity: a
// JSON object whose id and type, when present, must agree with the target.
func (c *call) fragment(id string, mergePatch bool, opt ngsild.ParseOptions) (*ngsild.Entity, error) {
	doc, ctx, err := c.readObject(mergePatch)
	if err != nil {
		return nil, err
	}
	f, err := ngsild.ParseFragment(doc, ctx, opt)
	if err != nil {
		return nil, err
	}
	if f.ID != "" && f.ID != id {
		return nil, problem.BadData("the id in the body (%s) differs from the id in the path (%s)", f.ID, id)
	}
	return f, nil
}

// mergeEntity is Merge Entity (clause 5.6.17, 6.5.3.4).
func (a *API) mergeEntity(c *call) (*response, error) {
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	if err := c.noKeyValuesInput(); err != nil {
		return nil, err
	}
	patch, err := c.fragment(id, true, ngsild.ParseOptions{AllowNull: true})
	if err != nil {
		return nil, err
	}
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	return c.changeExisting(id, store.OpMerge, func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		after, touched := ngsild.Merge(before, patch, now)
		return after, touched, nil
	})
}

// replaceEntity is Replace Entity (clause 5.6.18, 6.5.3.3).
func (a *API) replaceEntity(c *call) (*response, error) {
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	if err := c.noKeyValuesInput(); err != nil {
		return nil, err
	}
	doc, ctx, err := c.readObject(false)
	if err != nil {
		return nil, err
	}
	if _, ok := doc["id"]; !ok {
		doc["id"] = id
	}
	e, err := ngsild.ParseEntity(doc, ctx, ngsild.ParseOptions{})
	if err != nil {
		return nil, err
	}
	if e.ID != id {
		return nil, problem.BadData("the id in the body (%s) differs from the id in the path (%s)", e.ID, id)
	}
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	return c.changeExisting(id, store.OpReplace, func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		after, touched := ngsild.Replace(before, e, now)
		return after, touched, nil
	})
}

// noKeyValuesInput refuses options/format asking for keyValues input where
// Qala accepts only normalized and concise bodies.
func (c *call) noKeyValuesInput() error {
	opts, err := c.optionSet("options", "keyValues", "simplified", "normalized", "concise", "noOverwrite", "replace", "update")
	if err != nil {
		return err
	}
	if opts["keyValues"] || opts["simplified"] || c.query.Get("format") == "keyValues" || c.query.Get("format") == "simplified" {
		return problem.BadData("keyValues input is not accepted by this operation; send normalized or concise attributes")
	}
	return nil
}

func attrNames(e *ngsild.Entity) []string {
	out := make([]string, 0, len(e.Attrs))
	for k := range e.Attrs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
