// Package jsondec is a fast, strict decoder of JSON request bodies into the
// generic form the rest of Qala works on: nil, bool, float64, string, []any
// and map[string]any.
//
// Decode gives, for every input, the same value and the same verdict on
// validity as encoding/json.Unmarshal into a variable of type any, and for
// invalid input the same message and offset, except that nesting is capped
// at MaxDepth instead of 10000. It is several times faster than
// encoding/json because it makes a single pass over the input without
// reflection, sizes every map and slice exactly when it is closed, and
// reuses the strings of repeated object keys and short string values
// within one call.
package jsondec

import (
	"strconv"
	"sync"
)

// MaxDepth is the deepest nesting of arrays and objects that Decode accepts.
const MaxDepth = 512

// SyntaxError is the error Decode returns for input it does not accept.
type SyntaxError struct {
	// Offset is the number of bytes read when the error was found, as in
	// encoding/json: the offending byte is at Offset-1, or the input ended.
	Offset int64
	// Msg describes the error, worded as encoding/json words it.
	Msg string
}

// Error returns the message followed by the offset.
func (e *SyntaxError) Error() string {
	return e.Msg + " (at byte " + strconv.FormatInt(e.Offset, 10) + ")"
}

// Error contexts, worded as the encoding/json scanner words them.
const (
	ctxBeginValue   = "looking for beginning of value"
	ctxBeginKey     = "looking for beginning of object key string"
	ctxAfterKey     = "after object key"
	ctxAfterPair    = "after object key:value pair"
	ctxAfterElem    = "after array element"
	ctxAfterTop     = "after top-level value"
	ctxString       = "in string literal"
	ctxEscape       = "in string escape code"
	ctxHex          = "in \\u hexadecimal character escape"
	ctxNumber       = "in numeric literal"
	ctxDecimalPoint = "after decimal point in numeric literal"
	ctxExponent     = "in exponent of numeric literal"
)

// syntaxError reports an unexpected byte at data[i] in context ctx, or the
// end of input when i is past it. Like encoding/json, which feeds a space to
// its scanner at the end of input, it reports the end of input as an
// invalid ' ' where a space is not allowed either (inside a number, a
// literal or an escape), and as "unexpected end of JSON input" elsewhere.
func syntaxError(data []byte, i int, ctx string, spaceInvalid bool) *SyntaxError {
	if i < len(data) {
		return &SyntaxError{Offset: int64(i) + 1, Msg: "invalid character " + quoteChar(data[i]) + " " + ctx}
	}
	if spaceInvalid {
		return &SyntaxError{Offset: int64(len(data)), Msg: "invalid character ' ' " + ctx}
	}
	return &SyntaxError{Offset: int64(len(data)), Msg: "unexpected end of JSON input"}
}

// quoteChar formats c as a quoted character literal, as encoding/json does.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// frame is an open array or object: its elements so far are vals[start:]
// and, for an object, their keys are keys[keyStart:].
type frame struct {
	start    int
	keyStart int
	object   bool
}

// cacheSize is the number of slots in each per-call string cache.
const cacheSize = 64

// maxCachedValue is the longest string value the value cache keeps.
const maxCachedValue = 128

// decoder holds the scratch space of one Decode call. Decoders are pooled
// for their buffers only: reset drops every value a call built, and the
// string caches are invalidated, so no call sees another's data.
type decoder struct {
	vals   []any
	keys   []string
	frames []frame
	buf    []byte // unescaped string bytes

	// usedVals and usedKeys are the most entries vals and keys have held;
	// closing a container leaves stale entries above the new length, and
	// reset clears them all at once.
	usedVals, usedKeys int

	// keyCache and valCache hold the strings of recent keys and short
	// values of this call: an entry is valid only if its slot in keyGen or
	// valGen equals gen, which every call changes, so nothing is reused
	// across calls and nothing needs clearing between them (stale entries
	// pin at most cacheSize short strings each).
	keyCache [cacheSize]string
	valCache [cacheSize]any
	keyGen   [cacheSize]uint32
	valGen   [cacheSize]uint32
	gen      uint32

	// numErr is the first number found out of float64 range. Like
	// encoding/json, Decode reports it only if the input has no syntax
	// error.
	numErr *SyntaxError
}

var decoders = sync.Pool{New: func() any {
	return &decoder{
		vals:   make([]any, 0, 256),
		keys:   make([]string, 0, 128),
		frames: make([]frame, 0, 16),
		gen:    1,
	}
}}

// maxPooledVals is the capacity above which a decoder's value stack is not
// kept for reuse, so one huge body does not pin memory.
const maxPooledVals = 1 << 16

// reset drops every reference the decoder holds.
func (d *decoder) reset() {
	clear(d.vals[:max(d.usedVals, len(d.vals))])
	clear(d.keys[:max(d.usedKeys, len(d.keys))])
	d.vals, d.keys, d.frames = d.vals[:0], d.keys[:0], d.frames[:0]
	d.usedVals, d.usedKeys = 0, 0
	d.numErr = nil
	if d.gen++; d.gen == 0 {
		d.keyGen, d.valGen, d.gen = [cacheSize]uint32{}, [cacheSize]uint32{}, 1
	}
}

