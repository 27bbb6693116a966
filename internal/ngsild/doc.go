package ngsild

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Member is one key/value pair of a Doc.
type Member struct {
	Key   string
	Value any
}

// Doc is a JSON object whose members keep the order they were added in, so
// that responses print id, type, scope and then attributes in a stable,
// customary order. Values are JSON values as encoding/json decodes them
// (nil, bool, float64, json.Number, string, []any, map[string]any), ints,
// time.Time and *time.Time (rendered with FormatTime), []string, Doc and []Doc.
type Doc []Member

// Add appends a member and returns the extended Doc.
func (d Doc) Add(key string, value any) Doc { return append(d, Member{key, value}) }

// Get returns the value of the first member named key.
func (d Doc) Get(key string) (any, bool) {
	for _, m := range d {
		if m.Key == key {
			return m.Value, true
		}
	}
	return nil, false
}

// MarshalJSON encodes d with its members in order.
func (d Doc) MarshalJSON() ([]byte, error) {
	return d.AppendJSON(make([]byte, 0, 512))
}

// AppendJSON appends the JSON encoding of d to b.
func (d Doc) AppendJSON(b []byte) ([]byte, error) {
	return appendValue(b, d)
}

// errUnsupported is returned for values JSON cannot hold (NaN, infinities).
var errUnsupported = errors.New("unsupported JSON value")

func appendDoc(b []byte, d Doc) ([]byte, error) {
	b = append(b, '{')
	var err error
	for i, m := range d {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.Key)
		b = append(b, ':')
		if b, err = appendValue(b, m.Value); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case *string:
		return appendString(b, *x), nil
	case Doc:
		return appendDoc(b, x)
	case *Doc:
		return appendDoc(b, *x)
	case float64:
		return appendFloat(b, x)
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case json.RawMessage:
		// Already encoded (a renderer's bulk output): copied as is.
		return append(b, x...), nil
	case json.Number:
		if x == "" {
			return append(b, '0'), nil
		}
		return append(b, x...), nil
	case time.Time:
		return appendTime(b, x), nil
	case *time.Time:
		return appendTime(b, *x), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendValue(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case []Doc:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendDoc(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case []string:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e)
		}
		return append(b, ']'), nil
	case map[string]any:
		var small [8]string // most objects (a geometry, an address) are small
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			if b, err = appendValue(b, x[k]); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	default:
		raw, err := json.Marshal(x)
		if err != nil {
			return b, fmt.Errorf("encode %T: %w", v, err)
		}
		return append(b, raw...), nil
	}
}

// appendTime appends t as a JSON string in TimeFormat, by hand for years
// 0 to 9999 (time.AppendFormat is several times slower).
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		b = append(b, '"')
		b = t.AppendFormat(b, TimeFormat)
		return append(b, '"')
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(b, '"',
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z', '"')
}

// appendFloat formats like encoding/json: shortest representation, exponent
// form only for very small or very large magnitudes.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("encode %v: %w", f, errUnsupported)
	}
	abs := math.Abs(f)
	if abs < 1e15 && f == math.Trunc(f) && (f != 0 || !math.Signbit(f)) {
		// Integral values, the most frequent, skip the shortest-float search.
		return strconv.AppendInt(b, int64(f), 10), nil
	}
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		n := len(b)
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		// Clean up e-09 to e-9, as encoding/json does.
		m := len(b)
		if m-n >= 4 && b[m-4] == 'e' && b[m-3] == '-' && b[m-2] == '0' {
			b[m-2] = b[m-1]
			b = b[:m-1]
		}
		return b, nil
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64), nil
}

const hexDigits = "0123456789abcdef"

// plainASCII marks the ASCII bytes a JSON string holds unescaped.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s as a JSON string. It escapes what JSON requires
// plus U+2028/U+2029 (as encoding/json does) and replaces invalid UTF-8 with
// U+FFFD; it does not HTML-escape.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip 8 plain ASCII bytes at a time.
		for i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plain8 reports whether the 8 bytes of s are all plainASCII: none is a
// control character, '"', '\\' or above 0x7f. (x - 0x01…) &^ x & 0x80…
// is non-zero exactly when some byte of x is zero.
func plain8(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	q := w ^ (ones * '"')
	bs := w ^ (ones * '\\')
	ctl := (w - ones*0x20) &^ w // a byte below 0x20 (given none above 0x7f)
	return (w|ctl|(q-ones)&^q|(bs-ones)&^bs)&highs == 0
}

// AppendJSON appends the JSON encoding of any value that may appear in a
// response (Doc, []Doc, and the generic JSON types; others fall back to
// encoding/json) to b.
func AppendJSON(b []byte, v any) ([]byte, error) { return appendValue(b, v) }

// AppendFloat appends f as AppendJSON renders a float64, without boxing it.
func AppendFloat(b []byte, f float64) ([]byte, error) { return appendFloat(b, f) }

// AppendString appends s as a JSON string, as AppendJSON renders a string.
func AppendString(b []byte, s string) []byte { return appendString(b, s) }
