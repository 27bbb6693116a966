package embedded

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
)

// The entity encoding, held in memory and in pebble (the id is the key, not
// part of the value):
//
//	entity := version(1) types scope time(createdAt) time(modifiedAt) time(deletedAt) attrs
//	types  := uvarint(n) n×uvarint(symbol)
//	scope  := uvarint(n) n×str
//	attrs  := uvarint(n) n×(uvarint(symbol name) uvarint(k) k×attr)
//	attr   := byte(type) uvarint(flags) fields present by flags, in flag order
//	str    := uvarint(x): x even is symbol x/2, x odd an inline string of x/2 bytes
//	time   := uvarint(0) zero | uvarint(1) varint(unix ms) | uvarint(2) varint(unix ns)
//	          | uvarint(3) varint(unix s) uvarint(ns) | uvarint(4) the previous non-zero time
//	value  := tagged JSON value (see tag* constants)
//
// Attribute names and types are always symbols; JSON object keys, language
// tags, unit codes and object types are symbols when short (see symbols).
const codecVersion = 1

const (
	fValue = 1 << iota
	fLangMap
	fObject
	fObjectType
	fDatasetID
	fObservedAt
	fUnitCode
	fCreatedAt
	fModifiedAt
	fDeletedAt
	fSub
)

const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt   // zigzag varint of an integral float64
	tagFloat // 8 bytes, little endian
	tagString
	tagArray
	tagObject
	tagJSON // any other Go value, as JSON
)

var errCorrupt = errors.New("embedded: corrupt entity encoding")

// encoder encodes entities, interning strings in syms (the caller persists
// the symbols it adds).
type encoder struct {
	syms *symbols
	buf  []byte
	last time.Time // the previous non-zero time written
}

