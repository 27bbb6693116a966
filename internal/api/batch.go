package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/store"
)

// batchError is one entry of BatchOperationResult.errors (clause 5.2.17).
type batchError struct {
	EntityID string      `json:"entityId"`
	Error    problemBody `json:"error"`
}

// batchResult is a BatchOperationResult (clause 5.2.16).
type batchResult struct {
	Success []string     `json:"success"`
	Errors  []batchError `json:"errors"`
}

func (b *batchResult) fail(id string, err error) {
	pe := problem.As(err)
	if pe == nil {
		pe = problem.New(problem.InternalError, "internal error")
	}
	b.Errors = append(b.Errors, batchError{EntityID: id, Error: problemBody{
		Type: problem.BaseURI + string(pe.Type), Title: problem.Title(pe.Type), Status: pe.HTTPStatus(), Detail: pe.Detail}})
}

// batchItem is one element of a batch body with its resolved @context.
type batchItem struct {
	id  string
	doc map[string]any
	ctx *jsonld.Context
}

// readBatch reads a batch body: a non-empty JSON array of entity objects, each
// with its own @context (clause 6.3.5). Elements that are not objects or whose
// context fails are recorded in res.
func (c *call) readBatch(res *batchResult) ([]batchItem, error) {
	mt, err := c.contentType(false)
	if err != nil {
		return nil, err
	}
	if mt == mtLD {
		if u, err := jsonld.ParseLink(c.r.Header.Get("Link")); err == nil && u != "" {
			return nil, problem.BadData("a context Link header must not be sent with Content-Type application/ld+json; put the @context in each entity")
		}
	}
	arr, err := c.readArray("entities")
	if err != nil {
		return nil, err
	}
	items := make([]batchItem, 0, len(arr))
	for i, el := range arr {
		doc, ok := el.(map[string]any)
		if !ok {
			res.fail("", problem.BadData("batch element %d is not a JSON object", i))
			continue
		}
		id, _ := doc["id"].(string)
		ctx, err := c.bodyContext(mt, doc)
		if err != nil {
			res.fail(id, err)
			continue
		}
		items = append(items, batchItem{id: id, doc: doc, ctx: ctx})
	}
	return items, nil
}

// readArray reads a batch body: a non-empty JSON array of what, of at most
// the configured batch size.
func (c *call) readArray(what string) ([]any, error) {
	v, err := c.readJSON()
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, problem.BadData("the body of a batch operation must be a JSON array of %s", what)
	}
	if len(arr) == 0 {
		return nil, problem.BadData("the batch is empty")
	}
	if len(arr) > c.api.cfg.MaxBatch {
		return nil, problem.New(problem.PayloadTooLarge, "the batch has %d elements; at most %d are accepted", len(arr), c.api.cfg.MaxBatch)
	}
	return arr, nil
}

// parseBatch parses each item with parse, recording failures in res.
func parseBatch(res *batchResult, items []batchItem, parse func(batchItem) (*ngsild.Entity, error)) []*ngsild.Entity {
	out := make([]*ngsild.Entity, 0, len(items))
	for _, it := range items {
		e, err := parse(it)
		if err != nil {
			res.fail(it.id, err)
			continue
		}
		out = append(out, e)
	}
	return out
}

// runBatch writes the changes as one durable group and records each outcome.
func (c *call) runBatch(res *batchResult, ids []string, changes []store.Change) error {
	if len(changes) == 0 {
		return nil
	}
	errs, err := c.api.store.Write(c.r.Context(), c.tenant, changes)
	if err != nil {
		return err
	}
	for i, e := range errs {
		if e != nil {
			res.fail(ids[i], e)
		} else {
			res.Success = append(res.Success, ids[i])
		}
	}
	return nil
}

// batchResponse renders the outcome: 207 with the BatchOperationResult when
// anything failed, otherwise ok().
func batchResponse(res *batchResult, ok func() *response) *response {
	if len(res.Errors) > 0 {
		if res.Success == nil {
			res.Success = []string{}
		}
		return &response{status: http.StatusMultiStatus, body: res}
	}
	return ok()
}

