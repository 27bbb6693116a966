package query

import (
	"strings"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
)

// MatchQ reports whether entity e satisfies the q expression x.
//
// The semantics, after clause 4.9:
//   - A comparison holds only when its target exists: for a multi-instance
//     attribute it holds when any instance satisfies it.
//   - The target of a Relationship (and ListRelationship) is its object; of
//     a LanguageProperty its languageMap, "[tag]" selecting one language and
//     "[*]" or no key any; of every other kind its value.
//   - When the target value is an array, == and the ordering operators hold
//     when any member satisfies them, != when no member equals the operand.
//   - Numbers compare with numbers, strings with strings (ordering is by
//     code point), booleans only for equality; DateTime, Date and Time
//     literals compare as instants with strings that read as such and with
//     the observedAt, createdAt and modifiedAt members. Values of different
//     kinds are unequal and unordered.
//   - An unquoted value also equals its expansion with the query's
//     @context, so that VocabProperty values and entity types, held
//     expanded, can be matched by their terms.
//   - A linked-entity path "rel{path}" holds when the rest of the term
//     holds on one of the entities rel points at (MatchQWith); without a
//     Resolver it holds on none.
func MatchQ(x Expr, e *ngsild.Entity) bool { return x.match(e, nil) }

// MatchQWith is MatchQ with r to reach the entities of linked-entity paths.
func MatchQWith(x Expr, e *ngsild.Entity, r Resolver) bool { return x.match(e, r) }

func (a And) match(e *ngsild.Entity, r Resolver) bool {
	for _, x := range a {
		if !x.match(e, r) {
			return false
		}
	}
	return true
}

func (o Or) match(e *ngsild.Entity, r Resolver) bool {
	for _, x := range o {
		if x.match(e, r) {
			return true
		}
	}
	return false
}

func (t *Term) match(e *ngsild.Entity, r Resolver) bool {
	switch t.Op {
	case OpExists:
		return t.visitWith(e, r, true)
	case OpNotExists:
		return !t.visitWith(e, r, true)
	}
	return t.visitWith(e, r, false)
}

// visitWith is visit, following a linked-entity path with r.
func (t *Term) visitWith(e *ngsild.Entity, r Resolver, exist bool) bool {
	if t.Path.Linked != nil {
		return t.visitLinked(e, r, exist)
	}
	return t.visit(e, exist)
}

// visit enumerates the targets of t's path in e and reports whether one
// exists (exist) or satisfies t.
func (t *Term) visit(e *ngsild.Entity, exist bool) bool {
	p := &t.Path
	switch p.Entity {
	case MemberNone:
	case MemberID:
		return exist || t.testString(e.ID)
	case MemberType:
		return t.visitStrings(e.Types, exist)
	case MemberScope:
		return t.visitStrings(e.Scope, exist)
	case MemberCreatedAt:
		return !e.CreatedAt.IsZero() && (exist || t.testTime(e.CreatedAt))
	case MemberModifiedAt:
		return !e.ModifiedAt.IsZero() && (exist || t.testTime(e.ModifiedAt))
	default:
		return false
	}
	for _, a := range e.Attrs[p.Attr] {
		if t.visitAttr(a, exist) {
			return true
		}
	}
	return false
}

// visitStrings tests a list-valued entity member (type, scope): != holds
// when no member equals the operand.
func (t *Term) visitStrings(ss []string, exist bool) bool {
	if len(ss) == 0 {
		return false
	}
	if exist {
		return true
	}
	if t.Op == OpNe {
		for _, s := range ss {
			if t.eqString(s) {
				return false
			}
		}
		return true
	}
	for _, s := range ss {
		if t.testString(s) {
			return true
		}
	}
	return false
}

