// Package ngsild holds the NGSI-LD information model (clause 4 of ETSI GS CIM 009):
// entities, attributes of every kind, their validation, their representations
// (normalized, concise, keyValues, GeoJSON) and the pure functions that apply an
// operation (create, merge, update, append, replace, delete) to an entity.
//
// Inside Qala every entity is held in expanded form: entity types, attribute names,
// relationship objectType and VocabProperty values are full IRIs. Compaction to
// the terms of a request's @context happens only when a representation is rendered.
package ngsild

import "time"

// Core IRIs of the NGSI-LD vocabulary used across Qala.
const (
	NS                  = "https://uri.etsi.org/ngsi-ld/"
	DefaultVocab        = "https://uri.etsi.org/ngsi-ld/default-context/"
	IRILocation         = NS + "location"
	IRIObservationSpace = NS + "observationSpace"
	IRIOperationSpace   = NS + "operationSpace"
	// Null is the NGSI-LD Null (clause 4.5.0 of v1.8): in merge and patch it removes
	// the attribute or sub-attribute it stands for.
	Null = "urn:ngsi-ld:null"
)

// AttrType is the kind of an attribute (clause 4.5).
type AttrType uint8

// The attribute kinds. The zero value is invalid.
const (
	Property AttrType = iota + 1
	Relationship
	GeoProperty
	LanguageProperty
	VocabProperty
	JsonProperty
	ListProperty
	ListRelationship
)

var attrTypeNames = [...]string{"", "Property", "Relationship", "GeoProperty", "LanguageProperty",
	"VocabProperty", "JsonProperty", "ListProperty", "ListRelationship"}

// String returns the compact term of the kind, e.g. "Property".
func (t AttrType) String() string {
	if int(t) < len(attrTypeNames) {
		return attrTypeNames[t]
	}
	return "AttrType(?)"
}

// ParseAttrType returns the kind named by a compact term or its expanded IRI,
// and false if s names no attribute kind.
func ParseAttrType(s string) (AttrType, bool) {
	if len(s) > len(NS) && s[:len(NS)] == NS {
		s = s[len(NS):]
	}
	for i := 1; i < len(attrTypeNames); i++ {
		if attrTypeNames[i] == s {
			return AttrType(i), true
		}
	}
	return 0, false
}

// Entity is the stored state of one NGSI-LD entity, in expanded form.
//
// An *Entity handed out by a store is immutable: code that wants to change an
// entity works on Clone() and writes the clone back through the store.
type Entity struct {
	ID    string   `json:"id"`
	Types []string `json:"type"` // expanded IRIs, at least one, no duplicates
	Scope []string `json:"scope,omitempty"`

	CreatedAt  time.Time `json:"createdAt"`
	ModifiedAt time.Time `json:"modifiedAt"`
	DeletedAt  time.Time `json:"deletedAt,omitzero"`

	// Attrs maps an expanded attribute name to its instances. At most one
	// instance has an empty DatasetID (the default instance); the others have
	// distinct DatasetIDs. A name maps to at least one instance.
	Attrs map[string][]*Attr `json:"attrs,omitempty"`
}

// Attr is one instance of an attribute (or a sub-attribute) in expanded form.
type Attr struct {
	Type AttrType `json:"t"`

	// Value holds the value of a Property (any JSON value, kept as decoded by
	// encoding/json: nil, bool, float64, string, []any, map[string]any), of a
	// GeoProperty (the GeoJSON geometry as map[string]any), of a JsonProperty
	// (any JSON, never interpreted), of a VocabProperty (expanded IRI string or
	// []any of them) and of a ListProperty ([]any).
	Value any `json:"v,omitempty"`
	// LanguageMap holds the value of a LanguageProperty: language tag to
	// string or []any of strings.
	LanguageMap map[string]any `json:"lm,omitempty"`
	// Object holds the target of a Relationship (string, or []any of strings)
	// and of a ListRelationship ([]any of strings).
	Object any `json:"o,omitempty"`
	// ObjectType is the expanded type (string or []any) of a relationship's target.
	ObjectType any `json:"ot,omitempty"`

	DatasetID  string    `json:"ds,omitempty"`
	ObservedAt time.Time `json:"oa,omitzero"`
	UnitCode   string    `json:"uc,omitempty"`
	CreatedAt  time.Time `json:"ca,omitzero"`
	ModifiedAt time.Time `json:"ma,omitzero"`
	DeletedAt  time.Time `json:"da,omitzero"`

	// Sub holds the sub-attributes (properties and relationships of this
	// attribute), by expanded name. Sub-attributes may themselves have Sub.
	Sub map[string]*Attr `json:"s,omitempty"`

	// IsNull marks an attribute given as the NGSI-LD Null in a merge or patch
	// fragment: applying the fragment removes the attribute. Never stored.
	IsNull bool `json:"-"`
}

// Clone returns a deep copy of e that shares nothing mutable with e.
func (e *Entity) Clone() *Entity {
	if e == nil {
		return nil
	}
	c := *e
	c.Types = append([]string(nil), e.Types...)
	c.Scope = append([]string(nil), e.Scope...)
	if e.Scope == nil {
		c.Scope = nil
	}
	if e.Attrs != nil {
		c.Attrs = make(map[string][]*Attr, len(e.Attrs))
		for k, insts := range e.Attrs {
			cp := make([]*Attr, len(insts))
			for i, a := range insts {
				cp[i] = a.Clone()
			}
			c.Attrs[k] = cp
		}
	}
	return &c
}

// Clone returns a deep copy of a.
func (a *Attr) Clone() *Attr {
	if a == nil {
		return nil
	}
	c := *a
	c.Value = cloneJSON(a.Value)
	c.Object = cloneJSON(a.Object)
	c.ObjectType = cloneJSON(a.ObjectType)
	if a.LanguageMap != nil {
		c.LanguageMap = make(map[string]any, len(a.LanguageMap))
		for k, v := range a.LanguageMap {
			c.LanguageMap[k] = cloneJSON(v)
		}
	}
	if a.Sub != nil {
		c.Sub = make(map[string]*Attr, len(a.Sub))
		for k, s := range a.Sub {
			c.Sub[k] = s.Clone()
		}
	}
	return &c
}

func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = cloneJSON(e)
		}
		return s
	default:
		return v
	}
}

// Instance returns the instance of attribute name with the given datasetId
// ("" for the default instance), or nil.
func (e *Entity) Instance(name, datasetID string) *Attr {
	for _, a := range e.Attrs[name] {
		if a.DatasetID == datasetID {
			return a
		}
	}
	return nil
}

// HasType reports whether e has the expanded type t.
func (e *Entity) HasType(t string) bool {
	for _, x := range e.Types {
		if x == t {
			return true
		}
	}
	return false
}

// TimeFormat is how Qala renders every DateTime (UTC, millisecond precision).
const TimeFormat = "2006-01-02T15:04:05.000Z"

// FormatTime renders t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }
