package api

import (
	"encoding/hex"
	"hash/fnv"
	"slices"
	"sort"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/store"
)

// The discovery data types of clause 5.2.24 to 5.2.29. Struct fields keep the
// spec's member order; "@context" is set for application/ld+json only.

// entityTypeList is EntityTypeList (clause 5.2.24).
type entityTypeList struct {
	Context  any      `json:"@context,omitempty"`
	ID       string   `json:"id"`
	Type     string   `json:"type"`
	TypeList []string `json:"typeList"`
}

// entityType is EntityType (clause 5.2.25), an element of /types?details=true.
type entityType struct {
	Context        any      `json:"@context,omitempty"`
	ID             string   `json:"id"`
	Type           string   `json:"type"`
	TypeName       string   `json:"typeName"`
	AttributeNames []string `json:"attributeNames"`
}

// entityTypeInfo is EntityTypeInfo (clause 5.2.26).
type entityTypeInfo struct {
	Context          any         `json:"@context,omitempty"`
	ID               string      `json:"id"`
	Type             string      `json:"type"`
	TypeName         string      `json:"typeName"`
	EntityCount      int         `json:"entityCount"`
	AttributeDetails []attribute `json:"attributeDetails"`
}

// attributeList is AttributeList (clause 5.2.27).
type attributeList struct {
	Context       any      `json:"@context,omitempty"`
	ID            string   `json:"id"`
	Type          string   `json:"type"`
	AttributeList []string `json:"attributeList"`
}

// attribute is Attribute (clause 5.2.28). Its optional members are filled as
// each operation gives them: attributeTypes in EntityTypeInfo, typeNames in
// /attributes?details=true, all of them in /attributes/{attrId}.
type attribute struct {
	Context        any      `json:"@context,omitempty"`
	ID             string   `json:"id"`
	Type           string   `json:"type"`
	AttributeName  string   `json:"attributeName"`
	AttributeCount *int     `json:"attributeCount,omitempty"`
	AttributeTypes []string `json:"attributeTypes,omitempty"`
	TypeNames      []string `json:"typeNames,omitempty"`
}

// discovery holds what the four discovery operations share: the negotiated
// media type, the request's @context, and the details flag.
type discovery struct {
	mt      string
	ctx     *jsonld.Context
	details bool
}

// startDiscovery reads the parameters of the discovery operations (clause
// 6.25 to 6.28): Accept (no GeoJSON), Link, details, local, and the tenant.
func (c *call) startDiscovery() (discovery, error) {
	var d discovery
	var err error
	if d.mt, err = c.accept(false); err != nil {
		return d, err
	}
	if d.ctx, err = c.linkContext(); err != nil {
		return d, err
	}
	if d.details, err = boolParam(c, "details"); err != nil {
		return d, err
	}
	// local=true asks not to ask registered context sources; Qala has none.
	if _, err = boolParam(c, "local"); err != nil {
		return d, err
	}
	return d, c.readTenant()
}

// ldContext is the "@context" member of a response body: set for
// application/ld+json only.
func (d discovery) ldContext() any {
	if d.mt == mtLD {
		return contextValue(d.ctx)
	}
	return nil
}

func (d discovery) respond(body any) *response {
	return withContext(&response{body: body}, d.mt, d.ctx)
}

// listID is the id of an EntityTypeList or AttributeList: a URN derived from
// its content, so that the same list keeps the same id.
func listID(kind string, items []string) string {
	h := fnv.New64a()
	for _, s := range items {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "urn:ngsi-ld:" + kind + ":" + hex.EncodeToString(h.Sum(nil))
}

// compactSorted compacts each name with fn and sorts the result.
func compactSorted(names []string, fn func(string) string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fn(n)
	}
	sort.Strings(out)
	return out
}

func kindNames(a store.AttrStat) []string {
	out := make([]string, 0, len(a.Kinds))
	for _, k := range a.Kinds {
		out = append(out, k.String())
	}
	return out
}

// retrieveTypes is Retrieve Available Entity Types (clause 5.7.5, 6.25.3.1)
// and, with details=true, Retrieve Details of Available Entity Types (clause
// 5.7.6).
func (a *API) retrieveTypes(c *call) (*response, error) {
	d, err := c.startDiscovery()
	if err != nil {
		return nil, err
	}
	stats, err := a.store.Types(c.r.Context(), c.tenant)
	if err != nil {
		return nil, err
	}
	if !d.details {
		names := make([]string, len(stats))
		for i, ts := range stats {
			names[i] = ts.Type
		}
		list := compactSorted(names, d.ctx.CompactType)
		return d.respond(entityTypeList{Context: d.ldContext(), ID: listID("EntityTypeList", names),
			Type: "EntityTypeList", TypeList: list}), nil
	}
	out := make([]entityType, len(stats))
	for i, ts := range stats {
		attrs := make([]string, len(ts.Attrs))
		for j, at := range ts.Attrs {
			attrs[j] = at.Name
		}
		out[i] = entityType{Context: d.ldContext(), ID: ts.Type, Type: "EntityType",
			TypeName: d.ctx.CompactType(ts.Type), AttributeNames: compactSorted(attrs, d.ctx.CompactIRI)}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].TypeName < out[j].TypeName })
	return d.respond(out), nil
}

