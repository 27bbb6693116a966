package query

import "math"

// Cond is a condition on the values of one attribute that a store can
// answer from a value index. It has the fields and the meaning of
// store.ValueCond (the API converts one into the other): an instance of
// Attr has a target that is a number between Min and Max (ends excluded
// when MinOpen, MaxOpen), or, when Strings is not nil, a string among
// Strings.
type Cond struct {
	Attr             string
	Min, Max         float64
	MinOpen, MaxOpen bool
	Strings          []string
}

// IndexConds splits q expression x into the conjuncts that are value
// conditions and the rest: x holds exactly when every cond holds and rest
// (nil when nothing is left) holds. The conjuncts taken are comparisons of a
// plain attribute path (no sub-attribute, member or [key]) with a number
// (>, >=, <, <=, ==, == a..b) or equality with quoted strings, words or URIs
// (==, also a value list); for each, MatchQ agrees with the store's
// ValueCond semantics (a test checks it on generated entities).
func IndexConds(x Expr) (conds []Cond, rest Expr) {
	var left And
	var walk func(x Expr)
	walk = func(x Expr) {
		if a, ok := x.(And); ok {
			for _, s := range a {
				walk(s)
			}
			return
		}
		if t, ok := x.(*Term); ok {
			if c, ok := t.cond(); ok {
				conds = append(conds, c)
				return
			}
		}
		left = append(left, x)
	}
	if x != nil {
		walk(x)
	}
	switch len(left) {
	case 0:
		return conds, nil
	case 1:
		return conds, left[0]
	}
	return conds, left
}

// cond returns t as a Cond when it is one.
func (t *Term) cond() (Cond, bool) {
	p := &t.Path
	if p.Entity != MemberNone || p.Attr == "" || p.Linked != nil || len(p.Subs) > 0 || p.Member != MemberNone || len(p.Keys) > 0 || len(t.Values) == 0 {
		return Cond{}, false
	}
	c := Cond{Attr: p.Attr, Min: math.Inf(-1), Max: math.Inf(1)}
	v := &t.Values[0]
	switch t.Op {
	case OpGt, OpGe, OpLt, OpLe:
		if v.Kind != KindNumber || len(t.Values) != 1 {
			return Cond{}, false
		}
		switch t.Op {
		case OpGt:
			c.Min, c.MinOpen = v.Num, true
		case OpGe:
			c.Min = v.Num
		case OpLt:
			c.Max, c.MaxOpen = v.Num, true
		case OpLe:
			c.Max = v.Num
		}
		return c, true
	case OpEq:
	default:
		return Cond{}, false
	}
	if v.Kind == KindNumber {
		switch {
		case t.Range && t.Values[1].Kind == KindNumber:
			c.Min, c.Max = v.Num, t.Values[1].Num
			return c, true
		case !t.Range && len(t.Values) == 1:
			c.Min, c.Max = v.Num, v.Num
			return c, true
		}
		return Cond{}, false
	}
	if t.Range {
		return Cond{}, false
	}
	c.Strings = make([]string, 0, 2*len(t.Values))
	for i := range t.Values {
		w := &t.Values[i]
		switch w.Kind {
		case KindString, KindWord, KindURI:
		default:
			return Cond{}, false
		}
		if w.HasTime {
			return Cond{}, false // may also compare as an instant
		}
		c.Strings = append(c.Strings, w.Str)
		if w.Expanded != "" {
			c.Strings = append(c.Strings, w.Expanded)
		}
	}
	return c, true
}