func (e *encoder) encode(ent *ngsild.Entity) ([]byte, error) {
	b, err := e.encodeBuf(ent)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

// encodeBuf is encode into the encoder's own buffer, valid until its next
// use.
func (e *encoder) encodeBuf(ent *ngsild.Entity) ([]byte, error) {
	e.buf = e.buf[:0]
	e.last = time.Time{}
	e.buf = append(e.buf, codecVersion)
	e.uvarint(uint64(len(ent.Types)))
	for _, t := range ent.Types {
		e.uvarint(uint64(e.sym(t)))
	}
	e.uvarint(uint64(len(ent.Scope)))
	for _, s := range ent.Scope {
		e.str(s, false)
	}
	e.time(ent.CreatedAt)
	e.time(ent.ModifiedAt)
	e.time(ent.DeletedAt)
	e.uvarint(uint64(len(ent.Attrs)))
	for _, name := range sortedKeys(ent.Attrs) {
		insts := ent.Attrs[name]
		e.uvarint(uint64(e.sym(name)))
		e.uvarint(uint64(len(insts)))
		for _, a := range insts {
			if a == nil {
				return nil, fmt.Errorf("embedded: attribute %q: nil instance", name)
			}
			if err := e.attr(a); err != nil {
				return nil, fmt.Errorf("embedded: attribute %q: %w", name, err)
			}
		}
	}
	return e.buf, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (e *encoder) attr(a *ngsild.Attr) error {
	var flags uint64
	if a.Value != nil {
		flags |= fValue
	}
	if a.LanguageMap != nil {
		flags |= fLangMap
	}
	if a.Object != nil {
		flags |= fObject
	}
	if a.ObjectType != nil {
		flags |= fObjectType
	}
	if a.DatasetID != "" {
		flags |= fDatasetID
	}
	if !a.ObservedAt.IsZero() {
		flags |= fObservedAt
	}
	if a.UnitCode != "" {
		flags |= fUnitCode
	}
	if !a.CreatedAt.IsZero() {
		flags |= fCreatedAt
	}
	if !a.ModifiedAt.IsZero() {
		flags |= fModifiedAt
	}
	if !a.DeletedAt.IsZero() {
		flags |= fDeletedAt
	}
	if a.Sub != nil {
		flags |= fSub
	}
	e.buf = append(e.buf, byte(a.Type))
	e.uvarint(flags)
	if flags&fValue != 0 {
		if err := e.value(a.Value); err != nil {
			return err
		}
	}
	if flags&fLangMap != 0 {
		e.uvarint(uint64(len(a.LanguageMap)))
		for _, k := range sortedKeys(a.LanguageMap) {
			e.str(k, true)
			if err := e.value(a.LanguageMap[k]); err != nil {
				return err
			}
		}
	}
	if flags&fObject != 0 {
		if err := e.value(a.Object); err != nil {
			return err
		}
	}
	if flags&fObjectType != 0 {
		if err := e.value(a.ObjectType); err != nil {
			return err
		}
	}
	if flags&fDatasetID != 0 {
		e.str(a.DatasetID, false)
	}
	if flags&fObservedAt != 0 {
		e.time(a.ObservedAt)
	}
	if flags&fUnitCode != 0 {
		e.str(a.UnitCode, true)
	}
	if flags&fCreatedAt != 0 {
		e.time(a.CreatedAt)
	}
	if flags&fModifiedAt != 0 {
		e.time(a.ModifiedAt)
	}
	if flags&fDeletedAt != 0 {
		e.time(a.DeletedAt)
	}
	if flags&fSub != 0 {
		e.uvarint(uint64(len(a.Sub)))
		for _, name := range sortedKeys(a.Sub) {
			s := a.Sub[name]
			if s == nil {
				return fmt.Errorf("sub-attribute %q: nil", name)
			}
			e.uvarint(uint64(e.sym(name)))
			if err := e.attr(s); err != nil {
				return fmt.Errorf("sub-attribute %q: %w", name, err)
			}
		}
	}
	return nil
}

func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, tagNil)
	case bool:
		if x {
			e.buf = append(e.buf, tagTrue)
		} else {
			e.buf = append(e.buf, tagFalse)
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 && !(x == 0 && math.Signbit(x)) {
			e.buf = append(e.buf, tagInt)
			e.buf = binary.AppendVarint(e.buf, int64(x))
			return nil
		}
		e.buf = append(e.buf, tagFloat)
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(x))
	case string:
		e.buf = append(e.buf, tagString)
		e.uvarint(uint64(len(x)))
		e.buf = append(e.buf, x...)
	case []any:
		e.buf = append(e.buf, tagArray)
		e.uvarint(uint64(len(x)))
		for _, el := range x {
			if err := e.value(el); err != nil {
				return err
			}
		}
	case map[string]any:
		e.buf = append(e.buf, tagObject)
		e.uvarint(uint64(len(x)))
		for _, k := range sortedKeys(x) {
			e.str(k, true)
			if err := e.value(x[k]); err != nil {
				return err
			}
		}
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("value of Go type %T: %w", v, err)
		}
		e.buf = append(e.buf, tagJSON)
		e.uvarint(uint64(len(b)))
		e.buf = append(e.buf, b...)
	}
	return nil
}

func (e *encoder) uvarint(x uint64) { e.buf = binary.AppendUvarint(e.buf, x) }

// sym interns s unconditionally.
func (e *encoder) sym(s string) uint32 {
	id, _ := e.syms.intern(s)
	return id
}

// str writes s as a symbol reference when optional interning allows it (or
// it is already a symbol), else inline.
func (e *encoder) str(s string, internable bool) {
	if id, ok := e.syms.lookup(s); ok {
		e.uvarint(uint64(id) << 1)
		return
	}
	if internable && len(s) <= maxOptionalSymbolLen && e.syms.len() < maxOptionalSymbols {
		e.uvarint(uint64(e.sym(s)) << 1)
		return
	}
	e.uvarint(uint64(len(s))<<1 | 1)
	e.buf = append(e.buf, s...)
}

