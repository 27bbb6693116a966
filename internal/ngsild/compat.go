package ngsild

import (
	"strconv"
	"strings"
	"time"
)

// Version is an NGSI-LD specification version in the form major.minor
// (clause 4.3.6.8 of v1.9), as a consumer asks for it with the HTTP
// preference ngsi-ld=<major.minor>.
type Version struct{ Major, Minor int }

// ParseVersion parses "major.minor" (both decimal integers).
func ParseVersion(s string) (Version, bool) {
	maj, min, ok := strings.Cut(s, ".")
	if !ok {
		return Version{}, false
	}
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if err1 != nil || err2 != nil || a < 0 || b < 0 || strings.ContainsAny(s, "+- ") {
		return Version{}, false
	}
	return Version{a, b}, true
}

func (v Version) String() string { return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) }

// before reports whether v is earlier than major.minor.
func (v Version) before(major, minor int) bool {
	return v.Major < major || v.Major == major && v.Minor < minor
}

// Downgrade amends e in place so that it conforms to version v, as the
// fallbacks of Tables 4.3.6.8-1 to 4.3.6.8-3 of v1.9 give them, and reports
// whether anything changed. Pass a clone: e is modified.
//
//   - scope (1.4) is removed;
//   - a LanguageProperty (1.4), a VocabProperty, a JsonProperty or a
//     ListProperty (1.8) is reformatted as a Property holding its
//     languageMap, vocab, json or valueList as value; a ListRelationship
//     (1.8) as a Relationship holding its objects;
//   - objectType (1.8) is removed; before 1.3 so are datasetId, observedAt
//     and unitCode, and only the first type of the entity and the default
//     (else the first) instance of an attribute are kept (notes 1 to 3).
//
// compact, when not nil, compacts the IRIs of a VocabProperty's vocab as
// the value of the Property that replaces it.
func Downgrade(e *Entity, v Version, compact func(string) string) bool {
	changed := false
	if v.before(1, 4) && len(e.Scope) > 0 {
		e.Scope = nil
		changed = true
	}
	if v.before(1, 3) && len(e.Types) > 1 {
		e.Types = e.Types[:1]
		changed = true
	}
	for name, insts := range e.Attrs {
		if v.before(1, 3) && len(insts) > 1 {
			keep := insts[0]
			for _, a := range insts {
				if a.DatasetID == "" {
					keep = a
					break
				}
			}
			e.Attrs[name] = []*Attr{keep}
			insts = e.Attrs[name]
			changed = true
		}
		for _, a := range insts {
			if downgradeAttr(a, v, compact) {
				changed = true
			}
		}
	}
	return changed
}

func downgradeAttr(a *Attr, v Version, compact func(string) string) bool {
	changed := false
	switch {
	case a.Type == LanguageProperty && v.before(1, 4):
		a.Type, a.Value, a.LanguageMap = Property, a.LanguageMap, nil
		changed = true
	case a.Type == VocabProperty && v.before(1, 8):
		a.Type, a.Value = Property, compactVocab(a.Value, compact)
		changed = true
	case (a.Type == JsonProperty || a.Type == ListProperty) && v.before(1, 8):
		a.Type = Property
		changed = true
	case a.Type == ListRelationship && v.before(1, 8):
		a.Type, a.Object = Relationship, objectURIs(a.Object)
		changed = true
	}
	if a.ObjectType != nil && v.before(1, 8) {
		a.ObjectType = nil
		changed = true
	}
	if v.before(1, 3) && (a.DatasetID != "" || !a.ObservedAt.IsZero() || a.UnitCode != "") {
		a.DatasetID, a.UnitCode, a.ObservedAt = "", "", time.Time{}
		changed = true
	}
	for _, s := range a.Sub {
		if downgradeAttr(s, v, compact) {
			changed = true
		}
	}
	return changed
}

// compactVocab compacts the IRI (or IRIs) of a vocab.
func compactVocab(v any, compact func(string) string) any {
	if compact == nil {
		return v
	}
	switch x := v.(type) {
	case string:
		return compact(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			if s, ok := e.(string); ok {
				out[i] = compact(s)
			} else {
				out[i] = e
			}
		}
		return out
	}
	return v
}
