package ngsild

import (
	"slices"
	"strings"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/problem"
)

// ParseOptions says how a request body is to be read.
type ParseOptions struct {
	// AllowNull accepts the NGSI-LD Null ("urn:ngsi-ld:null", clause 4.5.0)
	// and JSON null as the value of an attribute or sub-attribute, as merge
	// and patch operations do: the result has IsNull set (and, for a
	// sub-attribute, an IsNull entry in Sub). Without it both are refused.
	AllowNull bool
	// KeyValues reads the body in the simplified (keyValues) representation
	// (clause 4.5.3): every member is an attribute whose JSON value is the
	// value itself, a Property, or a GeoProperty when the value is a GeoJSON
	// geometry. Callers that must keep the kind of a pre-existing attribute
	// (clause 5.6.2 and following) do so when applying the fragment.
	KeyValues bool
	// Partial reads the body of a partial attribute update (clause 5.6.4):
	// the value member may be missing, and an object with none of the value
	// members (value, object, languageMap, vocab, json, valueList,
	// objectList) and no "type" is a fragment of metadata and sub-attributes
	// whose Attr.Type is 0 ("keep the kind the attribute already has").
	Partial bool
}

// maxAttrDepth bounds how deeply sub-attributes may nest; deeper input is
// refused rather than risking the stack.
const maxAttrDepth = 64

// Members of an entity body that are not attributes.
const (
	memberID         = "id"
	memberType       = "type"
	memberScope      = "scope"
	memberContext    = "@context"
	memberCreatedAt  = "createdAt"
	memberModifiedAt = "modifiedAt"
	memberDeletedAt  = "deletedAt"
)

// ParseEntity parses a whole entity body (create, replace, batch create and
// upsert; clause 5.6.1) in normalized or concise representation, or in
// keyValues when opt.KeyValues is set, and returns it in expanded form.
//
// The contract:
//   - "@context" is ignored: c is the context the caller resolved for it.
//   - "id" is required and must be an absolute URI; "type" is required, a
//     name or a non-empty array of names, expanded with c.ExpandTerm, with
//     duplicates (after expansion) removed.
//   - "scope" is optional: a scope string or an array of them.
//   - "createdAt", "modifiedAt" and "deletedAt" are system-generated and
//     ignored on input.
//   - Every other member is an attribute, named by its expansion with
//     c.ExpandTerm and parsed as ParseAttr describes. Two members expanding
//     to the same IRI are merged into one attribute.
//
// Errors are *problem.Error of type BadRequestData whose detail names the
// offending member. The entity shares JSON values with doc, which the caller
// must not modify afterwards. CreatedAt and ModifiedAt are left zero.
func ParseEntity(doc map[string]any, c *jsonld.Context, opt ParseOptions) (*Entity, error) {
	return parseBody(doc, c, opt, true)
}

// ParseFragment parses an entity fragment: the body of append, update and
// merge of attributes (clauses 5.6.3, 5.6.17), batch update and batch merge.
// It follows ParseEntity except that "id" and "type" are optional (when
// present they are validated and returned in the Entity), and that with
// opt.AllowNull a "scope" given as the NGSI-LD Null (or JSON null) yields
// Entity.Scope == []string{Null}, meaning "remove the scope" to the
// operations of ops.go.
func ParseFragment(doc map[string]any, c *jsonld.Context, opt ParseOptions) (*Entity, error) {
	return parseBody(doc, c, opt, false)
}

// ParseAttr parses one attribute as given in a body under the (unexpanded)
// name: a single instance (an object in normalized or concise form, or a
// bare value in concise form) or an array of instances of a multi-attribute
// told apart by datasetId. It also parses the body of the attribute update
// and replace operations (clauses 5.6.4, 5.6.19), where a "@context" member
// is ignored.
//
// Instances are returned in input order; at most one has no datasetId and no
// two share a datasetId. name itself must be a valid attribute name and not
// a reserved one (id, type, scope, @context, createdAt, ...). The attribute
// names location, observationSpace and operationSpace must be GeoProperties.
func ParseAttr(name string, v any, c *jsonld.Context, opt ParseOptions) ([]*Attr, error) {
	if err := parseCheckAttrName(name); err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok {
		if _, ok := m[memberContext]; ok {
			// The body's own @context, resolved by the caller, is not
			// part of the value.
			cp := make(map[string]any, len(m))
			for k, x := range m {
				if k != memberContext {
					cp[k] = x
				}
			}
			v = cp
		}
	}
	p := &bodyParser{c: c, opt: opt}
	return p.attribute(name, c.ExpandTerm(name), v)
}

// bodyParser holds what every step of parsing one request body needs.
type bodyParser struct {
	c   *jsonld.Context
	opt ParseOptions
}