// batchCreate is Batch Entity Creation (clause 5.6.7, 6.14.3.1).
func (a *API) batchCreate(c *call) (*response, error) {
	res := &batchResult{}
	items, err := c.readBatch(res)
	if err != nil {
		return nil, err
	}
	ents := parseBatch(res, items, func(it batchItem) (*ngsild.Entity, error) {
		return ngsild.ParseEntity(it.doc, it.ctx, ngsild.ParseOptions{})
	})
	now := time.Now().UTC()
	ids := make([]string, len(ents))
	changes := make([]store.Change, len(ents))
	for i, e := range ents {
		e := e
		ids[i] = e.ID
		changes[i] = store.Change{ID: e.ID, Op: store.OpCreate, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
			if before != nil {
				return nil, nil, problem.New(problem.AlreadyExists, "entity %s already exists", e.ID)
			}
			return ngsild.Create(e, now), attrNames(e), nil
		}}
	}
	if err := c.runBatch(res, ids, changes); err != nil {
		return nil, err
	}
	return batchResponse(res, func() *response {
		return &response{status: http.StatusCreated, body: res.Success}
	}), nil
}

// batchUpsert is Batch Entity Upsert (clause 5.6.8, 6.15.3.1): entities that
// do not exist are created; existing ones are replaced (options=replace, the
// default) or have their attributes updated (options=update).
func (a *API) batchUpsert(c *call) (*response, error) {
	opts, err := c.optionSet("options", "replace", "update")
	if err != nil {
		return nil, err
	}
	if opts["replace"] && opts["update"] {
		return nil, problem.BadData("options may be replace or update, not both")
	}
	res := &batchResult{}
	items, err := c.readBatch(res)
	if err != nil {
		return nil, err
	}
	ents := parseBatch(res, items, func(it batchItem) (*ngsild.Entity, error) {
		return ngsild.ParseEntity(it.doc, it.ctx, ngsild.ParseOptions{})
	})
	now := time.Now().UTC()
	created := map[string]bool{}
	ids := make([]string, len(ents))
	changes := make([]store.Change, len(ents))
	for i, e := range ents {
		e := e
		ids[i] = e.ID
		changes[i] = store.Change{ID: e.ID, Op: store.OpReplace, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
			if before == nil {
				created[e.ID] = true
			}
			after, touched := ngsild.Upsert(before, e, opts["update"], now)
			return after, touched, nil
		}}
	}
	if err := c.runBatch(res, ids, changes); err != nil {
		return nil, err
	}
	return batchResponse(res, func() *response {
		var newIDs []string
		for _, id := range res.Success {
			if created[id] {
				newIDs = append(newIDs, id)
				delete(created, id) // an id upserted twice is listed once
			}
		}
		if len(newIDs) == 0 {
			return &response{status: http.StatusNoContent}
		}
		return &response{status: http.StatusCreated, body: newIDs}
	}), nil
}

// batchUpdate is Batch Entity Update (clause 5.6.9, 6.16.3.1): attributes of
// existing entities are appended or overwritten (unless noOverwrite).
func (a *API) batchUpdate(c *call) (*response, error) {
	opts, err := c.optionSet("options", "noOverwrite")
	if err != nil {
		return nil, err
	}
	res := &batchResult{}
	items, err := c.readBatch(res)
	if err != nil {
		return nil, err
	}
	ents := parseBatch(res, items, func(it batchItem) (*ngsild.Entity, error) {
		return parseBatchFragment(it, ngsild.ParseOptions{})
	})
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	kept := map[string][]ngsild.NotUpdatedDetails{}
	ctxOf := make(map[string]*jsonld.Context, len(items)) // each entity's own @context, to name its attributes
	for _, it := range items {
		ctxOf[it.id] = it.ctx
	}
	ids := make([]string, len(ents))
	changes := make([]store.Change, len(ents))
	for i, e := range ents {
		e := e
		ids[i] = e.ID
		changes[i] = store.Change{ID: e.ID, Op: store.OpUpdate, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
			if before == nil {
				return nil, nil, notFound(e.ID)
			}
			after, r := ngsild.AppendAttrs(before, e, opts["noOverwrite"], now)
			if len(r.NotUpdated) > 0 {
				kept[e.ID] = r.NotUpdated
			}
			return after, r.Updated, nil
		}}
	}
	if err := c.runBatch(res, ids, changes); err != nil {
		return nil, err
	}
	// With noOverwrite, an entity some of whose attributes were kept is
	// reported in errors (its other attributes were appended).
	if len(kept) > 0 {
		ok := res.Success[:0]
		for _, id := range res.Success {
			nu, found := kept[id]
			if !found {
				ok = append(ok, id)
				continue
			}
			names := make([]string, len(nu))
			for i, n := range nu {
				names[i] = ctxOf[id].CompactIRI(n.AttributeName)
			}
			res.fail(id, problem.BadData("attributes not overwritten (noOverwrite): %s", strings.Join(names, ", ")))
		}
		res.Success = ok
	}
	return batchResponse(res, func() *response { return &response{status: http.StatusNoContent} }), nil
}

// batchMerge is Batch Entity Merge (clause 5.6.20 of v1.8, 6.31.3.1).
func (a *API) batchMerge(c *call) (*response, error) {
	if _, err := c.optionSet("options"); err != nil {
		return nil, err
	}
	res := &batchResult{}
	items, err := c.readBatch(res)
	if err != nil {
		return nil, err
	}
	ents := parseBatch(res, items, func(it batchItem) (*ngsild.Entity, error) {
		return parseBatchFragment(it, ngsild.ParseOptions{AllowNull: true})
	})
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	ids := make([]string, len(ents))
	changes := make([]store.Change, len(ents))
	for i, e := range ents {
		e := e
		ids[i] = e.ID
		changes[i] = store.Change{ID: e.ID, Op: store.OpMerge, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
			if before == nil {
				return nil, nil, notFound(e.ID)
			}
			after, touched := ngsild.Merge(before, e, now)
			return after, touched, nil
		}}
	}
	if err := c.runBatch(res, ids, changes); err != nil {
		return nil, err
	}
	return batchResponse(res, func() *response { return &response{status: http.StatusNoContent} }), nil
}

// parseBatchFragment parses a batch element that changes an existing entity:
// it must carry an id.
func parseBatchFragment(it batchItem, opt ngsild.ParseOptions) (*ngsild.Entity, error) {
	e, err := ngsild.ParseFragment(it.doc, it.ctx, opt)
	if err != nil {
		return nil, err
	}
	if e.ID == "" {
		return nil, problem.BadData("batch element has no id")
	}
	return e, nil
}

// batchDelete is Batch Entity Delete (clause 5.6.10, 6.17.3.1); the body is a
// JSON array of entity ids.
func (a *API) batchDelete(c *call) (*response, error) {
	if _, err := c.contentType(false); err != nil {
		return nil, err
	}
	arr, err := c.readArray("entity ids")
	if err != nil {
		return nil, err
	}
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	res := &batchResult{}
	var ids []string
	var changes []store.Change
	for i, el := range arr {
		id, ok := el.(string)
		if !ok || !isURI(id) {
			res.fail(id, problem.BadData("batch element %d is not an entity id (a URI string)", i))
			continue
		}
		ids = append(ids, id)
		changes = append(changes, store.Change{ID: id, Op: store.OpDelete, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
			if before == nil {
				return nil, nil, notFound(id)
			}
			return nil, nil, nil
		}})
	}
	if err := c.runBatch(res, ids, changes); err != nil {
		return nil, err
	}
	return batchResponse(res, func() *response { return &response{status: http.StatusNoContent} }), nil
}