func (e *encoder) time(t time.Time) {
	switch {
	case t.IsZero():
		e.uvarint(0)
		return
	case t.Equal(e.last) && t.Location() == time.UTC:
		e.uvarint(4)
		return
	}
	e.last = t
	switch {
	case t.Nanosecond()%1e6 == 0 && t.Year() > -200000 && t.Year() < 200000:
		e.uvarint(1)
		e.buf = binary.AppendVarint(e.buf, t.UnixMilli())
	case t.Year() >= 1678 && t.Year() <= 2261:
		e.uvarint(2)
		e.buf = binary.AppendVarint(e.buf, t.UnixNano())
	default:
		e.uvarint(3)
		e.buf = binary.AppendVarint(e.buf, t.Unix())
		e.uvarint(uint64(t.Nanosecond()))
	}
}

// decoder decodes one entity; it reads the symbol table under its read lock,
// held by the caller (decodeEntity).
type decoder struct {
	b     []byte
	names []string
	err   error
	last  time.Time
	attrs []ngsild.Attr  // preallocated attributes, taken in order
	ptrs  []*ngsild.Attr // preallocated single-instance slices
	// only, when partial, lists the attribute symbols to decode; the
	// others are skipped.
	only    []uint32
	partial bool
}

// decodeEntity decodes data, the encoding of the entity with that id.
func decodeEntity(syms *symbols, id string, data []byte) (*ngsild.Entity, error) {
	return decodePartial(syms, id, data, nil)
}

// decodePartial decodes data but only the attributes whose symbols are in
// only (sorted), or all when only is nil.
func decodePartial(syms *symbols, id string, data []byte, only []uint32) (*ngsild.Entity, error) {
	syms.mu.RLock()
	d := decoder{b: data, names: syms.names, only: only, partial: only != nil}
	ent := d.entity(id)
	syms.mu.RUnlock()
	if d.err != nil {
		return nil, fmt.Errorf("entity %q: %w", id, d.err)
	}
	return ent, nil
}

