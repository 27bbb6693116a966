package ngsild

import (
	"slices"
	"strconv"
	"strings"

	"github.com/qala-city/qala/internal/jsonld"
)

// Format is an entity representation (clause 4.5 of ETSI GS CIM 009).
type Format uint8

// The representations. GeoJSON is rendered by RenderFeature on top of one
// of these, which shapes the attributes in its "properties".
const (
	// Normalized renders every attribute as its full object (clause 4.5.2).
	Normalized Format = iota
	// Concise drops what a receiver can infer (clause 4.5.3, options=concise).
	Concise
	// KeyValues renders the simplified representation (clause 4.5.4,
	// options=keyValues).
	KeyValues
)

// NoneDataset stands for the default instance (no datasetId) in
// RenderOptions.DatasetIDs and in the simplified representation of a
// multi-attribute.
const NoneDataset = "@none"

// RenderOptions select and shape a representation.
type RenderOptions struct {
	// Context compacts every IRI: entity types, attribute and sub-attribute
	// names, objectType and VocabProperty values. Nil leaves IRIs expanded.
	Context *jsonld.Context
	Format  Format
	// SysAttrs adds createdAt and modifiedAt to the entity, its attributes
	// and sub-attributes (options=sysAttrs). deletedAt is rendered whenever set.
	SysAttrs bool
	// Attrs keeps only these expanded attribute names; nil keeps all.
	Attrs []string
	// Pick keeps only these entity members and Omit drops these (clause
	// 4.21 of v1.8, pick/omit). Members are "id", "type", "scope" or
	// expanded attribute names. Nil Pick keeps all.
	Pick, Omit []string
	// Lang selects the language of LanguageProperties (clause 4.15): a
	// language range list like "fr-CH,fr;q=0.9,*;q=0.5". A LanguageProperty
	// then renders as a Property whose value is the best match, with a "lang"
	// member; "*" (or no match) falls back to the "@none" entry, else the
	// first language in sorted order. "" keeps the LanguageProperty.
	Lang string
	// DatasetIDs keeps only the attribute instances with these datasetIds
	// (NoneDataset for the default instance); nil keeps all.
	DatasetIDs []string
	// IncludeContext, when not nil, is emitted as the "@context" member,
	// first (application/ld+json responses).
	IncludeContext any
}

// attrTypeValues holds the kind names boxed once: rendering is on every read
// path, and boxing a string into an interface allocates.
var attrTypeValues = func() []any {
	v := make([]any, len(attrTypeNames))
	for i, n := range attrTypeNames {
		v[i] = n
	}
	return v
}()

// renderer carries per-call state derived from RenderOptions.
type renderer struct {
	o     *RenderOptions
	langs []string // language ranges in preference order; nil = no filter
	arena *arena   // where Docs come from; nil: the heap
}

// doc returns an empty Doc with room for n members (an arena's, for a few
// more: the optional members make n a guess).
func (r *renderer) doc(n int) Doc {
	if r.arena == nil {
		return make(Doc, 0, n)
	}
	return r.arena.doc(n + 6)
}

// str turns a string into a member value: with an arena, a *string kept in
// it (a string in an interface allocates; a pointer does not).
func (r *renderer) str(s string) any {
	if r.arena == nil {
		return s
	}
	return r.arena.str(s)
}

// box turns a Doc into an attribute value: with an arena, a *Doc kept in
// it (boxing a slice header in an interface allocates; a pointer does not).
func (r *renderer) box(d Doc) any {
	if r.arena == nil {
		return d
	}
	return r.arena.box(d)
}

func newRenderer(o *RenderOptions) renderer {
	r := renderer{o: o}
	if o.Lang != "" {
		r.langs = parseLangRanges(o.Lang)
	}
	return r
}

func (r *renderer) compact(iri string) string {
	if r.o.Context == nil {
		return iri
	}
	return r.o.Context.CompactIRI(iri)
}

// compactType compacts an IRI in a type position (entity types, objectType,
// VocabProperty values), which JSON-LD compacts like @type values.
func (r *renderer) compactType(iri string) string {
	if r.o.Context == nil {
		return iri
	}
	return r.o.Context.CompactType(iri)
}

// keepMember applies pick and omit to an entity member.
func (r *renderer) keepMember(name string) bool {
	if r.o.Pick != nil && !slices.Contains(r.o.Pick, name) {
		return false
	}
	return !slices.Contains(r.o.Omit, name)
}

func (r *renderer) keepAttr(name string) bool {
	if r.o.Attrs != nil && !slices.Contains(r.o.Attrs, name) {
		return false
	}
	return r.keepMember(name)
}

func (r *renderer) keepInstance(a *Attr) bool {
	if r.o.DatasetIDs == nil {
		return true
	}
	ds := a.DatasetID
	if ds == "" {
		ds = NoneDataset
	}
	return slices.Contains(r.o.DatasetIDs, ds)
}

