package temporal

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"time"
	"unsafe"

	"github.com/qala-city/qala/internal/ngsild"
)

// The general encoding of attribute instances that are not plain numbers
// (strings, objects, relationships, language maps, geometries, instances
// with sub-attributes): a kind byte, a member mask, and the members, JSON
// values in a compact tagged binary form.

var errCorrupt = errors.New("temporal: corrupt encoding")

// JSON value tags.
const (
	tagNull byte = iota
	tagFalse
	tagTrue
	tagFloat
	tagString
	tagArray
	tagObject
	tagInt // an integral float64 held in a zigzag varint
)

// appendValue appends the binary form of a JSON value (nil, bool, float64,
// string, []any, []string, map[string]any). Object keys are sorted so that
// equal values encode equally (distinctCount compares encodings).
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, tagNull)
	case bool:
		if x {
			return append(b, tagTrue)
		}
		return append(b, tagFalse)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 && !(x == 0 && math.Signbit(x)) {
			return binary.AppendVarint(append(b, tagInt), int64(x))
		}
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x))
	case int:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case string:
		return appendStr(append(b, tagString), x)
	case []any:
		b = binary.AppendUvarint(append(b, tagArray), uint64(len(x)))
		for _, e := range x {
			b = appendValue(b, e)
		}
		return b
	case []string:
		b = binary.AppendUvarint(append(b, tagArray), uint64(len(x)))
		for _, e := range x {
			b = appendStr(append(b, tagString), e)
		}
		return b
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = binary.AppendUvarint(append(b, tagObject), uint64(len(keys)))
		for _, k := range keys {
			b = appendStr(b, k)
			b = appendValue(b, x[k])
		}
		return b
	}
	// Values Qala never produces (json.Number, structs) are stored as null
	// rather than failing the write.
	return append(b, tagNull)
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader decodes the binary forms; the first error sticks.
type reader struct {
	b    []byte
	err  error
	view bool // str returns strings that alias b instead of copies
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length that must fit in what is left (each element takes
// at least one byte), so corrupt input cannot make it allocate wildly.
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	n := r.count()
	b := r.b[:n]
	r.b = r.b[n:]
	if r.view && n > 0 {
		return unsafe.String(&b[0], n)
	}
	return string(b)
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

const maxValueDepth = 128

func (r *reader) value(depth int) any {
	if depth > maxValueDepth {
		r.fail()
		return nil
	}
	switch r.byte() {
	case tagNull:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagFloat:
		return math.Float64frombits(r.u64())
	case tagInt:
		return float64(r.varint())
	case tagString:
		return r.str()
	case tagArray:
		n := r.count()
		out := make([]any, n)
		for i := range out {
			out[i] = r.value(depth + 1)
		}
		return out
	case tagObject:
		n := r.count()
		out := make(map[string]any, n)
		for i := 0; i < n && r.err == nil; i++ {
			k := r.str()
			out[k] = r.value(depth + 1)
		}
		return out
	}
	r.fail()
	return nil
}

// Member mask bits of an encoded attribute.
const (
	hasValue = 1 << iota
	hasObject
	hasLangMap
	hasObjectType
	hasSub
	hasObserved // sub-attributes only: the instance's own times
	hasUnit
	hasCreated
	hasModified
	hasDataset
)

// appendAttr appends the general encoding of a. At the top level of an
// instance, observedAt, unitCode, the system times and the datasetId live in
// the chunk's columns and are left out; sub-attributes carry their own.
func appendAttr(b []byte, a *ngsild.Attr, top bool, depth int) []byte {
	var mask uint64
	if a.Value != nil {
		mask |= hasValue
	}
	if a.Object != nil {
		mask |= hasObject
	}
	if a.LanguageMap != nil {
		mask |= hasLangMap
	}
	if a.ObjectType != nil {
		mask |= hasObjectType
	}
	if len(a.Sub) > 0 && depth < maxValueDepth {
		mask |= hasSub
	}
	if !top {
		if !a.ObservedAt.IsZero() {
			mask |= hasObserved
		}
		if a.UnitCode != "" {
			mask |= hasUnit
		}
		if !a.CreatedAt.IsZero() {
			mask |= hasCreated
		}
		if !a.ModifiedAt.IsZero() {
			mask |= hasModified
		}
		if a.DatasetID != "" {
			mask |= hasDataset
		}
	}
	b = append(b, byte(a.Type))
	b = binary.AppendUvarint(b, mask)
	if mask&hasValue != 0 {
		b = appendValue(b, a.Value)
	}
	if mask&hasObject != 0 {
		b = appendValue(b, a.Object)
	}
	if mask&hasLangMap != 0 {
		b = appendValue(b, a.LanguageMap)
	}
	if mask&hasObjectType != 0 {
		b = appendValue(b, a.ObjectType)
	}
	if mask&hasObserved != 0 {
		b = binary.AppendVarint(b, a.ObservedAt.UnixMilli())
	}
	if mask&hasUnit != 0 {
		b = appendStr(b, a.UnitCode)
	}
	if mask&hasCreated != 0 {
		b = binary.AppendVarint(b, a.CreatedAt.UnixMilli())
	}
	if mask&hasModified != 0 {
		b = binary.AppendVarint(b, a.ModifiedAt.UnixMilli())
	}
	if mask&hasDataset != 0 {
		b = appendStr(b, a.DatasetID)
	}
	if mask&hasSub != 0 {
		keys := make([]string, 0, len(a.Sub))
		for k := range a.Sub {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = binary.AppendUvarint(b, uint64(len(keys)))
		for _, k := range keys {
			b = appendStr(b, k)
			b = appendAttr(b, a.Sub[k], false, depth+1)
		}
	}
	return b
}

func (r *reader) attr(depth int) *ngsild.Attr {
	if depth > maxValueDepth {
		r.fail()
		return nil
	}
	a := &ngsild.Attr{Type: ngsild.AttrType(r.byte())}
	mask := r.uvarint()
	if mask&hasValue != 0 {
		a.Value = r.value(0)
	}
	if mask&hasObject != 0 {
		a.Object = r.value(0)
	}
	if mask&hasLangMap != 0 {
		if m, ok := r.value(0).(map[string]any); ok {
			a.LanguageMap = m
		}
	}
	if mask&hasObjectType != 0 {
		a.ObjectType = r.value(0)
	}
	if mask&hasObserved != 0 {
		a.ObservedAt = msTime(r.varint())
	}
	if mask&hasUnit != 0 {
		a.UnitCode = r.str()
	}
	if mask&hasCreated != 0 {
		a.CreatedAt = msTime(r.varint())
	}
	if mask&hasModified != 0 {
		a.ModifiedAt = msTime(r.varint())
	}
	if mask&hasDataset != 0 {
		a.DatasetID = r.str()
	}
	if mask&hasSub != 0 {
		n := r.count()
		a.Sub = make(map[string]*ngsild.Attr, n)
		for i := 0; i < n && r.err == nil; i++ {
			k := r.str()
			a.Sub[k] = r.attr(depth + 1)
		}
	}
	return a
}

// msTime converts Unix milliseconds to a UTC time.
func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