func (t *Term) visitAttr(a *ngsild.Attr, exist bool) bool {
	p := &t.Path
	for _, s := range p.Subs {
		if a = a.Sub[s]; a == nil {
			return false
		}
	}
	switch p.Member {
	case MemberObservedAt:
		return !a.ObservedAt.IsZero() && (exist || t.testTime(a.ObservedAt))
	case MemberCreatedAt:
		return !a.CreatedAt.IsZero() && (exist || t.testTime(a.CreatedAt))
	case MemberModifiedAt:
		return !a.ModifiedAt.IsZero() && (exist || t.testTime(a.ModifiedAt))
	case MemberUnitCode:
		return a.UnitCode != "" && (exist || t.testString(a.UnitCode))
	case MemberDatasetID:
		return a.DatasetID != "" && (exist || t.testString(a.DatasetID))
	}
	switch a.Type {
	case ngsild.Relationship, ngsild.ListRelationship:
		// Clause 4.9: a Relationship with any operator but equal and
		// unequal does not match.
		if !exist && t.Op != OpEq && t.Op != OpNe {
			return false
		}
		return t.visitKeys(a.Object, p.Keys, exist)
	case ngsild.LanguageProperty:
		keys := p.Keys
		if len(keys) == 0 || keys[0] == "*" {
			if len(keys) > 0 {
				keys = keys[1:]
			}
			if t.Op == OpNe && !exist && len(p.Keys) > 0 {
				// Clause 4.9, unequal over [*]: no value of the language
				// map may equal the query value.
				eq := *t
				eq.Op = OpEq
				for _, v := range a.LanguageMap {
					if eq.visitKeys(v, keys, false) {
						return false
					}
				}
				return len(a.LanguageMap) > 0
			}
			for _, v := range a.LanguageMap {
				if t.visitKeys(v, keys, exist) {
					return true
				}
			}
			return false
		}
		v, ok := a.LanguageMap[keys[0]]
		return ok && t.visitKeys(v, keys[1:], exist)
	}
	return t.visitKeys(a.Value, p.Keys, exist)
}

// visitKeys follows "[key]" steps into a compound value; an array on the
// way is searched member by member.
func (t *Term) visitKeys(v any, keys []string, exist bool) bool {
	if v == nil {
		return false
	}
	if len(keys) == 0 {
		return exist || t.test(v)
	}
	switch x := v.(type) {
	case map[string]any:
		if keys[0] == "*" {
			for _, c := range x {
				if t.visitKeys(c, keys[1:], exist) {
					return true
				}
			}
			return false
		}
		c, ok := x[keys[0]]
		return ok && t.visitKeys(c, keys[1:], exist)
	case []any:
		for _, c := range x {
			if t.visitKeys(c, keys, exist) {
				return true
			}
		}
	}
	return false
}

// test applies t's operator to one target value.
func (t *Term) test(v any) bool {
	switch t.Op {
	case OpExists:
		return true
	case OpMatch, OpNotMatch:
		return t.testRegexp(v)
	case OpEq:
		return t.eq(v)
	case OpNe:
		return !t.eq(v)
	}
	if arr, ok := v.([]any); ok {
		for _, x := range arr {
			if t.test(x) {
				return true
			}
		}
		return false
	}
	c, ok := compare(v, &t.Values[0])
	return ok && ordered(t.Op, c)
}

func ordered(op Op, c int) bool {
	switch op {
	case OpGt:
		return c > 0
	case OpGe:
		return c >= 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	}
	return false
}

func (t *Term) testString(s string) bool {
	switch t.Op {
	case OpMatch:
		return t.Regexp.MatchString(s)
	case OpNotMatch:
		return !t.Regexp.MatchString(s)
	case OpEq:
		return t.eqString(s)
	case OpNe:
		return !t.eqString(s)
	}
	c, ok := compareString(s, &t.Values[0])
	return ok && ordered(t.Op, c)
}

func (t *Term) eqString(s string) bool {
	if t.Range {
		return inRangeString(s, &t.Values[0], &t.Values[1])
	}
	for i := range t.Values {
		if c, ok := compareString(s, &t.Values[i]); ok && c == 0 {
			return true
		}
	}
	return false
}