// Render returns the representation of e selected by o (clauses 4.5.2 to
// 4.5.4, 4.15 and the retrieve/query operations of clause 5.7). Members come
// in the order @context, id, type, scope, createdAt, modifiedAt, deletedAt,
// then attributes sorted by compacted name.
func Render(e *Entity, o RenderOptions) Doc {
	r := newRenderer(&o)
	return r.entity(e, o.IncludeContext, true)
}

func (r *renderer) entity(e *Entity, ctx any, withID bool) Doc {
	d := r.doc(6 + len(e.Attrs))
	if ctx != nil {
		d = append(d, Member{"@context", ctx})
	}
	if withID && r.keepMember("id") {
		d = append(d, Member{"id", r.str(e.ID)})
	}
	if len(e.Types) > 0 && r.keepMember("type") {
		d = append(d, Member{"type", r.compactList(e.Types)})
	}
	if len(e.Scope) > 0 && r.keepMember("scope") {
		if len(e.Scope) == 1 {
			d = append(d, Member{"scope", e.Scope[0]})
		} else {
			d = append(d, Member{"scope", e.Scope})
		}
	}
	if r.o.SysAttrs {
		if !e.CreatedAt.IsZero() {
			d = append(d, Member{"createdAt", &e.CreatedAt})
		}
		if !e.ModifiedAt.IsZero() {
			d = append(d, Member{"modifiedAt", &e.ModifiedAt})
		}
	}
	if !e.DeletedAt.IsZero() {
		d = append(d, Member{"deletedAt", &e.DeletedAt})
	}
	start := len(d)
	for name, insts := range e.Attrs {
		if !r.keepAttr(name) {
			continue
		}
		if v, ok := r.attribute(insts); ok {
			d = append(d, Member{r.compact(name), v})
		}
	}
	sortMembers(d[start:])
	return d
}

func sortMembers(d Doc) {
	slices.SortFunc(d, func(a, b Member) int { return strings.Compare(a.Key, b.Key) })
}

// compactList renders expanded type IRIs: one as a string, more as an array.
func (r *renderer) compactList(iris []string) any {
	if len(iris) == 1 {
		return r.str(r.compactType(iris[0]))
	}
	out := make([]any, len(iris))
	for i, t := range iris {
		out[i] = r.compactType(t)
	}
	return out
}