func parseBody(doc map[string]any, c *jsonld.Context, opt ParseOptions, whole bool) (*Entity, error) {
	if doc == nil {
		return nil, problem.BadData("the body must be a JSON object")
	}
	p := &bodyParser{c: c, opt: opt}
	e := &Entity{}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	// Sorted so that the first error reported does not depend on map order.
	slices.Sort(keys)
	for _, k := range keys {
		v := doc[k]
		var err error
		switch k {
		case memberContext, memberCreatedAt, memberModifiedAt, memberDeletedAt:
		case memberID:
			err = p.entityID(e, v)
		case memberType:
			err = p.entityTypes(e, v)
		case memberScope:
			err = p.entityScope(e, v)
		default:
			err = p.entityAttr(e, k, v)
		}
		if err != nil {
			return nil, err
		}
	}
	if whole && e.ID == "" {
		return nil, problem.BadData("entity id is missing")
	}
	if whole && len(e.Types) == 0 {
		return nil, problem.BadData("entity type is missing")
	}
	return e, nil
}

func (p *bodyParser) entityID(e *Entity, v any) error {
	s, ok := v.(string)
	if !ok {
		return problem.BadData("entity id must be a string URI, got %s", parseKind(v))
	}
	if err := ValidateURI("entity id", s); err != nil {
		return err
	}
	e.ID = s
	return nil
}

func (p *bodyParser) entityTypes(e *Entity, v any) error {
	var names []any
	switch x := v.(type) {
	case string:
		names = []any{x}
	case []any:
		if len(x) == 0 {
			return problem.BadData("entity type must not be an empty array")
		}
		names = x
	default:
		return problem.BadData("entity type must be a string or an array of strings, got %s", parseKind(v))
	}
	types := make([]string, 0, len(names))
	for _, n := range names {
		s, ok := n.(string)
		if !ok {
			return problem.BadData("entity type must be a string or an array of strings, got an array holding %s", parseKind(n))
		}
		if err := ValidateName("entity type", s); err != nil {
			return err
		}
		t := p.c.ExpandTerm(s)
		if strings.HasPrefix(t, "@") {
			return problem.BadData("entity type %q expands to the JSON-LD keyword %s", s, t)
		}
		if !parseContains(types, t) {
			types = append(types, t)
		}
	}
	e.Types = types
	return nil
}

func (p *bodyParser) entityScope(e *Entity, v any) error {
	if p.opt.AllowNull && (v == nil || v == Null) {
		e.Scope = []string{Null}
		return nil
	}
	var items []any
	switch x := v.(type) {
	case string:
		items = []any{x}
	case []any:
		if len(x) == 0 {
			return problem.BadData("scope must not be an empty array")
		}
		items = x
	default:
		return problem.BadData("scope must be a string or an array of strings, got %s", parseKind(v))
	}
	scopes := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return problem.BadData("scope must be a string or an array of strings, got an array holding %s", parseKind(it))
		}
		if err := ValidateScope(s); err != nil {
			return err
		}
		if !parseContains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	e.Scope = scopes
	return nil
}

func (p *bodyParser) entityAttr(e *Entity, name string, v any) error {
	if err := parseCheckAttrName(name); err != nil {
		return err
	}
	iri := p.c.ExpandTerm(name)
	insts, err := p.attribute(name, iri, v)
	if err != nil {
		return err
	}
	if e.Attrs == nil {
		e.Attrs = make(map[string][]*Attr)
	}
	if prev, ok := e.Attrs[iri]; ok {
		insts = append(prev, insts...)
		if err := parseCheckDatasets(name, insts); err != nil {
			return err
		}
	}
	e.Attrs[iri] = insts
	return nil
}

// parseReservedAttrNames are names that can never be attribute names,
// compact or expanded against the core context.
var parseReservedAttrNames = map[string]bool{
	memberID: true, memberType: true, memberScope: true, memberContext: true,
	memberCreatedAt: true, memberModifiedAt: true, memberDeletedAt: true,
	NS + memberScope: true, NS + memberCreatedAt: true, NS + memberModifiedAt: true,
	NS + memberDeletedAt: true, "@id": true, "@type": true,
}

func parseCheckAttrName(name string) error {
	if parseReservedAttrNames[name] {
		return problem.BadData("%q is reserved and cannot be used as an attribute name", name)
	}
	if len(name) > 0 && name[0] == '@' {
		return problem.BadData("attribute name %q: JSON-LD keywords cannot be attribute names", name)
	}
	return ValidateName("attribute name", name)
}

// parseCheckDatasets enforces that instances of one attribute have distinct
// datasetIds, with at most one default instance (clause 4.5.5).
func parseCheckDatasets(name string, insts []*Attr) error {
	for i, a := range insts {
		for _, b := range insts[:i] {
			if a.DatasetID != b.DatasetID {
				continue
			}
			if a.DatasetID == "" {
				return problem.BadData("attribute %q: two default instances (instances without datasetId)", name)
			}
			return problem.BadData("attribute %q: two instances with datasetId %q", name, a.DatasetID)
		}
	}
	return nil
}

func parseContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func parseKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "a number"
}
