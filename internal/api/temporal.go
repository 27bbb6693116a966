package api

import (
	"errors"
	"net/http"
	"net/url"
	"sort"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/temporal"
)

// The provision operations of the temporal API (clauses 5.6.11–5.6.16;
// 6.18–6.22). They write the history only: a Temporal Evolution of an
// Entity is not the Entity, and clause 5.6.11.4 asks only that the
// provided instances be added to it (the current state of the entity, if
// any, is the business of the entity operations, whose changes the history
// records in turn).

const temporalPath = "/ngsi-ld/v1/temporal/entities/"

// history returns the history store or the error that the temporal API is
// not served.
func (c *call) history() (*temporal.Store, error) {
	if c.api.cfg.History == nil {
		return nil, problem.New(problem.OperationNotSupported, "this Qala keeps no history: the temporal API is not available")
	}
	return c.api.cfg.History, nil
}

// historyError maps the history store's errors to problems.
func historyError(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, temporal.ErrNotFound):
		return problem.NotFound("%s", what)
	case errors.Is(err, temporal.ErrDisabled):
		return problem.New(problem.OperationNotSupported, "history is turned off for this tenant and entity type (see /admin/history)")
	case errors.Is(err, temporal.ErrClosed):
		return problem.New(problem.ServiceUnavailable, "the server is shutting down")
	}
	return err
}

// temporalBody is a parsed EntityTemporal (clause 5.2.20) or a fragment of
// one: its identity and the instances of each attribute.
type temporalBody struct {
	id       string
	types    []string
	scope    []string
	hasScope bool
	attrs    map[string][]*ngsild.Attr
}

// parseTemporal parses an EntityTemporal body; whole requires id and type
// (create), else they are optional (a fragment). Every attribute member is
// an array of instances (or one instance); instances may share a datasetId.
func parseTemporal(doc map[string]any, ctx *jsonld.Context, whole bool) (*temporalBody, error) {
	head := map[string]any{}
	for _, k := range []string{"id", "type", "scope"} {
		if v, ok := doc[k]; ok {
			head[k] = v
		}
	}
	// The scope is given as the entity's (a string or an array of them) or
	// as its temporal evolution: Property instances whose values are scopes
	// (as the temporal representation renders it, clause 4.18).
	scopeInsts, err := parseScopeInstances(doc["scope"])
	if err != nil {
		return nil, err
	}
	if scopeInsts != nil {
		delete(head, "scope")
	}
	var e *ngsild.Entity
	if whole {
		e, err = ngsild.ParseEntity(head, ctx, ngsild.ParseOptions{})
	} else {
		e, err = ngsild.ParseFragment(head, ctx, ngsild.ParseOptions{})
	}
	if err != nil {
		return nil, err
	}
	b := &temporalBody{id: e.ID, types: e.Types, scope: e.Scope, attrs: map[string][]*ngsild.Attr{}}
	_, b.hasScope = doc["scope"]
	if scopeInsts != nil {
		b.hasScope, b.attrs[temporal.ScopeAttr] = false, scopeInsts
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "id", "type", "scope", "@context", "createdAt", "modifiedAt", "deletedAt":
			continue
		}
		items, isArray := doc[k].([]any)
		if !isArray {
			items = []any{doc[k]}
		}
		if len(items) == 0 {
			return nil, problem.BadData("attribute %q has no instances", k)
		}
		name := ctx.ExpandTerm(k)
		for _, it := range items {
			// An instance may hold the NGSI-LD Null (the representation of a
			// deleted instance, clause 4.5.7; 5.5.4 excepts the temporal
			// evolution), but a member may not be the Null itself.
			if it == nil || it == ngsild.Null {
				return nil, problem.BadData("attribute %q: a member of a temporal evolution may not be null or %q (clause 5.5.4); give instances", k, ngsild.Null)
			}
			it, null := nullInstance(it)
			insts, err := ngsild.ParseAttr(k, it, ctx, ngsild.ParseOptions{})
			if err != nil {
				return nil, err
			}
			if null {
				for _, a := range insts {
					temporal.SetNull(a)
				}
			}
			b.attrs[name] = append(b.attrs[name], insts...)
		}
	}
	return b, nil
}

