package mqtt

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxRemaining is the largest Remaining Length a variable byte integer can
// express (MQTT 5.0, 1.5.5).
const maxRemaining = 268435455

var errShort = errors.New("mqtt: packet too short")

// reader consumes a packet body; the first error sticks and every later read
// returns a zero value, so decoders read straight through and check once.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail(errShort)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uint16() uint16 {
	if len(r.b) < 2 {
		r.fail(errShort)
		return 0
	}
	v := uint16(r.b[0])<<8 | uint16(r.b[1])
	r.b = r.b[2:]
	return v
}

func (r *reader) uint32() uint32 {
	if len(r.b) < 4 {
		r.fail(errShort)
		return 0
	}
	v := uint32(r.b[0])<<24 | uint32(r.b[1])<<16 | uint32(r.b[2])<<8 | uint32(r.b[3])
	r.b = r.b[4:]
	return v
}

func (r *reader) varint() uint32 {
	v, n, err := decodeVarint(r.b)
	if err != nil {
		r.fail(err)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) binary() []byte {
	n := int(r.uint16())
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail(errShort)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// string reads a UTF-8 Encoded String (MQTT 5.0, 1.5.4): valid UTF-8 without
// U+0000.
func (r *reader) string() string {
	b := r.binary()
	if r.err != nil {
		return ""
	}
	s := string(b)
	if err := checkString(s); err != nil {
		r.fail(err)
		return ""
	}
	return s
}

func checkString(s string) error {
	if len(s) > 0xffff {
		return fmt.Errorf("mqtt: string of %d bytes is too long", len(s))
	}
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return errors.New("mqtt: malformed UTF-8 string")
	}
	return nil
}

func decodeVarint(b []byte) (uint32, int, error) {
	var v uint32
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, errShort
		}
		v |= uint32(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			if i > 0 && b[i] == 0 {
				// Not the minimal encoding; the spec allows only minimal ones.
				return 0, 0, errors.New("mqtt: non-minimal variable byte integer")
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("mqtt: malformed variable byte integer")
}

func appendVarint(b []byte, v uint32) ([]byte, error) {
	if v > maxRemaining {
		return nil, fmt.Errorf("mqtt: %d does not fit a variable byte integer", v)
	}
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b, nil
		}
	}
}

func appendBinary(b []byte, s string) ([]byte, error) {
	if len(s) > 0xffff {
		return nil, fmt.Errorf("mqtt: %d bytes do not fit a length-prefixed field", len(s))
	}
	b = append(b, byte(len(s)>>8), byte(len(s)))
	return append(b, s...), nil
}

func appendString(b []byte, s string) ([]byte, error) {
	if err := checkString(s); err != nil {
		return nil, err
	}
	return appendBinary(b, s)
}

func appendUint16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }
