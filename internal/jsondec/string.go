package jsondec

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

const (
	lsbs = 0x0101010101010101
	msbs = 0x8080808080808080
)

// specialMask returns a word whose lowest set bit is the high bit of the
// first byte of x (in memory order) that is a quote, a backslash, a control
// character or not ASCII, and 0 if there is none. Bits above the lowest may
// be spurious, which is why only the lowest is used.
func specialMask(x uint64) uint64 {
	q := x ^ (lsbs * '"')
	s := x ^ (lsbs * '\\')
	return ((x-lsbs*0x20)&^x | (q-lsbs)&^q | (s-lsbs)&^s | x) & msbs
}

// scanPlain returns the index of the first byte at or after j that ends a
// run of string content that can be kept as it is: a quote, a backslash, a
// control character, the start of invalid UTF-8, or len(data).
func scanPlain(data []byte, j int) int {
	for {
		for j+8 <= len(data) {
			if m := specialMask(binary.LittleEndian.Uint64(data[j:])); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		if j >= len(data) {
			return j
		}
		c := data[j]
		if c < utf8.RuneSelf {
			if c == '"' || c == '\\' || c < ' ' {
				return j
			}
			j++
			continue
		}
		r, size := utf8.DecodeRune(data[j:])
		if r == utf8.RuneError && size == 1 {
			return j
		}
		j += size
	}
}

// cacheSlot picks the cache slot of a string from its length and a few of
// its bytes; a collision only costs a miss.
func cacheSlot(b []byte) int {
	n := len(b)
	if n == 0 {
		return 0
	}
	return (n*131 + int(b[0])*31 + int(b[n-1])*7 + int(b[n>>1])) & (cacheSize - 1)
}

// keyString decodes the object key whose opening quote is data[i] and
// returns it with the index after its closing quote. Keys are reused from a
// per-call cache, since bodies repeat "type", "value", "observedAt"...
func (d *decoder) keyString(data []byte, i int) (string, int, *SyntaxError) {
	j := scanPlain(data, i+1)
	if j < len(data) && data[j] == '"' {
		b := data[i+1 : j]
		slot := cacheSlot(b)
		if wellKnownKeys[slot] == string(b) {
			return wellKnownKeys[slot], j + 1, nil
		}
		if d.keyGen[slot] == d.gen && d.keyCache[slot] == string(b) {
			return d.keyCache[slot], j + 1, nil
		}
		s := string(b)
		d.keyCache[slot], d.keyGen[slot] = s, d.gen
		return s, j + 1, nil
	}
	return d.unquote(data, i+1, j)
}

// stringValue decodes the string whose opening quote is data[i] and returns
// it boxed, with the index after its closing quote. Short strings are boxed
// once per call and reused ("Property", unit codes, timestamps...).
func (d *decoder) stringValue(data []byte, i int) (any, int, *SyntaxError) {
	j := scanPlain(data, i+1)
	if j < len(data) && data[j] == '"' {
		b := data[i+1 : j]
		if len(b) == 0 {
			return "", j + 1, nil
		}
		if len(b) > maxCachedValue {
			return string(b), j + 1, nil
		}
		slot := cacheSlot(b)
		if e := wellKnownValues[slot]; e != nil && e.(string) == string(b) {
			return e, j + 1, nil
		}
		if e := d.valCache[slot]; d.valGen[slot] == d.gen && e.(string) == string(b) {
			return e, j + 1, nil
		}
		var v any = string(b)
		d.valCache[slot], d.valGen[slot] = v, d.gen
		return v, j + 1, nil
	}
	s, j, err := d.unquote(data, i+1, j)
	if err != nil {
		return nil, 0, err
	}
	return s, j, nil
}

// unquote decodes the string whose content starts at data[start] and whose
// first byte that needs rewriting (or is invalid) is data[j]. It returns
// the string and the index after its closing quote. Escapes, invalid UTF-8
// and surrogates are handled exactly as encoding/json handles them.
func (d *decoder) unquote(data []byte, start, j int) (string, int, *SyntaxError) {
	buf := append(d.buf[:0], data[start:j]...)
	defer func() { d.buf = buf }()
	for {
		if j >= len(data) {
			return "", 0, syntaxError(data, j, ctxString, false)
		}
		c := data[j]
		switch {
		case c == '"':
			return string(buf), j + 1, nil
		case c == '\\':
			j++
			if j >= len(data) {
				return "", 0, syntaxError(data, j, ctxEscape, true)
			}
			switch e := data[j]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, err := hex4(data, j+1)
				if err != nil {
					return "", 0, err
				}
				j += 4
				if utf16.IsSurrogate(r) {
					// A surrogate pairs only with an immediately following
					// \uXXXX that completes it; otherwise it becomes U+FFFD
					// and the next escape is decoded on its own.
					if r2, ok := peekU4(data, j+1); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							buf = utf8.AppendRune(buf, dec)
							j += 7
							continue
						}
					}
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", 0, syntaxError(data, j, ctxEscape, true)
			}
			j++
		case c < ' ':
			return "", 0, syntaxError(data, j, ctxString, false)
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			j++
		default:
			r, size := utf8.DecodeRune(data[j:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
				j++
				continue
			}
			k := scanPlain(data, j+size)
			buf = append(buf, data[j:k]...)
			j = k
		}
	}
}

// hexVal returns the value of the hexadecimal digit c, or -1.
func hexVal(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// hex4 decodes the four hexadecimal digits of a \u escape at data[i:].
func hex4(data []byte, i int) (rune, *SyntaxError) {
	var r rune
	for k := i; k < i+4; k++ {
		if k >= len(data) {
			return 0, syntaxError(data, k, ctxHex, true)
		}
		h := hexVal(data[k])
		if h < 0 {
			return 0, syntaxError(data, k, ctxHex, true)
		}
		r = r<<4 | h
	}
	return r, nil
}

// peekU4 decodes the escape \uXXXX at data[i:] if there is a whole one.
func peekU4(data []byte, i int) (rune, bool) {
	if len(data)-i < 6 || data[i] != '\\' || data[i+1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range data[i+2 : i+6] {
		h := hexVal(c)
		if h < 0 {
			return 0, false
		}
		r = r<<4 | h
	}
	return r, true
}
