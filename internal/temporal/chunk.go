package temporal

import (
	"encoding/binary"
	"slices"
	"sync"

	"github.com/qala-city/qala/internal/ngsild"
)

// A chunk holds up to maxChunk instances of one series within one window
// (a UTC day), column by column:
//
//	version, n
//	key times       first, first delta, then delta-of-deltas run-length encoded
//	numbers         first, then deltas run-length encoded (per-series instance numbers)
//	createdAt       delta-of-deltas, or deltas from the key time, whichever is smaller
//	modifiedAt      deltas from createdAt, run-length encoded
//	flags           run-length encoded (observed, deleted, plain number)
//	unitCodes       a table, then run-length encoded indexes
//	values          the numeric column of the plain-number instances
//	others          the general encoding of the remaining instances
//
// Regular 1-minute readings of a decimal value therefore cost about two
// bytes an instance before pebble's block compression.

const chunkVersion = 1

// maxChunk bounds the instances of one chunk; a window with more is split.
const maxChunk = 4096

// Instance flags.
const (
	flagObserved uint8 = 1 << iota // the instance has observedAt (= its key time)
	flagDeleted                    // a deletion record: deletedAt = createdAt
	flagNumber                     // a plain-number Property held in the numeric column
)

// inst is one stored attribute instance.
type inst struct {
	t        int64 // key time, Unix ms: observedAt if set, else createdAt
	num      uint64
	created  int64
	modified int64
	flags    uint8
	unit     string
	f        float64      // the value of a plain-number instance
	a        *ngsild.Attr // any other instance, without times, unitCode and datasetId
}

// less orders instances by key time, then by number.
func (x *inst) less(y *inst) int {
	switch {
	case x.t < y.t:
		return -1
	case x.t > y.t:
		return 1
	case x.num < y.num:
		return -1
	case x.num > y.num:
		return 1
	}
	return 0
}

func sortInsts(s []inst) { slices.SortFunc(s, func(a, b inst) int { return a.less(&b) }) }

// plainNumber reports whether a is a Property whose value is a finite number
// and that has nothing else but observedAt, unitCode and the system times:
// such an instance is stored in the numeric column.
func plainNumber(a *ngsild.Attr) (float64, bool) {
	if a.Type != ngsild.Property || len(a.Sub) > 0 || a.ObjectType != nil || a.Object != nil || a.LanguageMap != nil {
		return 0, false
	}
	f, ok := a.Value.(float64)
	return f, ok && finite(f)
}

// appendRLE appends vals as (zigzag value, extra repeats) pairs.
func appendRLE(b []byte, vals []int64) []byte {
	for i := 0; i < len(vals); {
		j := i + 1
		for j < len(vals) && vals[j] == vals[i] {
			j++
		}
		b = binary.AppendVarint(b, vals[i])
		b = binary.AppendUvarint(b, uint64(j-i-1))
		i = j
	}
	return b
}

func (r *reader) rle(out []int64) {
	for i := 0; i < len(out) && r.err == nil; {
		v := r.varint()
		run := r.uvarint()
		if run >= uint64(len(out)-i) {
			r.fail()
			return
		}
		for k := 0; k <= int(run); k++ {
			out[i] = v
			i++
		}
	}
}

// appendDod appends a column as its first value, first delta and the
// run-length encoded delta-of-deltas.
func appendDod(b []byte, vals []int64, tmp []int64) []byte {
	b = binary.AppendVarint(b, vals[0])
	if len(vals) == 1 {
		return b
	}
	b = binary.AppendVarint(b, vals[1]-vals[0])
	tmp = tmp[:0]
	for i := 2; i < len(vals); i++ {
		tmp = append(tmp, (vals[i]-vals[i-1])-(vals[i-1]-vals[i-2]))
	}
	return appendRLE(b, tmp)
}

func (r *reader) dod(out []int64) {
	out[0] = r.varint()
	if len(out) == 1 {
		return
	}
	d := r.varint()
	out[1] = out[0] + d
	r.rle(out[2:])
	for i := 2; i < len(out); i++ {
		d += out[i]
		out[i] = out[i-1] + d
	}
}

// encodeChunk encodes insts, which must be sorted and at most maxChunk.
func encodeChunk(insts []inst) []byte {
	n := len(insts)
	b := make([]byte, 0, 64+3*n)
	b = append(b, chunkVersion)
	b = binary.AppendUvarint(b, uint64(n))
	col := make([]int64, n)
	tmp := make([]int64, 0, n)

	for i := range insts {
		col[i] = insts[i].t
	}
	b = appendDod(b, col, tmp)

	for i := range insts {
		col[i] = int64(insts[i].num)
	}
	b = binary.AppendVarint(b, col[0])
	tmp = tmp[:0]
	for i := 1; i < n; i++ {
		tmp = append(tmp, col[i]-col[i-1])
	}
	b = appendRLE(b, tmp)

	// createdAt: the smaller of two encodings.
	for i := range insts {
		col[i] = insts[i].created
	}
	byDod := appendDod(nil, col, tmp)
	tmp = tmp[:0]
	for i := range insts {
		tmp = append(tmp, insts[i].created-insts[i].t)
	}
	byKey := appendRLE(nil, tmp)
	if len(byDod) <= len(byKey) {
		b = append(append(b, 0), byDod...)
	} else {
		b = append(append(b, 1), byKey...)
	}

	tmp = tmp[:0]
	for i := range insts {
		tmp = append(tmp, insts[i].modified-insts[i].created)
	}
	b = appendRLE(b, tmp)

	tmp = tmp[:0]
	for i := range insts {
		tmp = append(tmp, int64(insts[i].flags))
	}
	b = appendRLE(b, tmp)

	var units []string
	tmp = tmp[:0]
	for i := range insts {
		u := insts[i].unit
		idx := 0
		if u != "" {
			idx = slices.Index(units, u) + 1
			if idx == 0 {
				units = append(units, u)
				idx = len(units)
			}
		}
		tmp = append(tmp, int64(idx))
	}
	b = binary.AppendUvarint(b, uint64(len(units)))
	for _, u := range units {
		b = appendStr(b, u)
	}
	b = appendRLE(b, tmp)

	var nums []float64
	for i := range insts {
		if insts[i].flags&flagNumber != 0 {
			nums = append(nums, insts[i].f)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(nums)))
	if len(nums) > 0 {
		b = appendNumbers(b, nums)
	}
	for i := range insts {
		if insts[i].flags&flagNumber == 0 {
			b = appendAttr(b, insts[i].a, true, 0)
		}
	}
	return b
}

// decodeChunk decodes a chunk, appending its instances to out.
func decodeChunk(b []byte, out []inst) ([]inst, error) { return decodeChunkParts(b, out, true) }

