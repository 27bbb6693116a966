package query

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
)

// Expr is a node of a parsed q expression: And, Or or *Term. A SQL
// translator walks it with a type switch; MatchQ evaluates it in memory.
type Expr interface {
	// String renders the expression in q syntax (attribute names as
	// written).
	String() string
	match(e *ngsild.Entity, r Resolver) bool
}

// And holds when every operand holds (the ";" operator).
type And []Expr

// Or holds when at least one operand holds (the "|" operator).
type Or []Expr

func (a And) String() string { return joinExprs(a, ";") }
func (o Or) String() string  { return joinExprs(o, "|") }

func joinExprs(xs []Expr, sep string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = x.String()
		if _, ok := x.(Or); ok {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, sep)
}

// Op is the operator of a q term.
type Op uint8

// The q operators of clause 4.9.
const (
	OpExists    Op = iota + 1 // attr
	OpNotExists               // !attr
	OpEq                      // ==
	OpNe                      // !=
	OpGt                      // >
	OpGe                      // >=
	OpLt                      // <
	OpLe                      // <=
	OpMatch                   // ~=
	OpNotMatch                // !~=
)

var opNames = [...]string{"", "", "!", "==", "!=", ">", ">=", "<", "<=", "~=", "!~="}

// String returns the operator as written in q.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "?"
}

// Kind is the kind of a literal in a q term.
type Kind uint8

// The literal kinds of clause 4.9.
const (
	KindNumber   Kind = iota + 1
	KindString        // a double-quoted string
	KindBool          // true or false
	KindDateTime      // e.g. 2018-12-04T12:00:00Z
	KindDate          // e.g. 2018-12-04
	KindTime          // e.g. 12:00:00Z
	KindURI           // an unquoted URI, e.g. urn:ngsi-ld:Building:1
	KindWord          // an unquoted word that is none of the above; compared as a string
)

// Value is one literal of a q term.
type Value struct {
	Kind Kind
	Num  float64
	Bool bool
	// Str is the text of a string, URI or word (unquoted), and the literal
	// text of a DateTime, Date or Time.
	Str string
	// Expanded is Str expanded as a term with the query's @context, when
	// that differs from Str: a VocabProperty value or an entity type is held
	// expanded, so equality also accepts the expansion.
	Expanded string
	// Time is the instant of a DateTime or Date (UTC midnight), the time of
	// day of a Time (on 0000-01-01), and, for a quoted string or word that
	// reads as a DateTime, that instant (HasTime is then set).
	Time    time.Time
	HasTime bool
}

// String renders v as q syntax.
func (v Value) String() string {
	switch v.Kind {
	case KindNumber:
		return strconv.FormatFloat(v.Num, 'g', -1, 64)
	case KindString:
		return strconv.Quote(v.Str)
	case KindBool:
		return strconv.FormatBool(v.Bool)
	}
	return v.Str
}

// Term is one comparison (or existence test) of a q expression.
type Term struct {
	Path Path
	Op   Op
	// Values holds the operand: one value, or several for a value list
	// (== and != only, any of them).
	Values []Value
	// Range is set for "a..b" (== and != only); Values then holds [a, b].
	Range bool
	// Regexp is the compiled pattern of ~= and !~=.
	Regexp *regexp.Regexp
}

// String renders t as q syntax.
func (t *Term) String() string {
	switch t.Op {
	case OpExists:
		return t.Path.Text
	case OpNotExists:
		return "!" + t.Path.Text
	case OpMatch, OpNotMatch:
		return t.Path.Text + t.Op.String() + t.Regexp.String()
	}
	sep := ","
	if t.Range {
		sep = ".."
	}
	parts := make([]string, len(t.Values))
	for i, v := range t.Values {
		parts[i] = v.String()
	}
	return t.Path.Text + t.Op.String() + strings.Join(parts, sep)
}

// Member names an entity member or attribute member a path may address
// instead of an attribute or sub-attribute.
type Member uint8

// The members a q path may address.
const (
	MemberNone       Member = iota
	MemberID                // entity id
	MemberType              // entity type (any of them)
	MemberScope             // entity scope (any of them)
	MemberCreatedAt         // entity or attribute createdAt
	MemberModifiedAt        // entity or attribute modifiedAt
	MemberObservedAt        // attribute observedAt
	MemberUnitCode          // attribute unitCode
	MemberDatasetID         // attribute datasetId
)

var entityMembers = map[string]Member{
	"id": MemberID, "type": MemberType, "scope": MemberScope,
	"createdAt": MemberCreatedAt, "modifiedAt": MemberModifiedAt,
}

var attrMembers = map[string]Member{
	"createdAt": MemberCreatedAt, "modifiedAt": MemberModifiedAt, "observedAt": MemberObservedAt,
	"unitCode": MemberUnitCode, "datasetId": MemberDatasetID,
}