// compactValue compacts a string or an array of strings (objectType,
// VocabProperty values), leaving anything else as is.
func (r *renderer) compactValue(v any) any {
	switch x := v.(type) {
	case string:
		return r.compactType(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.compactValue(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.compactType(e)
		}
		return out
	}
	return v
}

// RenderAttribute renders the instances of one attribute as they appear as
// the value of its name in Render's output; ok is false when no instance is
// left by o.DatasetIDs.
func RenderAttribute(insts []*Attr, o RenderOptions) (v any, ok bool) {
	r := newRenderer(&o)
	return r.attribute(insts)
}

func (r *renderer) attribute(insts []*Attr) (any, bool) {
	kept := insts
	if r.o.DatasetIDs != nil {
		kept = make([]*Attr, 0, len(insts))
		for _, a := range insts {
			if r.keepInstance(a) {
				kept = append(kept, a)
			}
		}
	}
	switch len(kept) {
	case 0:
		return nil, false
	case 1:
		return r.instance(kept[0], true), true
	}
	// Default instance first, then by datasetId, for a stable output.
	kept = slices.Clone(kept)
	slices.SortStableFunc(kept, func(a, b *Attr) int { return strings.Compare(a.DatasetID, b.DatasetID) })
	if r.o.Format == KeyValues {
		// Clause 4.5.4: a multi-attribute simplifies to {"dataset": {datasetId
		// or "@none": simplified value}}.
		ds := make(Doc, 0, len(kept))
		for _, a := range kept {
			id := a.DatasetID
			if id == "" {
				id = NoneDataset
			}
			ds = append(ds, Member{id, r.simplified(a)})
		}
		return Doc{{"dataset", ds}}, true
	}
	// Concise instances in an array keep their object form: a bare value
	// there would read back as part of an array value.
	out := make([]any, len(kept))
	for i, a := range kept {
		out[i] = r.instance(a, false)
	}
	return out, true
}

func (r *renderer) instance(a *Attr, collapse bool) any {
	if r.o.Format == KeyValues {
		return r.simplified(a)
	}
	return r.full(a, r.o.Format == Concise, collapse)
}

// full renders an attribute in the normalized representation, or the concise
// one (clause 4.5.3: no "type"; with collapse, a Property or GeoProperty with
// nothing but a value collapses to the value).
func (r *renderer) full(a *Attr, concise, collapse bool) any {
	d := r.doc(4 + len(a.Sub))
	kind := a.Type
	var lang string
	var langValue any
	if kind == LanguageProperty && r.langs != nil {
		lang, langValue = matchLang(a.LanguageMap, r.langs)
		kind = Property
	}
	if !concise {
		d = append(d, Member{"type", attrTypeValues[kind]})
	}
	switch a.Type {
	case Property, GeoProperty:
		d = append(d, Member{"value", a.Value})
	case Relationship:
		d = append(d, Member{"object", a.Object})
	case LanguageProperty:
		if r.langs != nil {
			d = append(d, Member{"value", langValue}, Member{"lang", lang})
		} else {
			d = append(d, Member{"languageMap", a.LanguageMap})
		}
	case VocabProperty:
		d = append(d, Member{"vocab", r.compactValue(a.Value)})
	case JsonProperty:
		d = append(d, Member{"json", a.Value})
	case ListProperty:
		d = append(d, Member{"valueList", a.Value})
	case ListRelationship:
		d = append(d, Member{"objectList", objectList(a.Object)})
	}
	if a.ObjectType != nil && (a.Type == Relationship || a.Type == ListRelationship) {
		d = append(d, Member{"objectType", r.compactValue(a.ObjectType)})
	}
	if !a.ObservedAt.IsZero() {
		d = append(d, Member{"observedAt", &a.ObservedAt})
	}
	if a.UnitCode != "" {
		d = append(d, Member{"unitCode", r.str(a.UnitCode)})
	}
	if a.DatasetID != "" {
		d = append(d, Member{"datasetId", r.str(a.DatasetID)})
	}
	if r.o.SysAttrs {
		if !a.CreatedAt.IsZero() {
			d = append(d, Member{"createdAt", &a.CreatedAt})
		}
		if !a.ModifiedAt.IsZero() {
			d = append(d, Member{"modifiedAt", &a.ModifiedAt})
		}
	}
	if !a.DeletedAt.IsZero() {
		d = append(d, Member{"deletedAt", &a.DeletedAt})
	}
	start := len(d)
	for name, s := range a.Sub {
		d = append(d, Member{r.compact(name), r.full(s, concise, true)})
	}
	sortMembers(d[start:])
	if concise && collapse && len(d) == 1 && (kind == Property || kind == GeoProperty) {
		if _, isObject := d[0].Value.(map[string]any); !isObject || kind == GeoProperty {
			return d[0].Value
		}
	}
	return r.box(d)
}

// objectList renders the targets of a ListRelationship as the array of
// {"object": target} objects of clause 4.5.x (ListRelationship).
func objectList(o any) any {
	list, ok := o.([]any)
	if !ok {
		return o
	}
	out := make([]any, len(list))
	for i, t := range list {
		if _, isString := t.(string); isString {
			out[i] = Doc{{"object", t}}
			continue
		}
		out[i] = t
	}
	return out
}

// simplified renders an attribute in the simplified representation (clause
// 4.5.4): the value of a Property or GeoProperty, the object of a
// Relationship, the bare ordered array of a ListProperty's values or of a
// ListRelationship's object URIs (its examples 14 and 16 in v1.9.1), and a
// one-member object naming the kind for LanguageProperty, VocabProperty and
// JsonProperty ({"languageMap": …}, {"vocab": …}, {"json": …}).
func (r *renderer) simplified(a *Attr) any {
	switch a.Type {
	case Relationship:
		return a.Object
	case LanguageProperty:
		if r.langs != nil {
			_, v := matchLang(a.LanguageMap, r.langs)
			return v
		}
		return Doc{{"languageMap", a.LanguageMap}}
	case VocabProperty:
		return Doc{{"vocab", r.compactValue(a.Value)}}
	case JsonProperty:
		return Doc{{"json", a.Value}}
	case ListProperty:
		return a.Value
	case ListRelationship:
		return objectURIs(a.Object)
	}
	return a.Value
}

// objectURIs returns the targets of a ListRelationship as bare URIs, without
// the {"object": …} wraps a stored objectList may hold.
func objectURIs(o any) any {
	list, ok := o.([]any)
	if !ok {
		return o
	}
	bare := make([]any, len(list))
	for i, e := range list {
		bare[i] = e
		switch w := e.(type) {
		case Doc:
			if len(w) == 1 && w[0].Key == "object" {
				bare[i] = w[0].Value
			}
		case map[string]any:
			if v, ok := w["object"]; ok && len(w) == 1 {
				bare[i] = v
			}
		}
	}
	return bare
}

// parseLangRanges parses a lang parameter ("fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5")
// into language ranges by decreasing quality; ranges with q=0 are dropped.
func parseLangRanges(s string) []string {
	type ranged struct {
		tag string
		q   float64
	}
	var rs []ranged
	for part := range strings.SplitSeq(s, ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		if tag == "" {
			continue
		}
		q := 1.0
		params = strings.TrimSpace(params)
		if v, ok := strings.CutPrefix(params, "q="); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		if q <= 0 {
			continue
		}
		rs = append(rs, ranged{tag, q})
	}
	slices.SortStableFunc(rs, func(a, b ranged) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	out := make([]string, 0, len(rs)+1)
	for _, x := range rs {
		out = append(out, x.tag)
	}
	return out
}

// matchLang picks the entry of a languageMap for the language ranges
// (clause 4.15, tags compared case-insensitively as RFC 5646 has them): the
// first range matching a tag exactly or as a prefix ("en" matches "en-GB"),
// or, failing both, once truncated as the lookup of RFC 4647 clause 3.4 does
// ("nl-BE" falls back to "nl", "zh-Hant-x-a" to "zh-Hant"); else the "@none"
// entry, else the first tag in sorted order (clause 4.15: "it shall default
// to any supported language").
func matchLang(lm map[string]any, ranges []string) (string, any) {
	var tags []string
	sortedTags := func() []string {
		if tags == nil {
			tags = make([]string, 0, len(lm))
			for t := range lm {
				tags = append(tags, t)
			}
			slices.Sort(tags)
		}
		return tags
	}
	for _, rg := range ranges {
		if rg == "*" {
			break
		}
		for _, t := range sortedTags() {
			if strings.EqualFold(t, rg) {
				return t, lm[t]
			}
		}
		for _, t := range sortedTags() {
			if len(t) > len(rg) && t[len(rg)] == '-' && strings.EqualFold(t[:len(rg)], rg) {
				return t, lm[t]
			}
		}
		for tr := truncateLangRange(rg); tr != ""; tr = truncateLangRange(tr) {
			for _, t := range sortedTags() {
				if strings.EqualFold(t, tr) {
					return t, lm[t]
				}
			}
		}
	}
	if v, ok := lm[NoneDataset]; ok {
		return NoneDataset, v
	}
	if t := sortedTags(); len(t) > 0 {
		return t[0], lm[t[0]]
	}
	return NoneDataset, nil
}

// truncateLangRange drops the last subtag of a language range, and a
// singleton subtag ("x", "u") left at its end (RFC 4647 clause 3.4); "" when
// nothing is left.
func truncateLangRange(rg string) string {
	i := strings.LastIndexByte(rg, '-')
	if i < 0 {
		return ""
	}
	rg = rg[:i]
	if j := strings.LastIndexByte(rg, '-'); j >= 0 && len(rg)-j == 2 {
		rg = rg[:j]
	}
	return rg
}

// RenderFeature returns the GeoJSON representation of e (clause 4.5.17,
// Accept: application/geo+json): a Feature whose geometry is the value of
// the GeoProperty geometryProperty (expanded name; "" means location) or
// null, and whose properties hold the entity type, scope and attributes
// shaped by o.Format.
func RenderFeature(e *Entity, o RenderOptions, geometryProperty string) Doc {
	r := newRenderer(&o)
	return r.feature(e, o.IncludeContext, geometryProperty)
}

func (r *renderer) feature(e *Entity, ctx any, geometryProperty string) Doc {
	if geometryProperty == "" {
		geometryProperty = IRILocation
	}
	d := make(Doc, 0, 5)
	if ctx != nil {
		d = append(d, Member{"@context", ctx})
	}
	d = append(d,
		Member{"id", e.ID},
		Member{"type", "Feature"},
		Member{"geometry", geometry(e, geometryProperty)},
		Member{"properties", r.entity(e, nil, false)},
	)
	return d
}

// geometry returns the value of the default instance (else the first) of a
// GeoProperty, or nil.
func geometry(e *Entity, name string) any {
	insts := e.Attrs[name]
	if len(insts) == 0 {
		return nil
	}
	a := insts[0]
	if d := e.Instance(name, ""); d != nil {
		a = d
	}
	if a.Type != GeoProperty {
		return nil
	}
	return a.Value
}

// RenderFeatureCollection returns the GeoJSON FeatureCollection of es
// (clause 4.5.17), with "@context" at its top when o.IncludeContext is set.
func RenderFeatureCollection(es []*Entity, o RenderOptions, geometryProperty string) Doc {
	r := newRenderer(&o)
	features := make([]Doc, len(es))
	for i, e := range es {
		features[i] = r.feature(e, nil, geometryProperty)
	}
	d := make(Doc, 0, 3)
	if o.IncludeContext != nil {
		d = append(d, Member{"@context", o.IncludeContext})
	}
	return append(d, Member{"type", "FeatureCollection"}, Member{"features", features})
}