func (d *decoder) entity(id string) *ngsild.Entity {
	if v := d.byte(); v != codecVersion {
		d.fail()
		return nil
	}
	ent := &ngsild.Entity{ID: id}
	n := d.count()
	ent.Types = make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		ent.Types = append(ent.Types, d.sym())
	}
	if n := d.count(); n > 0 {
		ent.Scope = make([]string, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			ent.Scope = append(ent.Scope, d.str())
		}
	}
	ent.CreatedAt = d.time()
	ent.ModifiedAt = d.time()
	ent.DeletedAt = d.time()
	if n := d.count(); n > 0 {
		m := n
		if d.partial {
			m = min(n, len(d.only))
		}
		ent.Attrs = make(map[string][]*ngsild.Attr, m)
		// Most attributes have one instance: allocate those together.
		d.attrs = make([]ngsild.Attr, m)
		d.ptrs = make([]*ngsild.Attr, n)
		for i := 0; i < n && d.err == nil; i++ {
			sym := d.symID()
			name := d.names[sym]
			k := d.count()
			if d.partial {
				if _, found := slices.BinarySearch(d.only, sym); !found {
					for j := 0; j < k && d.err == nil; j++ {
						d.scanAttr(0, false)
					}
					continue
				}
			}
			var insts []*ngsild.Attr
			if k == 1 {
				insts = d.ptrs[i : i+1 : i+1]
				insts[0] = d.attr(0)
			} else {
				insts = make([]*ngsild.Attr, 0, k)
				for j := 0; j < k && d.err == nil; j++ {
					insts = append(insts, d.attr(0))
				}
			}
			ent.Attrs[name] = insts
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return ent
}

// maxDepth bounds the nesting of sub-attributes and JSON values.
const maxDepth = 256

func (d *decoder) attr(depth int) *ngsild.Attr {
	if depth > maxDepth {
		d.fail()
		return nil
	}
	a := d.newAttr()
	a.Type = ngsild.AttrType(d.byte())
	flags := d.uvarint()
	if flags&fValue != 0 {
		a.Value = d.value(depth)
	}
	if flags&fLangMap != 0 {
		n := d.count()
		a.LanguageMap = make(map[string]any, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.str()
			a.LanguageMap[k] = d.value(depth)
		}
	}
	if flags&fObject != 0 {
		a.Object = d.value(depth)
	}
	if flags&fObjectType != 0 {
		a.ObjectType = d.value(depth)
	}
	if flags&fDatasetID != 0 {
		a.DatasetID = d.str()
	}
	if flags&fObservedAt != 0 {
		a.ObservedAt = d.time()
	}
	if flags&fUnitCode != 0 {
		a.UnitCode = d.str()
	}
	if flags&fCreatedAt != 0 {
		a.CreatedAt = d.time()
	}
	if flags&fModifiedAt != 0 {
		a.ModifiedAt = d.time()
	}
	if flags&fDeletedAt != 0 {
		a.DeletedAt = d.time()
	}
	if flags&fSub != 0 {
		n := d.count()
		a.Sub = make(map[string]*ngsild.Attr, n)
		for i := 0; i < n && d.err == nil; i++ {
			name := d.sym()
			a.Sub[name] = d.attr(depth + 1)
		}
	}
	return a
}

func (d *decoder) value(depth int) any {
	if depth > maxDepth {
		d.fail()
		return nil
	}
	switch d.byte() {
	case tagNil:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagInt:
		return float64(d.varint())
	case tagFloat:
		if len(d.b) < 8 {
			d.fail()
			return nil
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		return f
	case tagString:
		return string(d.bytes(d.count()))
	case tagArray:
		n := d.count()
		s := make([]any, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			s = append(s, d.value(depth+1))
		}
		return s
	case tagObject:
		n := d.count()
		m := make(map[string]any, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.str()
			m[k] = d.value(depth + 1)
		}
		return m
	case tagJSON:
		var v any
		if err := json.Unmarshal(d.bytes(d.count()), &v); err != nil && d.err == nil {
			d.err = fmt.Errorf("%w: %w", errCorrupt, err)
		}
		return v
	default:
		d.fail()
		return nil
	}
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) varint() int64 {
	x, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return x
}

// count reads a length and checks it against the bytes left (every element
// takes at least one byte), so corrupt input cannot make huge allocations.
func (d *decoder) count() int {
	x := d.uvarint()
	if x > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(x)
}

func (d *decoder) bytes(n int) []byte {
	if n > len(d.b) {
		d.fail()
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

func (d *decoder) sym() string {
	x := d.uvarint()
	if x >= uint64(len(d.names)) {
		d.fail()
		return ""
	}
	return d.names[x]
}

func (d *decoder) str() string {
	x := d.uvarint()
	if x&1 == 0 {
		x >>= 1
		if x >= uint64(len(d.names)) {
			d.fail()
			return ""
		}
		return d.names[x]
	}
	return string(d.bytes(int(min(x>>1, uint64(len(d.b)+1)))))
}

func (d *decoder) time() time.Time {
	var t time.Time
	switch d.uvarint() {
	case 0:
		return time.Time{}
	case 1:
		t = time.UnixMilli(d.varint()).UTC()
	case 2:
		t = time.Unix(0, d.varint()).UTC()
	case 3:
		s := d.varint()
		ns := d.uvarint()
		if ns >= 1e9 {
			d.fail()
			return time.Time{}
		}
		t = time.Unix(s, int64(ns)).UTC()
	case 4:
		if d.last.IsZero() {
			d.fail()
		}
		return d.last
	default:
		d.fail()
		return time.Time{}
	}
	d.last = t
	return t
}

// newAttr returns a zero attribute, from the preallocated ones while they last.
func (d *decoder) newAttr() *ngsild.Attr {
	if len(d.attrs) == 0 {
		return &ngsild.Attr{}
	}
	a := &d.attrs[0]
	d.attrs = d.attrs[1:]
	return a
}