// retrieveType is Retrieve Available Entity Type Information (clause 5.7.7,
// 6.26.3.1): {type} is a term of the request's @context or an IRI.
func (a *API) retrieveType(c *call) (*response, error) {
	raw := c.params["type"]
	if !validName(raw) {
		return nil, problem.BadData("entity type %q is not a valid type name", raw)
	}
	d, err := c.startDiscovery()
	if err != nil {
		return nil, err
	}
	typ := d.ctx.ExpandTerm(raw)
	stats, err := a.store.Types(c.r.Context(), c.tenant)
	if err != nil {
		return nil, err
	}
	i, ok := slices.BinarySearchFunc(stats, typ, func(ts store.TypeStat, t string) int {
		switch {
		case ts.Type < t:
			return -1
		case ts.Type > t:
			return 1
		}
		return 0
	})
	if !ok {
		return nil, problem.NotFound("no entity of type %q (%s) exists", raw, typ)
	}
	ts := stats[i]
	info := entityTypeInfo{Context: d.ldContext(), ID: ts.Type, Type: "EntityTypeInfo",
		TypeName: d.ctx.CompactType(ts.Type), EntityCount: ts.Entities, AttributeDetails: make([]attribute, len(ts.Attrs))}
	for j, at := range ts.Attrs {
		info.AttributeDetails[j] = attribute{ID: at.Name, Type: "Attribute", AttributeName: d.ctx.CompactIRI(at.Name),
			AttributeTypes: kindNames(at)}
	}
	sort.SliceStable(info.AttributeDetails, func(i, j int) bool {
		return info.AttributeDetails[i].AttributeName < info.AttributeDetails[j].AttributeName
	})
	return d.respond(info), nil
}

// retrieveAttributes is Retrieve Available Attributes (clause 5.7.8,
// 6.27.3.1) and, with details=true, Retrieve Details of Available Attributes
// (clause 5.7.9). The details carry id, type, attributeName and typeNames,
// as the ETSI conformance expectations (026_01) show; attributeCount and
// attributeTypes are given by /attributes/{attrId}.
func (a *API) retrieveAttributes(c *call) (*response, error) {
	d, err := c.startDiscovery()
	if err != nil {
		return nil, err
	}
	stats, err := a.store.Attributes(c.r.Context(), c.tenant)
	if err != nil {
		return nil, err
	}
	if !d.details {
		names := make([]string, len(stats))
		for i, at := range stats {
			names[i] = at.Name
		}
		list := compactSorted(names, d.ctx.CompactIRI)
		return d.respond(attributeList{Context: d.ldContext(), ID: listID("AttributeList", names),
			Type: "AttributeList", AttributeList: list}), nil
	}
	out := make([]attribute, len(stats))
	for i, at := range stats {
		out[i] = attribute{Context: d.ldContext(), ID: at.Name, Type: "Attribute",
			AttributeName: d.ctx.CompactIRI(at.Name), TypeNames: compactSorted(at.Types, d.ctx.CompactType)}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].AttributeName < out[j].AttributeName })
	return d.respond(out), nil
}

// retrieveAttribute is Retrieve Available Attribute Information (clause
// 5.7.10, 6.28.3.1): {attrId} is a term of the request's @context or an IRI.
// attributeCount counts attribute instances (one per datasetId).
func (a *API) retrieveAttribute(c *call) (*response, error) {
	raw := c.params["attrId"]
	if !validName(raw) {
		return nil, problem.BadData("attribute name %q is not valid", raw)
	}
	d, err := c.startDiscovery()
	if err != nil {
		return nil, err
	}
	name := d.ctx.ExpandTerm(raw)
	stats, err := a.store.Attributes(c.r.Context(), c.tenant)
	if err != nil {
		return nil, err
	}
	for _, at := range stats {
		if at.Name != name {
			continue
		}
		n := at.Instances
		return d.respond(attribute{Context: d.ldContext(), ID: at.Name, Type: "Attribute",
			AttributeName: d.ctx.CompactIRI(at.Name), AttributeCount: &n, AttributeTypes: kindNames(at),
			TypeNames: compactSorted(at.Types, d.ctx.CompactType)}), nil
	}
	return nil, problem.NotFound("no entity has an attribute %q (%s)", raw, name)
}