// upsertTemporal is Create or Update Temporal Evolution of an Entity
// (clause 5.6.11, 6.18.3.1): 201 with Location when the entity had no
// history, 204 when instances were added to it.
func (a *API) upsertTemporal(c *call) (*response, error) {
	h, err := c.history()
	if err != nil {
		return nil, err
	}
	doc, ctx, err := c.readObject(false)
	if err != nil {
		return nil, err
	}
	b, err := parseTemporal(doc, ctx, true)
	if err != nil {
		return nil, err
	}
	created, err := h.Append(c.r.Context(), temporal.Entry{Tenant: c.tenant, ID: b.id, Types: b.types,
		Attrs: b.attrs, Scope: b.scope, HasScope: b.hasScope})
	if err != nil {
		return nil, historyError(err, "")
	}
	if !created {
		return &response{status: http.StatusNoContent}, nil
	}
	resp := &response{status: http.StatusCreated}
	resp.setHeader("Location", temporalPath+url.PathEscape(b.id))
	return resp, nil
}

// appendTemporalAttrs is Add Attributes to Temporal Evolution of an Entity
// (clause 5.6.12, 6.20.3.1).
func (a *API) appendTemporalAttrs(c *call) (*response, error) {
	h, err := c.history()
	if err != nil {
		return nil, err
	}
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	doc, ctx, err := c.readObject(false)
	if err != nil {
		return nil, err
	}
	b, err := parseTemporal(doc, ctx, false)
	if err != nil {
		return nil, err
	}
	if b.id != "" && b.id != id {
		return nil, problem.BadData("the body's id %s is not the entity %s of the path", b.id, id)
	}
	if _, ok := h.Entity(c.tenant, id); !ok {
		return nil, problem.NotFound("entity %s has no temporal evolution", id)
	}
	if len(b.attrs) == 0 && len(b.types) == 0 && !b.hasScope {
		return nil, problem.BadData("the body adds no attribute instance")
	}
	_, err = h.Append(c.r.Context(), temporal.Entry{Tenant: c.tenant, ID: id, Types: b.types,
		Attrs: b.attrs, Scope: b.scope, HasScope: b.hasScope})
	if err != nil {
		return nil, historyError(err, "")
	}
	return &response{status: http.StatusNoContent}, nil
}

// deleteTemporal is Delete Temporal Evolution of an Entity (clause 5.6.16,
// 6.19.3.2).
func (a *API) deleteTemporal(c *call) (*response, error) {
	h, err := c.history()
	if err != nil {
		return nil, err
	}
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	if err := h.DeleteEntity(c.r.Context(), c.tenant, id); err != nil {
		return nil, historyError(err, "entity "+id+" has no temporal evolution")
	}
	return &response{status: http.StatusNoContent}, nil
}

// temporalAttr reads the attrId path parameter and expands it with the
// request's @context.
func (c *call) temporalAttr() (string, error) {
	name := c.params["attrId"]
	if !validName(name) {
		return "", problem.BadData("attribute name %q is not valid", name)
	}
	ctx, err := c.linkContext()
	if err != nil {
		return "", err
	}
	return ctx.ExpandTerm(name), nil
}

// deleteTemporalAttr is Delete Attribute from Temporal Evolution of an
// Entity (clause 5.6.13, 6.21.3.1): the default instances, those of
// datasetId, or with deleteAll=true all of them.
func (a *API) deleteTemporalAttr(c *call) (*response, error) {
	h, err := c.history()
	if err != nil {
		return nil, err
	}
	id, err := c.entityID()
	if err != nil {
		return nil, err
	}
	attr, err := c.temporalAttr()
	if err != nil {
		return nil, err
	}
	all, err := boolParam(c, "deleteAll")
	if err != nil {
		return nil, err
	}
	ds := c.query.Get("datasetId")
	if ds != "" && ds != ngsild.NoneDataset && !isURI(ds) {
		return nil, problem.BadData("datasetId %q is not a URI", ds)
	}
	if ds == ngsild.NoneDataset {
		ds = ""
	}
	if _, ok := h.Entity(c.tenant, id); !ok {
		return nil, problem.NotFound("entity %s has no temporal evolution", id)
	}
	if err := h.DeleteAttr(c.r.Context(), c.tenant, id, attr, ds, all); err != nil {
		return nil, historyError(err, "entity "+id+" has no temporal evolution of attribute "+c.params["attrId"]+datasetNote(ds, all))
	}
	return &response{status: http.StatusNoContent}, nil
}