// scratch holds the columns decodeChunkParts decodes through.
type scratch struct {
	col  []int64
	nums []float64
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// decodeChunkParts is decodeChunk; without values it decodes only the
// times, numbers and flags (what finding where instances lie needs), not
// the values and unitCodes.
func decodeChunkParts(b []byte, out []inst, values bool) ([]inst, error) {
	r := &reader{b: b}
	if r.byte() != chunkVersion {
		return out, errCorrupt
	}
	un := r.uvarint()
	if r.err != nil || un == 0 || un > maxChunk {
		return out, errCorrupt
	}
	n := int(un)
	base := len(out)
	out = slices.Grow(out, n)[:base+n]
	s := out[base:]
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.col = slices.Grow(sc.col[:0], n)[:n]
	col := sc.col

	r.dod(col)
	for i := range s {
		s[i] = inst{t: col[i]}
	}
	first := r.varint()
	col[0] = first
	if n > 1 {
		r.rle(col[1:])
	}
	acc := first
	for i := range s {
		if i > 0 {
			acc += col[i]
		}
		s[i].num = uint64(acc)
	}
	switch r.byte() {
	case 0:
		r.dod(col)
		for i := range s {
			s[i].created = col[i]
		}
	case 1:
		r.rle(col)
		for i := range s {
			s[i].created = s[i].t + col[i]
		}
	default:
		r.fail()
	}
	r.rle(col)
	for i := range s {
		s[i].modified = s[i].created + col[i]
	}
	r.rle(col)
	numbers := 0
	for i := range s {
		if !values {
			s[i].flags = uint8(col[i])
			continue
		}
		if col[i] < 0 || col[i] > int64(flagObserved|flagDeleted|flagNumber) {
			r.fail()
			break
		}
		s[i].flags = uint8(col[i])
		if s[i].flags&flagNumber != 0 {
			numbers++
		}
	}
	if !values {
		if r.err != nil {
			return out[:base], r.err
		}
		return out, nil
	}
	nu := r.count()
	units := make([]string, nu)
	for i := range units {
		units[i] = r.str()
	}
	r.rle(col)
	for i := range s {
		if idx := col[i]; idx > 0 {
			if idx > int64(len(units)) {
				r.fail()
				break
			}
			s[i].unit = units[idx-1]
		}
	}
	nn := int(min(r.uvarint(), uint64(n)+1))
	if nn != numbers {
		r.fail()
	}
	if nn > 0 && r.err == nil {
		sc.nums = r.numbers(sc.nums, nn)
		nums := sc.nums
		k := 0
		for i := range s {
			if s[i].flags&flagNumber != 0 {
				if k >= len(nums) {
					r.fail()
					break
				}
				s[i].f = nums[k]
				k++
			}
		}
		if k != len(nums) {
			r.fail()
		}
	}
	for i := range s {
		if r.err != nil {
			break
		}
		if s[i].flags&flagNumber == 0 {
			s[i].a = r.attr(0)
		}
	}
	if r.err != nil {
		return out[:base], r.err
	}
	return out, nil
}

// toAttr builds the attribute instance as the API renders it.
func (x *inst) toAttr(dataset string) *ngsild.Attr {
	a := new(ngsild.Attr)
	x.fillAttr(a, dataset)
	return a
}

// fillAttr sets *a to the attribute instance as the API renders it.
func (x *inst) fillAttr(a *ngsild.Attr, dataset string) {
	if x.flags&flagNumber != 0 {
		*a = ngsild.Attr{Type: ngsild.Property, Value: x.f}
	} else {
		*a = *x.a
	}
	a.DatasetID = dataset
	a.UnitCode = x.unit
	a.CreatedAt = msTime(x.created)
	a.ModifiedAt = msTime(x.modified)
	if x.flags&flagObserved != 0 {
		a.ObservedAt = msTime(x.t)
	}
	if x.flags&flagDeleted != 0 {
		a.DeletedAt = msTime(x.created)
	}
}

// fromAttr builds a stored instance from an attribute instance (the key
// time and flags from its observedAt; created and modified as given). An
// instance holding the NGSI-LD Null (IsNullValue) is a deletion record
// whatever deleted says.
func fromAttr(a *ngsild.Attr, created, modified int64, deleted bool) inst {
	x := inst{created: created, modified: modified, unit: a.UnitCode}
	deleted = deleted || IsNullValue(a)
	if !a.ObservedAt.IsZero() {
		x.t = a.ObservedAt.UnixMilli()
		x.flags |= flagObserved
	} else {
		x.t = created
	}
	if deleted {
		x.flags |= flagDeleted
	}
	if f, ok := plainNumber(a); ok && x.flags&flagObserved != 0 {
		x.flags |= flagNumber
		x.f = f
		return x
	}
	c := *a
	c.ObservedAt, c.CreatedAt, c.ModifiedAt, c.DeletedAt = zeroTime, zeroTime, zeroTime, zeroTime
	c.UnitCode, c.DatasetID = "", ""
	x.a = &c
	return x
}
