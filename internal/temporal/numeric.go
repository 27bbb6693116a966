package temporal

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
)

// The numeric column of a chunk holds the values of its plain-number
// instances. Sensor readings are mostly decimals with a few digits (21.37,
// 412, 0.5), so the first choice is to scale them by 10^k to integers and
// store the varint deltas, runs of equal values taking two bytes; values
// that are not such decimals are XOR-encoded against their predecessor as
// in Gorilla (Pelkonen et al., VLDB 2015).

const (
	numDecimal byte = 1
	numXOR     byte = 2
)

// maxDecimalDigits bounds the scale tried for the decimal encoding.
const maxDecimalDigits = 9

var pow10 = [...]float64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// decimalScale returns the smallest k such that every value is exactly
// i/10^k for an integer i of at most 53 bits, and false if there is none.
// A negative zero counts as zero (it reads back as 0, the same JSON number).
func decimalScale(vals []float64) (int, bool) {
	k := 0
	for _, v := range vals {
		for ; k <= maxDecimalDigits; k++ {
			if exactDecimal(v, k) {
				break
			}
		}
		if k > maxDecimalDigits {
			return 0, false
		}
	}
	return k, true
}

func exactDecimal(v float64, k int) bool {
	p := pow10[k]
	s := v * p
	if !finite(s) || math.Abs(s) >= 1<<53 {
		return false
	}
	r := math.Round(s)
	return r/p == v
}

// appendNumbers appends the numeric column of vals.
func appendNumbers(b []byte, vals []float64) []byte {
	if k, ok := decimalScale(vals); ok {
		b = append(b, numDecimal, byte(k))
		p := pow10[k]
		var prev int64
		for i := 0; i < len(vals); {
			cur := int64(math.Round(vals[i] * p))
			d := cur - prev
			b = binary.AppendVarint(b, d)
			prev = cur
			i++
			if d == 0 {
				run := 0
				for i < len(vals) && int64(math.Round(vals[i]*p)) == prev {
					run++
					i++
				}
				b = binary.AppendUvarint(b, uint64(run))
			}
		}
		return b
	}
	b = append(b, numXOR)
	var w bitWriter
	w.b = b
	prev := math.Float64bits(vals[0])
	w.write(prev, 64)
	lead, trail := uint(65), uint(0) // no window yet
	for _, v := range vals[1:] {
		cur := math.Float64bits(v)
		x := prev ^ cur
		prev = cur
		if x == 0 {
			w.write(0, 1)
			continue
		}
		l, t := uint(bits.LeadingZeros64(x)), uint(bits.TrailingZeros64(x))
		if l > 31 {
			l = 31
		}
		if lead <= 64 && l >= lead && t >= trail {
			w.write(0b10, 2)
			w.write(x>>trail, 64-lead-trail)
			continue
		}
		lead, trail = l, t
		sig := 64 - l - t
		w.write(0b11, 2)
		w.write(uint64(l), 5)
		w.write(uint64(sig&63), 6) // 64 is written as 0
		w.write(x>>t, sig)
	}
	return w.flush()
}

// numbers decodes n values of a numeric column into out[:0].
func (r *reader) numbers(out []float64, n int) []float64 {
	out = slices.Grow(out[:0], n)
	switch r.byte() {
	case numDecimal:
		k := int(r.byte())
		if k > maxDecimalDigits {
			r.fail()
			return nil
		}
		p := pow10[k]
		var cur int64
		for len(out) < n && r.err == nil {
			d := r.varint()
			cur += d
			out = append(out, float64(cur)/p)
			if d == 0 && r.err == nil {
				run := r.uvarint()
				if run > uint64(n-len(out)) {
					r.fail()
					return nil
				}
				for ; run > 0; run-- {
					out = append(out, float64(cur)/p)
				}
			}
		}
	case numXOR:
		br := bitReader{b: r.b}
		prev := br.read(64)
		out = append(out, math.Float64frombits(prev))
		var lead, trail uint
		for len(out) < n && br.err == nil {
			if br.read(1) == 0 {
				out = append(out, math.Float64frombits(prev))
				continue
			}
			if br.read(1) == 1 {
				lead = uint(br.read(5))
				sig := uint(br.read(6))
				if sig == 0 {
					sig = 64
				}
				if lead+sig > 64 {
					r.fail()
					return nil
				}
				trail = 64 - lead - sig
			}
			x := br.read(64-lead-trail) << trail
			prev ^= x
			out = append(out, math.Float64frombits(prev))
		}
		if br.err != nil {
			r.fail()
			return nil
		}
		r.b = br.rest()
	default:
		r.fail()
		return nil
	}
	if len(out) != n {
		r.fail()
	}
	return out
}

// bitWriter appends bits, most significant first.
type bitWriter struct {
	b     []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) write(v uint64, n uint) {
	for n > 0 {
		take := min(n, 64-w.nbits)
		chunk := v >> (n - take)
		if take < 64 {
			chunk &= 1<<take - 1
		}
		if take == 64 {
			w.acc = chunk
		} else {
			w.acc = w.acc<<take | chunk
		}
		w.nbits += take
		n -= take
		if w.nbits == 64 {
			w.b = binary.BigEndian.AppendUint64(w.b, w.acc)
			w.acc, w.nbits = 0, 0
		}
	}
}

func (w *bitWriter) flush() []byte {
	for w.nbits >= 8 {
		w.nbits -= 8
		w.b = append(w.b, byte(w.acc>>w.nbits))
	}
	if w.nbits > 0 {
		w.b = append(w.b, byte(w.acc<<(8-w.nbits)))
		w.nbits = 0
	}
	return w.b
}

// bitReader reads what bitWriter wrote.
type bitReader struct {
	b   []byte
	pos uint // in bits
	err error
}

func (r *bitReader) read(n uint) uint64 {
	if n == 0 {
		return 0
	}
	if r.pos+n > uint(len(r.b))*8 {
		r.err = errCorrupt
		return 0
	}
	var v uint64
	for n > 0 {
		byteIdx := r.pos / 8
		off := r.pos % 8
		avail := 8 - off
		take := min(avail, n)
		bitsv := uint64(r.b[byteIdx]>>(avail-take)) & (1<<take - 1)
		v = v<<take | bitsv
		r.pos += take
		n -= take
	}
	return v
}

// rest returns the bytes after the last partly read one.
func (r *bitReader) rest() []byte { return r.b[(r.pos+7)/8:] }
