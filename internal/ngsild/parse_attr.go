package ngsild

import (
	"slices"

	"github.com/qala-city/qala/internal/geo"
	"github.com/qala-city/qala/internal/problem"
)

// The members of an attribute object that are not sub-attributes.
const (
	memberValue       = "value"
	memberObject      = "object"
	memberLanguageMap = "languageMap"
	memberVocab       = "vocab"
	memberJSON        = "json"
	memberValueList   = "valueList"
	memberObjectList  = "objectList"
	memberObjectType  = "objectType"
	memberDatasetID   = "datasetId"
	memberObservedAt  = "observedAt"
	memberUnitCode    = "unitCode"
	memberInstanceID  = "instanceId"
)

// parseValueKind returns the kind a value member implies in the concise
// representation (clause 4.5.x, "Concise representation"), and false if k is
// not a value member.
func parseValueKind(k string) (AttrType, bool) {
	switch k {
	case memberValue:
		return Property, true
	case memberObject:
		return Relationship, true
	case memberLanguageMap:
		return LanguageProperty, true
	case memberVocab:
		return VocabProperty, true
	case memberJSON:
		return JsonProperty, true
	case memberValueList:
		return ListProperty, true
	case memberObjectList:
		return ListRelationship, true
	}
	return 0, false
}

// parseValueMemberOf is the value member each kind must carry.
var parseValueMemberOf = [...]string{
	Property:         memberValue,
	GeoProperty:      memberValue,
	Relationship:     memberObject,
	LanguageProperty: memberLanguageMap,
	VocabProperty:    memberVocab,
	JsonProperty:     memberJSON,
	ListProperty:     memberValueList,
	ListRelationship: memberObjectList,
}

// parseIgnored reports whether k is a member of an attribute accepted and
// dropped on input: system-generated ones, and those only found in
// notifications.
func parseIgnored(k string) bool {
	switch k {
	case memberCreatedAt, memberModifiedAt, memberDeletedAt, memberInstanceID, memberContext,
		"previousValue", "previousObject", "previousLanguageMap", "previousVocab",
		"previousJson", "previousValueList", "previousObjectList":
		return true
	}
	return false
}

// parseGeoNames are the attributes the core context defines as GeoProperties.
var parseGeoNames = map[string]bool{
	IRILocation: true, IRIObservationSpace: true, IRIOperationSpace: true,
	"location": true, "observationSpace": true, "operationSpace": true,
}

// attribute parses the value of the attribute called name (as given) whose
// expanded name is iri.
func (p *bodyParser) attribute(name, iri string, v any) ([]*Attr, error) {
	var insts []*Attr
	if arr, ok := v.([]any); ok && !p.opt.KeyValues {
		multi, err := p.isMultiInstance(name, arr)
		if err != nil {
			return nil, err
		}
		if multi {
			insts = make([]*Attr, len(arr))
			for i, e := range arr {
				if insts[i], err = p.instance(name, e, 1); err != nil {
					return nil, err
				}
			}
			if err := parseCheckDatasets(name, insts); err != nil {
				return nil, err
			}
		}
	}
	if insts == nil {
		a, err := p.instance(name, v, 1)
		if err != nil {
			return nil, err
		}
		insts = []*Attr{a}
	}
	if parseGeoNames[iri] || parseGeoNames[name] {
		for _, a := range insts {
			// Smart Data Models examples declare location as a Property
			// holding GeoJSON; read that as the GeoProperty it must be.
			if a.Type == Property && geo.IsGeoJSON(a.Value) {
				if _, err := p.geoValue(name, a, a.Value); err != nil {
					return nil, err
				}
				a.Type = GeoProperty
			}
			if !a.IsNull && a.Type != 0 && a.Type != GeoProperty {
				return nil, problem.BadData("attribute %q: must be a GeoProperty, got a %s", name, a.Type)
			}
		}
	}
	return insts, nil
}