// Path is the target of a q term: an attribute (or an entity member), then
// sub-attributes or a member separated by ".", then keys in "[ ]" into a
// compound value or a language map.
type Path struct {
	Text string // as written
	// Entity is set when the path addresses an entity member (id, type,
	// scope, createdAt, modifiedAt); Attr is then empty.
	Entity Member
	Attr   string   // expanded attribute name
	Subs   []string // expanded sub-attribute names, in order
	// Member is set when the path ends in an attribute member
	// (observedAt, createdAt, modifiedAt, unitCode, datasetId).
	Member Member
	// Keys are the "[key]" steps into the value; "*" (for a language map)
	// stands for any key.
	Keys []string
	// Linked is set for a linked-entity path "attr{path}" (clause 4.9 of
	// v1.9, EXAMPLE 13): the term holds for an entity when it holds for
	// one of the entities the Relationship attr points at, Linked then
	// being the path there. Subs, Member and Keys are then empty.
	Linked *Path
	// LinkTypes, from "attr{Type:path}" (EXAMPLE 14), restricts the
	// linked entities considered to those of this expanded type.
	LinkTypes []string
}

// ParseQ parses a q expression (clause 4.9), expanding attribute names with
// ctx. Operator precedence: ";" (AND) binds tighter than "|" (OR);
// parentheses group.
func ParseQ(src string, ctx *jsonld.Context) (Expr, error) {
	return ParseQWith(src, ctx, nil)
}

// ParseQWith is ParseQ with the expanded names of the attributes whose
// string values are expanded with ctx before the query runs (expandValues,
// see settleExpansion).
func ParseQWith(src string, ctx *jsonld.Context, expandValues []string) (Expr, error) {
	if err := checkLen("q", src); err != nil {
		return nil, err
	}
	p := &qParser{scanner: scanner{param: "q", src: src}, ctx: ctx, expandValues: expandValues}
	p.skipSpace()
	if p.eof() {
		return nil, p.errAt(0, "empty expression")
	}
	x, err := p.or(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		if p.peek() == ')' {
			return nil, p.errAt(p.pos, "unbalanced \")\"")
		}
		return nil, p.errAt(p.pos, "expected \";\", \"|\" or end of expression, found %s", p.describe(p.pos))
	}
	return x, nil
}

type qParser struct {
	scanner
	ctx *jsonld.Context
	// expandValues holds the expanded names of the attributes whose string
	// values are expanded with ctx (the expandValues parameter).
	expandValues []string
}

func (p *qParser) or(depth int) (Expr, error) {
	xs, err := list(&p.scanner, "|", func() (Expr, error) { return p.and(depth) })
	if err != nil || len(xs) == 1 {
		return first(xs), err
	}
	return Or(xs), nil
}

func (p *qParser) and(depth int) (Expr, error) {
	xs, err := list(&p.scanner, ";", func() (Expr, error) { return p.unit(depth) })
	if err != nil || len(xs) == 1 {
		return first(xs), err
	}
	return And(xs), nil
}

func (p *qParser) unit(depth int) (Expr, error) {
	p.skipSpace()
	if p.peek() != '(' {
		return p.term()
	}
	return group(&p.scanner, depth, p.or)
}

func (p *qParser) term() (Expr, error) {
	if p.accept("!") {
		p.skipSpace()
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		return &Term{Path: path, Op: OpNotExists}, nil
	}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	opAt := p.pos
	op := p.op()
	switch op {
	case 0:
		if c := p.peek(); c == 0 || c == ';' || c == '|' || c == ')' {
			return &Term{Path: path, Op: OpExists}, nil
		}
		if p.peek() == '=' {
			return nil, p.errAt(opAt, "unknown operator \"=\" (use \"==\")")
		}
		return nil, p.errAt(opAt, "expected an operator (==, !=, >, >=, <, <=, ~=, !~=), \";\", \"|\" or \")\" after %q, found %s", path.Text, p.describe(opAt))
	case OpMatch, OpNotMatch:
		re, err := p.regexp(op)
		if err != nil {
			return nil, err
		}
		return &Term{Path: path, Op: op, Regexp: re}, nil
	}
	t := &Term{Path: path, Op: op}
	if err := p.operand(t, opAt); err != nil {
		return nil, err
	}
	p.settleExpansion(t)
	return t, nil
}

func (p *qParser) op() Op {
	for _, c := range [...]struct {
		lit string
		op  Op
	}{{"==", OpEq}, {"!=", OpNe}, {"!~=", OpNotMatch}, {"~=", OpMatch}, {">=", OpGe}, {"<=", OpLe}, {">", OpGt}, {"<", OpLt}} {
		if p.accept(c.lit) {
			return c.op
		}
	}
	return 0
}