func inRangeString(s string, lo, hi *Value) bool {
	a, ok1 := compareString(s, lo)
	b, ok2 := compareString(s, hi)
	return ok1 && ok2 && a >= 0 && b <= 0
}

func (t *Term) testTime(tm time.Time) bool {
	switch t.Op {
	case OpMatch, OpNotMatch:
		return t.testString(ngsild.FormatTime(tm))
	case OpEq, OpNe:
		eq := false
		if t.Range {
			a, ok1 := compareTime(tm, &t.Values[0])
			b, ok2 := compareTime(tm, &t.Values[1])
			eq = ok1 && ok2 && a >= 0 && b <= 0
		} else {
			for i := range t.Values {
				if c, ok := compareTime(tm, &t.Values[i]); ok && c == 0 {
					eq = true
					break
				}
			}
		}
		return eq == (t.Op == OpEq)
	}
	c, ok := compareTime(tm, &t.Values[0])
	return ok && ordered(t.Op, c)
}

func (t *Term) eq(v any) bool {
	if arr, ok := v.([]any); ok {
		for _, x := range arr {
			if t.eq(x) {
				return true
			}
		}
		return false
	}
	if t.Range {
		a, ok1 := compare(v, &t.Values[0])
		b, ok2 := compare(v, &t.Values[1])
		return ok1 && ok2 && a >= 0 && b <= 0
	}
	for i := range t.Values {
		if c, ok := compare(v, &t.Values[i]); ok && c == 0 {
			return true
		}
	}
	return false
}

func (t *Term) testRegexp(v any) bool {
	switch x := v.(type) {
	case string:
		return t.Regexp.MatchString(x) == (t.Op == OpMatch)
	case []any:
		n := 0
		for _, c := range x {
			if s, ok := c.(string); ok {
				n++
				if t.Regexp.MatchString(s) {
					return t.Op == OpMatch
				}
			}
		}
		return n > 0 && t.Op == OpNotMatch
	case time.Time:
		return t.testTime(x)
	}
	return false
}

// compare orders target value v against literal w; ok is false when they
// are of kinds that do not compare.
func compare(v any, w *Value) (c int, ok bool) {
	switch x := v.(type) {
	case float64:
		if w.Kind != KindNumber {
			return 0, false
		}
		switch {
		case x < w.Num:
			return -1, true
		case x > w.Num:
			return 1, true
		case x == w.Num:
			return 0, true
		}
		return 0, false // NaN
	case bool:
		if w.Kind != KindBool {
			return 0, false
		}
		if x == w.Bool {
			return 0, true
		}
		return 1, true
	case string:
		return compareString(x, w)
	case time.Time:
		return compareTime(x, w)
	}
	return 0, false
}

func compareString(s string, w *Value) (int, bool) {
	switch w.Kind {
	case KindString, KindWord, KindURI:
		if w.Expanded != "" && s == w.Expanded {
			return 0, true
		}
		return strings.Compare(s, w.Str), true
	case KindDateTime:
		tm, ok := parseDateTime(s)
		if !ok {
			return 0, false
		}
		return tm.Compare(w.Time), true
	case KindDate:
		if tm, err := time.Parse(time.DateOnly, s); err == nil {
			return tm.Compare(w.Time), true
		}
		if tm, ok := parseDateTime(s); ok {
			return dateOf(tm).Compare(w.Time), true
		}
	case KindTime:
		if tm, ok := parseTimeOfDay(s); ok {
			return tm.Compare(w.Time), true
		}
		if tm, ok := parseDateTime(s); ok {
			return timeOfDay(tm).Compare(w.Time), true
		}
	}
	return 0, false
}

func compareTime(tm time.Time, w *Value) (int, bool) {
	switch {
	case w.Kind == KindDateTime || w.HasTime:
		return tm.Compare(w.Time), true
	case w.Kind == KindDate:
		return dateOf(tm).Compare(w.Time), true
	case w.Kind == KindTime:
		return timeOfDay(tm).Compare(w.Time), true
	}
	return 0, false
}

func dateOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func timeOfDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(0, 1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