// isMultiInstance tells an array of attribute instances (a multi-attribute)
// from an array that is the value of a Property in concise form: it is the
// former when every element is an object that carries a "type" naming an
// attribute kind or one of the value members. A mix of both is refused as
// ambiguous.
func (p *bodyParser) isMultiInstance(name string, arr []any) (bool, error) {
	n := 0
	for _, e := range arr {
		if p.looksLikeInstance(e) {
			n++
		}
	}
	if n > 0 && n < len(arr) {
		return false, problem.BadData("attribute %q: array mixes attribute instances and plain values; "+
			"give a Property whose value is an array as {\"value\": [...]}", name)
	}
	return n > 0, nil
}

func (p *bodyParser) looksLikeInstance(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	if s, ok := m[memberType].(string); ok {
		if _, ok := p.attrType(s); ok {
			return true
		}
	}
	for k := range m {
		if _, ok := parseValueKind(k); ok {
			return true
		}
	}
	return false
}

// attrType returns the kind named by s, a compact term or an IRI.
func (p *bodyParser) attrType(s string) (AttrType, bool) {
	if t, ok := ParseAttrType(s); ok {
		return t, true
	}
	// The v1.8 annex spells VocabProperty as VocabularyProperty.
	if s == "VocabularyProperty" || s == NS+"VocabularyProperty" {
		return VocabProperty, true
	}
	if t, ok := ParseAttrType(p.c.ExpandTerm(s)); ok {
		return t, true
	}
	return 0, false
}

// instance parses one attribute instance (or sub-attribute) at the given
// nesting depth.
func (p *bodyParser) instance(name string, v any, depth int) (*Attr, error) {
	if depth > maxAttrDepth {
		return nil, problem.BadData("attribute %q: sub-attributes nest deeper than %d levels", name, maxAttrDepth)
	}
	if p.opt.KeyValues && depth == 1 {
		return p.keyValue(name, v)
	}
	switch x := v.(type) {
	case nil:
		return p.null(name, 0, "")
	case map[string]any:
		return p.object(name, x, depth)
	case string:
		if x == Null {
			return p.null(name, 0, "")
		}
	case []any:
		if err := parseCheckList(name, memberValue, x); err != nil {
			return nil, err
		}
	}
	// Concise: a bare value is a Property without sub-attributes.
	return &Attr{Type: Property, Value: v}, nil
}

// keyValue reads one member of a body in keyValues representation.
func (p *bodyParser) keyValue(name string, v any) (*Attr, error) {
	if v == nil || v == Null {
		return p.null(name, 0, "")
	}
	if geo.IsGeoJSON(v) {
		if _, err := geo.ParseGeometry(v); err != nil {
			return nil, problem.BadData("attribute %q: invalid GeoJSON geometry: %v", name, err)
		}
		return &Attr{Type: GeoProperty, Value: v}, nil
	}
	if err := parseCheckList(name, memberValue, v); err != nil {
		return nil, err
	}
	return &Attr{Type: Property, Value: v}, nil
}

// null returns the instance standing for the NGSI-LD Null, or the error
// refusing it.
func (p *bodyParser) null(name string, t AttrType, datasetID string) (*Attr, error) {
	if !p.opt.AllowNull {
		return nil, problem.BadData("attribute %q: null and %q are only allowed in merge and patch operations", name, Null)
	}
	return &Attr{Type: t, IsNull: true, DatasetID: datasetID}, nil
}

// object parses an attribute given as a JSON object: normalized (with
// "type"), concise (kind implied by its value member), a bare GeoJSON
// geometry (a GeoProperty), or a bare object value (a Property).
func (p *bodyParser) object(name string, m map[string]any, depth int) (*Attr, error) {
	// One pass: find the value member, and collect the metadata and
	// sub-attribute members, sorted so that errors are deterministic.
	var buf [16]string
	keys := buf[:0]
	valueKey := ""
	for k := range m {
		if _, ok := parseValueKind(k); ok {
			if valueKey != "" {
				a, b := min(valueKey, k), max(valueKey, k)
				return nil, problem.BadData("attribute %q: has both %q and %q", name, a, b)
			}
			valueKey = k
			continue
		}
		if k != memberType && !parseIgnored(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var t AttrType
	if tv, has := m[memberType]; has {
		s, isStr := tv.(string)
		known := false
		if isStr {
			t, known = p.attrType(s)
		}
		switch {
		case known:
		case valueKey == "" && geo.IsGeoJSON(m):
			return p.geoValue(name, &Attr{Type: GeoProperty}, m)
		case valueKey == "" && isStr && !p.opt.Partial:
			// Concise: an object value whose own "type" is not an
			// attribute kind (e.g. a PostalAddress).
			return &Attr{Type: Property, Value: m}, nil
		case !isStr:
			return nil, problem.BadData("attribute %q: type must be a string, got %s", name, parseKind(tv))
		default:
			return nil, problem.BadData("attribute %q: unknown attribute type %q", name, s)
		}
	} else if valueKey != "" {
		t, _ = parseValueKind(valueKey)
		if t == Property && geo.IsGeoJSON(m[valueKey]) {
			t = GeoProperty
		}
	} else if !p.opt.Partial {
		// Concise: an object that is neither normalized nor carries a
		// value member is the value of a Property without sub-attributes,
		// unless it holds attribute metadata, which betrays a forgotten
		// value member.
		for _, k := range [...]string{memberDatasetID, memberObservedAt, memberObjectType, memberUnitCode} {
			if _, ok := m[k]; ok {
				return nil, problem.BadData("attribute %q: has %s but no value member (value, object, languageMap, ...)", name, k)
			}
		}
		return &Attr{Type: Property, Value: m}, nil
	}

	if valueKey != "" && t != 0 && valueKey != parseValueMemberOf[t] {
		return nil, problem.BadData("attribute %q: a %s cannot have %q", name, t, valueKey)
	}
	a := &Attr{Type: t}
	if err := p.members(name, a, m, keys, depth); err != nil {
		return nil, err
	}
	if t == 0 || a.IsNull {
		return a, nil
	}
	want := parseValueMemberOf[t]
	raw, ok := m[want]
	if !ok {
		if p.opt.Partial {
			return a, nil
		}
		return nil, problem.BadData("attribute %q: %s has no %s", name, t, want)
	}
	return p.mainValue(name, a, raw)
}

// members parses the members keys of m: metadata and sub-attributes.
func (p *bodyParser) members(name string, a *Attr, m map[string]any, keys []string, depth int) error {
	for _, k := range keys {
		v := m[k]
		var err error
		switch k {
		case memberObjectType:
			err = p.objectType(name, a, v)
		case memberDatasetID:
			s, ok := v.(string)
			if !ok {
				return problem.BadData("attribute %q: datasetId must be a string URI, got %s", name, parseKind(v))
			}
			err = ValidateURI("attribute \""+name+"\": datasetId", s)
			a.DatasetID = s
		case memberObservedAt:
			s, ok := v.(string)
			if !ok {
				return problem.BadData("attribute %q: observedAt must be a DateTime string, got %s", name, parseKind(v))
			}
			t, perr := ParseUTCDateTime(s)
			if perr != nil {
				return problem.BadData("attribute %q: observedAt: %v", name, perr)
			}
			a.ObservedAt = t
		case memberUnitCode:
			s, ok := v.(string)
			if !ok || s == "" {
				return problem.BadData("attribute %q: unitCode must be a non-empty string, got %s", name, parseKind(v))
			}
			a.UnitCode = s
		default:
			err = p.subAttr(name, a, k, v, depth)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *bodyParser) objectType(name string, a *Attr, v any) error {
	if a.Type != Relationship && a.Type != ListRelationship && a.Type != 0 {
		return problem.BadData("attribute %q: a %s cannot have objectType", name, a.Type)
	}
	switch x := v.(type) {
	case string:
		if err := ValidateName("attribute \""+name+"\": objectType", x); err != nil {
			return err
		}
		a.ObjectType = p.c.ExpandTerm(x)
		return nil
	case []any:
		if len(x) == 0 {
			return problem.BadData("attribute %q: objectType must not be an empty array", name)
		}
		out := make([]any, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return problem.BadData("attribute %q: objectType must hold strings, got %s", name, parseKind(e))
			}
			if err := ValidateName("attribute \""+name+"\": objectType", s); err != nil {
				return err
			}
			out[i] = p.c.ExpandTerm(s)
		}
		a.ObjectType = out
		return nil
	}
	return problem.BadData("attribute %q: objectType must be a string or an array of strings, got %s", name, parseKind(v))
}

func (p *bodyParser) subAttr(name string, a *Attr, k string, v any, depth int) error {
	if len(k) > 0 && k[0] == '@' {
		return problem.BadData("attribute %q: JSON-LD keyword %q cannot be a sub-attribute", name, k)
	}
	if err := ValidateName("attribute \""+name+"\": sub-attribute name", k); err != nil {
		return err
	}
	full := name + "." + k
	if _, ok := v.([]any); ok {
		if arr := v.([]any); len(arr) > 0 && p.looksLikeInstance(arr[0]) {
			return problem.BadData("attribute %q: a sub-attribute cannot have several instances", full)
		}
	}
	sub, err := p.instance(full, v, depth+1)
	if err != nil {
		return err
	}
	iri := p.c.ExpandTerm(k)
	if a.Sub == nil {
		a.Sub = make(map[string]*Attr)
	}
	if _, dup := a.Sub[iri]; dup {
		return problem.BadData("attribute %q: two sub-attributes expand to %q", name, iri)
	}
	a.Sub[iri] = sub
	return nil
}

// mainValue parses the value member raw of an attribute of kind a.Type.
func (p *bodyParser) mainValue(name string, a *Attr, raw any) (*Attr, error) {
	member := parseValueMemberOf[a.Type]
	if raw == nil {
		// JSON null is never a value: the NGSI-LD Null is "urn:ngsi-ld:null"
		// (clause 4.5.0; ETSI TP 057_03_02 expects BadRequestData).
		return nil, problem.BadData("attribute %q: %s is JSON null; to remove an attribute send \"urn:ngsi-ld:null\"", name, member)
	}
	isNull := raw == Null
	switch a.Type {
	case ListProperty, ListRelationship, VocabProperty:
		isNull = isNull || parseIsNullList(raw)
	case LanguageProperty:
		isNull = isNull || parseIsNullLangMap(raw)
	}
	if isNull {
		n, err := p.null(name, a.Type, a.DatasetID)
		if err != nil {
			return nil, err
		}
		return n, nil
	}
	switch a.Type {
	case Property:
		if err := parseCheckList(name, member, raw); err != nil {
			return nil, err
		}
		a.Value = raw
	case GeoProperty:
		return p.geoValue(name, a, raw)
	case Relationship:
		obj, err := parseObjects(name, member, raw, false)
		if err != nil {
			return nil, err
		}
		a.Object = obj
	case ListRelationship:
		obj, err := parseObjects(name, member, raw, true)
		if err != nil {
			return nil, err
		}
		a.Object = obj
	case LanguageProperty:
		lm, err := parseLanguageMap(name, raw)
		if err != nil {
			return nil, err
		}
		a.LanguageMap = lm
	case VocabProperty:
		v, err := p.vocab(name, raw)
		if err != nil {
			return nil, err
		}
		a.Value = v
	case JsonProperty:
		a.Value = raw
	case ListProperty:
		arr, ok := raw.([]any)
		if !ok {
			return nil, problem.BadData("attribute %q: valueList must be an array, got %s", name, parseKind(raw))
		}
		if err := parseCheckList(name, member, arr); err != nil {
			return nil, err
		}
		a.Value = arr
	}
	return a, nil
}

func (p *bodyParser) geoValue(name string, a *Attr, raw any) (*Attr, error) {
	if s, ok := raw.(string); ok {
		return nil, problem.BadData("attribute %q: GeoProperty value must be a GeoJSON geometry object, got the string %.40q", name, s)
	}
	if _, err := geo.ParseGeometry(raw); err != nil {
		return nil, problem.BadData("attribute %q: invalid GeoJSON geometry: %v", name, err)
	}
	a.Value = raw
	return a, nil
}

// parseObjects reads the target of a Relationship (one URI or a non-empty
// array of URIs) or of a ListRelationship (an array of URIs or of
// {"object": URI} objects) and returns a string or a []any of strings.
func parseObjects(name, member string, raw any, list bool) (any, error) {
	if s, ok := raw.(string); ok && !list {
		if err := ValidateURI("attribute \""+name+"\": "+member, s); err != nil {
			return nil, err
		}
		return s, nil
	}
	arr, ok := raw.([]any)
	if !ok {
		want := "a URI string or an array of URIs"
		if list {
			want = "an array of URIs or of {\"object\": URI}"
		}
		return nil, problem.BadData("attribute %q: %s must be %s, got %s", name, member, want, parseKind(raw))
	}
	if len(arr) == 0 && !list {
		return nil, problem.BadData("attribute %q: %s must not be an empty array", name, member)
	}
	out := make([]any, len(arr))
	for i, e := range arr {
		if m, ok := e.(map[string]any); ok && list {
			if e, ok = m[memberObject]; !ok {
				return nil, problem.BadData("attribute %q: %s[%d] must be a URI or {\"object\": URI}, got an object without \"object\"", name, member, i)
			}
		}
		s, ok := e.(string)
		if !ok {
			return nil, problem.BadData("attribute %q: %s[%d] must be a URI string, got %s", name, member, i, parseKind(e))
		}
		if err := ValidateURI("attribute \""+name+"\": "+member, s); err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func parseLanguageMap(name string, raw any) (map[string]any, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, problem.BadData("attribute %q: languageMap must be an object of language tag to string, got %s", name, parseKind(raw))
	}
	if len(m) == 0 {
		return nil, problem.BadData("attribute %q: languageMap must not be empty", name)
	}
	for tag, v := range m {
		if !validLangTag(tag) {
			return nil, problem.BadData("attribute %q: languageMap: %q is not a language tag", name, tag)
		}
		switch x := v.(type) {
		case string:
		case []any:
			for _, e := range x {
				if _, ok := e.(string); !ok {
					return nil, problem.BadData("attribute %q: languageMap[%q] must hold strings, got %s", name, tag, parseKind(e))
				}
			}
		default:
			return nil, problem.BadData("attribute %q: languageMap[%q] must be a string or an array of strings, got %s", name, tag, parseKind(v))
		}
	}
	return m, nil
}

func (p *bodyParser) vocab(name string, raw any) (any, error) {
	switch x := raw.(type) {
	case string:
		if x == "" {
			return nil, problem.BadData("attribute %q: vocab must not be empty", name)
		}
		return p.c.ExpandTerm(x), nil
	case []any:
		if len(x) == 0 {
			return nil, problem.BadData("attribute %q: vocab must not be an empty array", name)
		}
		out := make([]any, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok || s == "" {
				return nil, problem.BadData("attribute %q: vocab[%d] must be a non-empty string, got %s", name, i, parseKind(e))
			}
			out[i] = p.c.ExpandTerm(s)
		}
		return out, nil
	}
	return nil, problem.BadData("attribute %q: vocab must be a string or an array of strings, got %s", name, parseKind(raw))
}

// parseCheckList refuses null elements in a value array: JSON-LD would drop
// them, so they cannot be stored faithfully.
func parseCheckList(name, member string, v any) error {
	arr, ok := v.([]any)
	if !ok {
		return nil
	}
	for i, e := range arr {
		if e == nil {
			return problem.BadData("attribute %q: %s[%d] is null", name, member, i)
		}
	}
	return nil
}

// parseIsNullList reports whether v is ["urn:ngsi-ld:null"], the NGSI-LD
// Null of list-valued members.
func parseIsNullList(v any) bool {
	arr, ok := v.([]any)
	return ok && len(arr) == 1 && arr[0] == Null
}

// parseIsNullLangMap reports whether v is {"@none": "urn:ngsi-ld:null"},
// the NGSI-LD Null of a LanguageProperty.
func parseIsNullLangMap(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 1 && m["@none"] == Null
}
