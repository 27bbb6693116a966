package query

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/qala-city/qala/internal/problem"
)

// maxDepth bounds the nesting of parentheses in every expression language,
// so that hostile input cannot exhaust the stack.
const maxDepth = 32

// maxLen bounds the length of one expression parameter.
const maxLen = 8192

// scanner walks one parameter's text and builds errors that point at an
// offset in it.
type scanner struct {
	param string // the parameter name, e.g. "q"
	src   string
	pos   int
}

// errAt returns a BadRequestData error pointing at offset off.
func (s *scanner) errAt(off int, format string, args ...any) *problem.Error {
	return problem.BadData("%s: %s at offset %d: %s", s.param, fmt.Sprintf(format, args...), off, quoteSrc(s.src))
}

// quoteSrc quotes the parameter text for an error detail, eliding the middle
// of very long texts.
func quoteSrc(src string) string {
	if len(src) > 240 {
		return fmt.Sprintf("%q", src[:200]) + "…"
	}
	return fmt.Sprintf("%q", src)
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

func (s *scanner) peek() byte {
	if s.pos < len(s.src) {
		return s.src[s.pos]
	}
	return 0
}

// skipSpace skips blanks, which clients leave around operators.
func (s *scanner) skipSpace() {
	for s.pos < len(s.src) && (s.src[s.pos] == ' ' || s.src[s.pos] == '\t' || s.src[s.pos] == '\n' || s.src[s.pos] == '\r') {
		s.pos++
	}
}

// accept consumes lit if the text continues with it.
func (s *scanner) accept(lit string) bool {
	if len(s.src)-s.pos >= len(lit) && s.src[s.pos:s.pos+len(lit)] == lit {
		s.pos += len(lit)
		return true
	}
	return false
}

// name scans an NGSI-LD name (clause 4.6.2: letters, digits, "_", an
// optional "prefix:"), also accepting "-" as many vocabularies use it.
func (s *scanner) name() string {
	start := s.pos
	for s.pos < len(s.src) {
		r, n := utf8.DecodeRuneInString(s.src[s.pos:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == ':' || r == '-') {
			break
		}
		s.pos += n
	}
	return s.src[start:s.pos]
}

// describe names what sits at offset off for an error message.
func (s *scanner) describe(off int) string {
	if off >= len(s.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(s.src[off:])
	return fmt.Sprintf("%q", r)
}

// checkLen refuses over-long parameters before parsing them.
func checkLen(param, src string) error {
	if len(src) > maxLen {
		return problem.BadData("%s: expression of %d bytes exceeds the limit of %d", param, len(src), maxLen)
	}
	return nil
}

// list parses item (sep item)*, where sep is any one of the bytes of seps:
// the shape of every "a;b", "a|b" and "a,b" level of the q, scopeQ and type
// selection grammars.
func list[T any](s *scanner, seps string, item func() (T, error)) ([]T, error) {
	var xs []T
	for {
		x, err := item()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
		s.skipSpace()
		if s.eof() || strings.IndexByte(seps, s.src[s.pos]) < 0 {
			return xs, nil
		}
		s.pos++
	}
}

// group parses "(" inner ")" at the current position, which holds "(",
// refusing nesting deeper than maxDepth.
func group[T any](s *scanner, depth int, inner func(depth int) (T, error)) (T, error) {
	var zero T
	open := s.pos
	if depth >= maxDepth {
		return zero, s.errAt(open, "parentheses nested deeper than %d", maxDepth)
	}
	s.pos++
	x, err := inner(depth + 1)
	if err != nil {
		return zero, err
	}
	s.skipSpace()
	if !s.accept(")") {
		if s.eof() {
			return zero, s.errAt(open, "unclosed \"(\"")
		}
		return zero, s.errAt(s.pos, "expected \")\", found %s", s.describe(s.pos))
	}
	return x, nil
}

// first returns the only element of xs, or the zero value when there is none.
func first[T any](xs []T) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	return xs[0]
}