// path scans Attribute of clause 4.9: attrName, then ".name" steps
// (sub-attributes or the members observedAt, createdAt, modifiedAt,
// unitCode, datasetId), then "[key]" steps.
func (p *qParser) path() (Path, error) { return p.pathAt(0) }

// pathAt scans a path depth linked-entity steps ("{") deep.
func (p *qParser) pathAt(depth int) (Path, error) {
	start := p.pos
	first := p.name()
	if first == "" {
		if p.eof() {
			return Path{}, p.errAt(p.pos, "expected an attribute name, found end of input")
		}
		return Path{}, p.errAt(p.pos, "expected an attribute name, found %s", p.describe(p.pos))
	}
	var path Path
	if m, ok := entityMembers[first]; ok {
		path.Entity = m
	} else {
		path.Attr = p.ctx.ExpandTerm(first)
	}
	for p.peek() == '.' && !strings.HasPrefix(p.src[p.pos:], "..") {
		dot := p.pos
		p.pos++
		n := p.name()
		if n == "" {
			return Path{}, p.errAt(p.pos, "expected a sub-attribute name after \".\", found %s", p.describe(p.pos))
		}
		if path.Entity != MemberNone || path.Member != MemberNone {
			return Path{}, p.errAt(dot, "%q has no sub-attributes", p.src[start:dot])
		}
		if m, ok := attrMembers[n]; ok {
			path.Member = m
			continue
		}
		path.Subs = append(path.Subs, p.ctx.ExpandTerm(n))
	}
	for p.peek() == '[' {
		open := p.pos
		p.pos++
		p.skipSpace()
		k := p.name()
		if k == "" && p.accept("*") {
			k = "*"
		}
		if k == "" {
			return Path{}, p.errAt(p.pos, "expected a key after \"[\", found %s", p.describe(p.pos))
		}
		p.skipSpace()
		if !p.accept("]") {
			return Path{}, p.errAt(open, "unclosed \"[\"")
		}
		if path.Member != MemberNone || (path.Entity != MemberNone) {
			return Path{}, p.errAt(open, "%q has no compound value to index", p.src[start:open])
		}
		path.Keys = append(path.Keys, k)
	}
	if p.peek() == '{' {
		if err := p.linked(&path, start, depth); err != nil {
			return Path{}, err
		}
	}
	if p.peek() == '.' && !strings.HasPrefix(p.src[p.pos:], "..") {
		return Path{}, p.errAt(p.pos, "\".\" after \"]\" is not allowed: sub-attribute steps come before \"[key]\" steps")
	}
	path.Text = p.src[start:p.pos]
	return path, nil
}

// regexp scans the pattern of ~= and !~=: a double-quoted string, or the
// raw text up to the next top-level ";", "|" or unbalanced ")".
func (p *qParser) regexp(op Op) (*regexp.Regexp, error) {
	p.skipSpace()
	at := p.pos
	var pat string
	if p.peek() == '"' {
		s, err := p.quoted()
		if err != nil {
			return nil, err
		}
		pat = s
	} else {
		depth := 0
	scan:
		for p.pos < len(p.src) {
			switch p.src[p.pos] {
			case '\\':
				p.pos++
			case '(', '[':
				depth++
			case ']':
				depth--
			case ')':
				if depth == 0 {
					break scan
				}
				depth--
			case ';', '|':
				if depth <= 0 {
					break scan
				}
			}
			p.pos++
		}
		if p.pos > len(p.src) {
			p.pos = len(p.src)
		}
		pat = strings.TrimRight(p.src[at:p.pos], " ")
	}
	if pat == "" {
		return nil, p.errAt(at, "expected a regular expression after %q", op.String())
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, p.errAt(at, "invalid regular expression %q (%v)", pat, err)
	}
	return re, nil
}

// quoted scans a double-quoted string with \" and \\ escapes.
func (p *qParser) quoted() (string, error) {
	open := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '"':
			p.pos++
			return b.String(), nil
		case '\\':
			if p.pos+1 < len(p.src) {
				p.pos++
				c = p.src[p.pos]
			}
		}
		b.WriteByte(c)
		p.pos++
	}
	return "", p.errAt(open, "unterminated string")
}

