package ngsild

// The pieces of the temporal representations (clauses 4.5.7, 4.5.9 and
// 4.5.19) that reuse the entity renderer: one attribute instance in the
// normalized or concise form, and one instance's value in the simplified
// temporal form (options=temporalValues).

// RenderInstance renders one attribute instance as it appears in the array
// of an attribute's instances in the temporal representation: always as an
// object (never collapsed to its bare value), in o.Format (normalized or
// concise), with sub-attributes, compacted names and, with o.SysAttrs,
// createdAt and modifiedAt; deletedAt whenever set.
func RenderInstance(a *Attr, o RenderOptions) Doc {
	r := newRenderer(&o)
	concise := o.Format == Concise
	if d, ok := r.full(a, concise, false).(Doc); ok {
		return d
	}
	return Doc{{"value", a.Value}}
}

// TemporalValuesKey returns the member that holds the instances of an
// attribute of kind k in the simplified temporal representation (clause
// 4.5.9): "values" for Properties and GeoProperties, "objects" for
// Relationships, "languageMaps", "vocabs", "jsons", "valueLists" and
// "objectLists" for the other kinds.
func TemporalValuesKey(k AttrType) string {
	switch k {
	case Relationship:
		return "objects"
	case LanguageProperty:
		return "languageMaps"
	case VocabProperty:
		return "vocabs"
	case JsonProperty:
		return "jsons"
	case ListProperty:
		return "valueLists"
	case ListRelationship:
		return "objectLists"
	}
	return "values"
}

// TemporalValue returns the value of one instance in the simplified
// temporal representation: the value of a Property or GeoProperty, the
// object of a Relationship, the bare ordered array of a ListProperty or
// ListRelationship (clause 4.5.9, its examples 3 and 7), and for the other
// kinds the one-member object naming their value member ({"languageMap":
// …}, {"vocab": …}, {"json": …}), as the simplified representation of
// clause 4.5.4 gives them. With o.Lang a LanguageProperty gives the string
// in the best language.
func TemporalValue(a *Attr, o RenderOptions) any {
	r := newRenderer(&o)
	return r.simplified(a)
}
