package api

import (
	"net/http"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/store"
)

// updateResultBody renders an UpdateResult (clause 5.2.18) with compacted
// attribute names.
func updateResultBody(res ngsild.UpdateResult, ctx *jsonld.Context) map[string]any {
	updated := make([]string, 0, len(res.Updated))
	for _, n := range res.Updated {
		updated = append(updated, ctx.CompactIRI(n))
	}
	notUpdated := make([]map[string]any, 0, len(res.NotUpdated))
	for _, nu := range res.NotUpdated {
		notUpdated = append(notUpdated, map[string]any{"attributeName": ctx.CompactIRI(nu.AttributeName), "reason": nu.Reason})
	}
	return map[string]any{"updated": updated, "notUpdated": notUpdated}
}

// attrsChange runs an attributes operation whose result may be partial:
// 204 when every attribute was applied, 207 with the UpdateResult otherwise.
func (c *call) attrsChange(id string, op store.Operation, ctx *jsonld.Context, fn func(before *ngsild.Entity) (*ngsild.Entity, ngsild.UpdateResult)) (*response, error) {
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	var res ngsild.UpdateResult
	err := c.write(store.Change{ID: id, Op: op, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		if before == nil {
			return nil, nil, notFound(id)
		}
		var after *ngsild.Entity
		after, res = fn(before)
		return after, res.Updated, nil
	}})
	if err != nil {
		return nil, err
	}
	if len(res.NotUpdated) == 0 {
		return &response{status: http.StatusNoContent}, nil
	}
	return &response{status: http.StatusMultiStatus, body: updateResultBody(res, ctx)}, nil
}

// appendAttrs is Append Entity Attributes (clause 5.6.3, 6.6.3.1).
func (a *API) appendAttrs(c *call) (*response, error) {
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	opts, err := c.optionSet("options", "noOverwrite")
	if err != nil {
		return nil, err
	}
	doc, ctx, err := c.readObject(false)
	if err != nil {
		return nil, err
	}
	patch, err := ngsild.ParseFragment(doc, ctx, ngsild.ParseOptions{})
	if err != nil {
		return nil, err
	}
	if patch.ID != "" && patch.ID != id {
		return nil, problem.BadData("the id in the body (%s) differs from the id in the path (%s)", patch.ID, id)
	}
	now := time.Now().UTC()
	return c.attrsChange(id, store.OpAppend, ctx, func(before *ngsild.Entity) (*ngsild.Entity, ngsild.UpdateResult) {
		return ngsild.AppendAttrs(before, patch, opts["noOverwrite"], now)
	})
}

// updateAttrs is Update Entity Attributes (clause 5.6.2, 6.6.3.2).
func (a *API) updateAttrs(c *call) (*response, error) {
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	if _, err := c.optionSet("options"); err != nil {
		return nil, err
	}
	doc, ctx, err := c.readObject(false)
	if err != nil {
		return nil, err
	}
	patch, err := ngsild.ParseFragment(doc, ctx, ngsild.ParseOptions{AllowNull: true})
	if err != nil {
		return nil, err
	}
	if patch.ID != "" && patch.ID != id {
		return nil, problem.BadData("the id in the body (%s) differs from the id in the path (%s)", patch.ID, id)
	}
	now := time.Now().UTC()
	return c.attrsChange(id, store.OpUpdate, ctx, func(before *ngsild.Entity) (*ngsild.Entity, ngsild.UpdateResult) {
		return ngsild.UpdateAttrs(before, patch, now)
	})
}

// attrBody reads the body of an operation on one attribute: the attribute's
// value object (or array of instances), and returns the attribute's expanded
// name and the parsed instances.
func (c *call) attrBody(mergePatch bool, opt ngsild.ParseOptions) (string, []*ngsild.Attr, error) {
	doc, ctx, err := c.readObject(mergePatch)
	if err != nil {
		return "", nil, err
	}
	raw := c.params["attrId"]
	if !validName(raw) {
		return "", nil, problem.BadData("attribute name %q is not valid", raw)
	}
	name := ctx.ExpandTerm(raw)
	delete(doc, "@context")
	attrs, err := ngsild.ParseAttr(name, doc, ctx, opt)
	if err != nil {
		return "", nil, err
	}
	return name, attrs, nil
}

// partialAttrUpdate is Partial Attribute Update (clause 5.6.4, 6.7.3.1).
func (a *API) partialAttrUpdate(c *call) (*response, error) {
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	name, attrs, err := c.attrBody(true, ngsild.ParseOptions{AllowNull: true, Partial: true})
	if err != nil {
		return nil, err
	}
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	return c.changeExisting(id, store.OpUpdate, func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		if len(attrs) != 1 {
			return nil, nil, problem.BadData("a partial attribute update changes one instance; send one attribute object")
		}
		after, err := ngsild.PartialAttrUpdate(before, name, attrs[0], now)
		return after, []string{name}, err
	})
}

// replaceAttr is Replace Attribute (clause 5.6.19 of v1.8, 6.7.3.3).
func (a *API) replaceAttr(c *call) (*response, error) {
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	name, attrs, err := c.attrBody(false, ngsild.ParseOptions{})
	if err != nil {
		return nil, err
	}
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	return c.changeExisting(id, store.OpUpdate, func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		after, err := ngsild.ReplaceAttr(before, name, attrs, now)
		return after, []string{name}, err
	})
}

// deleteAttr is Delete Entity Attribute (clause 5.6.5, 6.7.3.2).
func (a *API) deleteAttr(c *call) (*response, error) {
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	ctx, err := c.linkContext()
	if err != nil {
		return nil, err
	}
	raw := c.params["attrId"]
	if !validName(raw) {
		return nil, problem.BadData("attribute name %q is not valid", raw)
	}
	name := ctx.ExpandTerm(raw)
	deleteAll, err := boolParam(c, "deleteAll")
	if err != nil {
		return nil, err
	}
	datasetID := c.query.Get("datasetId")
	if datasetID != "" && !isURI(datasetID) {
		return nil, problem.BadData("datasetId %q is not a URI", datasetID)
	}
	if err := c.readTenant(); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	return c.changeExisting(id, store.OpDeleteAttrs, func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		after, err := ngsild.DeleteAttr(before, name, datasetID, deleteAll, now)
		return after, []string{name}, err
	})
}