// operand scans the value of a comparison: a value, a range "a..b" or a
// value list "a,b,c" (ranges and lists only after == and !=).
func (p *qParser) operand(t *Term, opAt int) error {
	v, err := p.value(t.Op, opAt)
	if err != nil {
		return err
	}
	t.Values = append(t.Values, v)
	p.skipSpace()
	switch {
	case p.accept(".."):
		if t.Op != OpEq && t.Op != OpNe {
			return p.errAt(p.pos-2, "a range is only allowed after == or !=, not %q", t.Op.String())
		}
		hi, err := p.value(t.Op, p.pos-2)
		if err != nil {
			return err
		}
		if !rangeable(v.Kind, hi.Kind) {
			return p.errAt(opAt, "range bounds %s and %s are not comparable numbers, strings or times", v, hi)
		}
		t.Values = append(t.Values, hi)
		t.Range = true
	case p.peek() == ',':
		if t.Op != OpEq && t.Op != OpNe {
			return p.errAt(p.pos, "a value list is only allowed after == or !=, not %q", t.Op.String())
		}
		for p.accept(",") {
			v, err := p.value(t.Op, p.pos-1)
			if err != nil {
				return err
			}
			t.Values = append(t.Values, v)
			p.skipSpace()
		}
	}
	if t.Op >= OpGt && t.Op <= OpLe && v.Kind == KindBool {
		return p.errAt(opAt, "%q cannot compare the boolean %v", t.Op.String(), v.Bool)
	}
	return nil
}

func rangeable(a, b Kind) bool {
	norm := func(k Kind) Kind {
		if k == KindURI || k == KindWord {
			return KindString
		}
		return k
	}
	a, b = norm(a), norm(b)
	return a == b && a != KindBool
}

// value scans one literal.
func (p *qParser) value(op Op, after int) (Value, error) {
	p.skipSpace()
	at := p.pos
	if p.peek() == '"' {
		s, err := p.quoted()
		if err != nil {
			return Value{}, err
		}
		v := Value{Kind: KindString, Str: s}
		p.expand(&v)
		return v, nil
	}
	if c := p.peek(); c == '=' || c == '<' || c == '>' || c == '!' || c == '~' {
		return Value{}, p.errAt(at, "unexpected %s after %q; expected a value", p.describe(at), p.src[after:at])
	}
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ';' || c == '|' || c == ')' || c == ',' || c == '"' || (c == '.' && strings.HasPrefix(p.src[p.pos:], "..")) {
			break
		}
		p.pos++
	}
	raw := strings.TrimRight(p.src[at:p.pos], " \t")
	if raw == "" {
		return Value{}, p.errAt(at, "expected a value after %q", p.src[after:at])
	}
	return p.classify(raw), nil
}

func (p *qParser) expand(v *Value) {
	if t, ok := parseDateTime(v.Str); ok {
		v.Time, v.HasTime = t, true
	}
	if p.ctx != nil && validTerm(v.Str) {
		if x := p.ctx.ExpandTerm(v.Str); x != v.Str {
			v.Expanded = x
		}
	}
}

// validTerm reports whether s could be a JSON-LD term or compact IRI (no
// spaces, not empty), worth expanding.
func validTerm(s string) bool {
	return s != "" && !strings.ContainsAny(s, " /#?") && len(s) < 256
}

// classify types an unquoted literal (clause 4.9: Number, true/false,
// DateTime, Date, Time, URI). Anything else is kept as a word and compared
// as a string, as most brokers do.
func (p *qParser) classify(raw string) Value {
	switch raw {
	case "true":
		return Value{Kind: KindBool, Bool: true, Str: raw}
	case "false":
		return Value{Kind: KindBool, Str: raw}
	}
	if c := raw[0]; c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9') {
		if f, err := strconv.ParseFloat(raw, 64); err == nil && isDecimal(raw) {
			return Value{Kind: KindNumber, Num: f, Str: raw}
		}
	}
	if t, ok := parseDateTime(plusFromSpace(raw)); ok {
		return Value{Kind: KindDateTime, Time: t, HasTime: true, Str: raw}
	}
	if t, err := time.Parse(time.DateOnly, raw); err == nil {
		return Value{Kind: KindDate, Time: t, Str: raw}
	}
	if t, ok := parseTimeOfDay(raw); ok {
		return Value{Kind: KindTime, Time: t, Str: raw}
	}
	v := Value{Kind: KindWord, Str: raw}
	if strings.Contains(raw, ":") {
		v.Kind = KindURI
	}
	p.expand(&v)
	return v
}

// parseDateTime reads an ISO 8601 DateTime with a time zone (RFC 3339), or
// without one (read as UTC).
func parseDateTime(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[10] != 'T' {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// parseTimeOfDay reads a Time (hh:mm:ss[.fff][Z|±hh:mm]) as a time on
// 0000-01-01 UTC.
func parseTimeOfDay(s string) (time.Time, bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return time.Time{}, false
	}
	for _, layout := range [...]string{"15:04:05.999999999Z07:00", "15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// isDecimal reports whether s is written with decimal digits, signs, "."
// and exponents only (no hex, underscores, Inf or NaN).
func isDecimal(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}

// plusFromSpace restores the "+" of a DateTime's zone offset that
// form-style URL decoding turned into a space ("...T08:00:00 06:00").
func plusFromSpace(s string) string {
	if n := len(s); n >= 25 && s[n-6] == ' ' && s[n-3] == ':' {
		return s[:n-6] + "+" + s[n-5:]
	}
	return s
}