func datasetNote(ds string, all bool) string {
	switch {
	case all:
		return ""
	case ds == "":
		return " (default instance)"
	}
	return " with datasetId " + ds
}

// instanceParams reads the entity, attribute and instance of the instance
// operations.
func (c *call) instanceParams() (id, attr, instance string, err error) {
	if id, err = c.entityID(); err != nil {
		return
	}
	if attr, err = c.temporalAttr(); err != nil {
		return
	}
	instance = c.params["instanceId"]
	if !isURI(instance) {
		err = problem.BadData("instanceId %q is not a URI", instance)
	}
	return
}

// patchTemporalInstance is Modify Attribute Instance in Temporal Evolution
// of an Entity (clause 5.6.14, 6.22.3.1). The body is the new instance, as
// an object or an array of exactly one.
func (a *API) patchTemporalInstance(c *call) (*response, error) {
	h, err := c.history()
	if err != nil {
		return nil, err
	}
	id, attr, instance, err := c.instanceParams()
	if err != nil {
		return nil, err
	}
	mt, err := c.contentType(false)
	if err != nil {
		return nil, err
	}
	v, err := c.readJSON()
	if err != nil {
		return nil, err
	}
	if arr, ok := v.([]any); ok {
		if len(arr) != 1 {
			return nil, problem.BadData("the body must hold exactly one attribute instance, not %d", len(arr))
		}
		v = arr[0]
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, problem.BadData("the body must be an attribute instance (a JSON object)")
	}
	ctx, err := c.bodyContext(mt, m)
	if err != nil {
		return nil, err
	}
	name := c.params["attrId"]
	if len(m) == 1 {
		// {"speed": {...}}: the instance under its attribute's name.
		for k, inner := range m {
			if im, ok := inner.(map[string]any); ok && ctx.ExpandTerm(k) == attr {
				m = im
			}
		}
	}
	insts, err := ngsild.ParseAttr(name, m, ctx, ngsild.ParseOptions{})
	if err != nil {
		return nil, err
	}
	if len(insts) != 1 {
		return nil, problem.BadData("the body must hold exactly one attribute instance")
	}
	err = h.PatchInstance(c.r.Context(), c.tenant, id, attr, instance, insts[0])
	if err != nil {
		return nil, historyError(err, instanceMissing(h, c.tenant, id, attr, c.params["attrId"], instance))
	}
	return &response{status: http.StatusNoContent}, nil
}

// deleteTemporalInstance is Delete Attribute Instance from Temporal
// Evolution of an Entity (clause 5.6.15, 6.22.3.2).
func (a *API) deleteTemporalInstance(c *call) (*response, error) {
	h, err := c.history()
	if err != nil {
		return nil, err
	}
	id, attr, instance, err := c.instanceParams()
	if err != nil {
		return nil, err
	}
	if err := h.DeleteInstance(c.r.Context(), c.tenant, id, attr, instance); err != nil {
		return nil, historyError(err, instanceMissing(h, c.tenant, id, attr, c.params["attrId"], instance))
	}
	return &response{status: http.StatusNoContent}, nil
}

// instanceMissing says which of entity, attribute and instance is missing.
func instanceMissing(h *temporal.Store, tenant, id, attr, name, instance string) string {
	if _, ok := h.Entity(tenant, id); !ok {
		return "entity " + id + " has no temporal evolution"
	}
	if !h.HasAttr(tenant, id, attr) {
		return "entity " + id + " has no temporal evolution of attribute " + name
	}
	return "attribute " + name + " of entity " + id + " has no instance " + instance
}