// Decode decodes the single JSON value in b (RFC 8259; whitespace may
// surround it) into nil, bool, float64, string, []any or map[string]any,
// exactly as encoding/json.Unmarshal does into a variable of type any:
// numbers are rounded as by strconv.ParseFloat, invalid UTF-8 and lone
// surrogates become U+FFFD, and the last of duplicate object keys wins.
// Every error is a *SyntaxError: for invalid JSON, for nesting deeper than
// MaxDepth, and for a number out of float64 range. Decode never retains b
// and is safe for concurrent use.
func Decode(b []byte) (any, error) {
	d := decoders.Get().(*decoder)
	v, err := d.decode(b)
	if cap(d.vals) <= maxPooledVals && cap(d.buf) <= maxPooledVals {
		d.reset()
		decoders.Put(d)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// isSpace reports whether c is JSON whitespace.
func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t'
}

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(data []byte, i int) int {
	for i < len(data) && data[i] <= ' ' && isSpace(data[i]) {
		i++
	}
	return i
}

// decode runs the parser: an explicit stack of open containers replaces
// recursion, so depth costs heap, not goroutine stack.
func (d *decoder) decode(data []byte) (any, error) {
	i := 0
	var v any
	var err *SyntaxError
	for {
		// Parse the start of a value at i.
		i = skipSpace(data, i)
		if i >= len(data) {
			return nil, syntaxError(data, i, ctxBeginValue, false)
		}
		switch c := data[i]; c {
		case '{':
			if len(d.frames) >= MaxDepth {
				return nil, &SyntaxError{Offset: int64(i) + 1, Msg: "nesting too deep"}
			}
			i = skipSpace(data, i+1)
			if i < len(data) && data[i] == '}' {
				i++
				v = map[string]any{}
				break
			}
			d.frames = append(d.frames, frame{start: len(d.vals), keyStart: len(d.keys), object: true})
			if i, err = d.key(data, i); err != nil {
				return nil, err
			}
			continue
		case '[':
			if len(d.frames) >= MaxDepth {
				return nil, &SyntaxError{Offset: int64(i) + 1, Msg: "nesting too deep"}
			}
			j := skipSpace(data, i+1)
			if j < len(data) && data[j] == ']' {
				i = j + 1
				v = []any{}
				break
			}
			d.frames = append(d.frames, frame{start: len(d.vals)})
			i = j
			continue
		case '"':
			if v, i, err = d.stringValue(data, i); err != nil {
				return nil, err
			}
		case 't':
			if i, err = literal(data, i, "true"); err != nil {
				return nil, err
			}
			v = true
		case 'f':
			if i, err = literal(data, i, "false"); err != nil {
				return nil, err
			}
			v = false
		case 'n':
			if i, err = literal(data, i, "null"); err != nil {
				return nil, err
			}
			v = nil
		default:
			if c != '-' && (c < '0' || c > '9') {
				return nil, syntaxError(data, i, ctxBeginValue, false)
			}
			var f float64
			if f, i, err = d.number(data, i); err != nil {
				return nil, err
			}
			v = f
		}

		// v is complete: add it to its container and close every
		// container that ends right after it.
		for {
			if len(d.frames) == 0 {
				i = skipSpace(data, i)
				if i < len(data) {
					return nil, syntaxError(data, i, ctxAfterTop, false)
				}
				if d.numErr != nil {
					return nil, d.numErr
				}
				return v, nil
			}
			d.vals = append(d.vals, v)
			f := &d.frames[len(d.frames)-1]
			i = skipSpace(data, i)
			if i >= len(data) {
				return nil, syntaxError(data, i, "", false)
			}
			c := data[i]
			if f.object {
				if c == ',' {
					if i, err = d.key(data, skipSpace(data, i+1)); err != nil {
						return nil, err
					}
					break
				}
				if c != '}' {
					return nil, syntaxError(data, i, ctxAfterPair, false)
				}
				i++
				v = d.closeObject(f)
			} else {
				if c == ',' {
					i++
					break
				}
				if c != ']' {
					return nil, syntaxError(data, i, ctxAfterElem, false)
				}
				i++
				v = d.closeArray(f)
			}
			d.frames = d.frames[:len(d.frames)-1]
		}
	}
}

// closeObject builds the map of the object f, sized exactly.
func (d *decoder) closeObject(f *frame) map[string]any {
	vals, keys := d.vals[f.start:], d.keys[f.keyStart:]
	m := make(map[string]any, len(vals))
	for k, key := range keys {
		m[key] = vals[k]
	}
	d.usedVals = max(d.usedVals, len(d.vals))
	d.usedKeys = max(d.usedKeys, len(d.keys))
	d.vals, d.keys = d.vals[:f.start], d.keys[:f.keyStart]
	return m
}

// closeArray builds the slice of the array f, sized exactly.
func (d *decoder) closeArray(f *frame) []any {
	vals := d.vals[f.start:]
	a := make([]any, len(vals))
	copy(a, vals)
	d.usedVals = max(d.usedVals, len(d.vals))
	d.vals = d.vals[:f.start]
	return a
}

// key parses an object key starting at data[i] and the colon after it, and
// pushes the key. It returns the index after the colon.
func (d *decoder) key(data []byte, i int) (int, *SyntaxError) {
	if i >= len(data) || data[i] != '"' {
		return 0, syntaxError(data, i, ctxBeginKey, false)
	}
	k, i, err := d.keyString(data, i)
	if err != nil {
		return 0, err
	}
	d.keys = append(d.keys, k)
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return 0, syntaxError(data, i, ctxAfterKey, false)
	}
	return i + 1, nil
}

// literal checks that the literal lit (true, false or null) starts at
// data[i] and returns the index after it.
func literal(data []byte, i int, lit string) (int, *SyntaxError) {
	for k := 1; k < len(lit); k++ {
		if i+k >= len(data) || data[i+k] != lit[k] {
			return 0, syntaxError(data, i+k, "in literal "+lit+" (expecting "+quoteChar(lit[k])+")", true)
		}
	}
	return i + len(lit), nil
}