// nullInstance recognises an instance whose value member holds the NGSI-LD
// Null (the representation of a deleted instance, clause 4.5.7), which the
// temporal evolution may carry (clause 5.5.4): it returns a copy with a
// placeholder the parser accepts in its place, and true; the caller puts
// the Null back after parsing. Other instances are returned as they are.
func nullInstance(it any) (any, bool) {
	m, ok := it.(map[string]any)
	if !ok {
		return it, false
	}
	isNull := func(v any) bool {
		switch x := v.(type) {
		case string:
			return x == ngsild.Null
		case []any:
			return len(x) == 1 && x[0] == ngsild.Null
		case map[string]any:
			return len(x) == 1 && x[ngsild.NoneDataset] == ngsild.Null
		}
		return false
	}
	for _, member := range nullMembers {
		v, ok := m[member]
		if !ok || !isNull(v) {
			continue
		}
		c := make(map[string]any, len(m))
		for k, x := range m {
			c[k] = x
		}
		var placeholder any
		switch member {
		case "object":
			placeholder = "urn:ngsi-ld:null-placeholder"
		case "objectList":
			placeholder = []any{"urn:ngsi-ld:null-placeholder"}
		case "languageMap":
			placeholder = map[string]any{ngsild.NoneDataset: "null"}
		case "valueList":
			placeholder = []any{"null"}
		case "value":
			placeholder = "null"
			if m["type"] == "GeoProperty" {
				placeholder = map[string]any{"type": "Point", "coordinates": []any{0.0, 0.0}}
			}
		default:
			placeholder = "null"
		}
		c[member] = placeholder
		return c, true
	}
	return it, false
}

// nullMembers are the value members that may hold the NGSI-LD Null.
var nullMembers = [...]string{"value", "object", "objectList", "languageMap", "valueList", "vocab", "json"}

// parseScopeInstances parses a scope given as its temporal evolution: an
// array of Property instances (or one) whose values are a scope or an
// array of scopes (clause 4.18). It returns nil for a scope in the
// entity's own form (a string or an array of strings).
func parseScopeInstances(v any) ([]*ngsild.Attr, error) {
	items, isArray := v.([]any)
	if !isArray {
		if _, ok := v.(map[string]any); !ok {
			return nil, nil
		}
		items = []any{v}
	}
	if len(items) == 0 {
		return nil, nil
	}
	if _, ok := items[0].(map[string]any); !ok {
		return nil, nil
	}
	out := make([]*ngsild.Attr, 0, len(items))
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, problem.BadData("scope: mix of scopes and scope instances")
		}
		for k := range m {
			switch k {
			case "type", "value", "observedAt":
			default:
				return nil, problem.BadData("scope: an instance holds type, value and observedAt, not %q", k)
			}
		}
		if t, ok := m["type"]; ok && t != "Property" {
			return nil, problem.BadData("scope: an instance is a Property, not %v", t)
		}
		var scopes []any
		switch x := m["value"].(type) {
		case string:
			scopes = []any{x}
		case []any:
			scopes = x
		default:
			return nil, problem.BadData("scope: the value of an instance is a scope or an array of scopes")
		}
		for _, sc := range scopes {
			str, ok := sc.(string)
			if !ok {
				return nil, problem.BadData("scope: %v is not a scope", sc)
			}
			if err := ngsild.ValidateScope(str); err != nil {
				return nil, err
			}
		}
		a := &ngsild.Attr{Type: ngsild.Property, Value: scopes}
		if raw, ok := m["observedAt"]; ok {
			str, _ := raw.(string)
			t, err := ngsild.ParseUTCDateTime(str)
			if err != nil {
				return nil, problem.BadData("scope: observedAt %v is not a DateTime", raw)
			}
			a.ObservedAt = t
		}
		out = append(out, a)
	}
	return out, nil
}
