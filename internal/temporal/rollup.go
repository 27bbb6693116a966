package temporal

import (
	"encoding/binary"
	"math"
)

// Roll-ups pre-compute, per series and per UTC hour and day, what long
// aggregations need: the count of observed instances, and over those that
// are plain numbers their count, sum, sum of squared deviations (M2, from
// which stddev and sumsq follow without the cancellation a raw sum of
// squares suffers), minimum and maximum. They are written in the batch that
// writes the instances, so they are never behind them: appends merge into
// the buckets they touch; late or out-of-order data, patches and deletions
// rewrite the affected window and recompute its buckets from the raw
// instances; retention drops whole days of both.

// stats summarises a set of values.
type stats struct {
	total uint64 // instances counted (any value)
	n     uint64 // of which plain numbers
	sum   float64
	m2    float64 // sum of squared deviations from the mean
	min   float64
	max   float64
}

// add counts one instance; x is its value when it is a plain number.
func (s *stats) add(x float64, number bool) {
	s.total++
	if !number {
		return
	}
	s.n++
	if s.n == 1 {
		s.sum, s.m2, s.min, s.max = x, 0, x, x
		return
	}
	// Welford's update, on the mean.
	n := float64(s.n)
	mean := s.sum / (n - 1)
	d := x - mean
	s.sum += x
	s.m2 += d * (x - s.sum/n)
	s.min = math.Min(s.min, x)
	s.max = math.Max(s.max, x)
}

// merge adds o into s (Chan et al.'s parallel combination of M2).
func (s *stats) merge(o stats) {
	s.total += o.total
	if o.n == 0 {
		return
	}
	if s.n == 0 {
		s.n, s.sum, s.m2, s.min, s.max = o.n, o.sum, o.m2, o.min, o.max
		return
	}
	na, nb := float64(s.n), float64(o.n)
	d := o.sum/nb - s.sum/na
	s.m2 += o.m2 + d*d*na*nb/(na+nb)
	s.n += o.n
	s.sum += o.sum
	s.min = math.Min(s.min, o.min)
	s.max = math.Max(s.max, o.max)
}

// pure reports whether every counted instance was a plain number, so that
// the numeric statistics describe them all.
func (s *stats) pure() bool { return s.n == s.total }

func (s *stats) sumsq() float64 {
	if s.n == 0 {
		return 0
	}
	return s.m2 + s.sum*s.sum/float64(s.n)
}

func (s *stats) stddev() float64 {
	if s.n == 0 {
		return 0
	}
	return math.Sqrt(math.Max(s.m2, 0) / float64(s.n))
}

func encodeStats(s stats) []byte {
	b := make([]byte, 0, 44)
	b = binary.AppendUvarint(b, s.total)
	b = binary.AppendUvarint(b, s.n)
	if s.n > 0 {
		for _, f := range [...]float64{s.sum, s.m2, s.min, s.max} {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
		}
	}
	return b
}

func decodeStats(v []byte) (stats, error) {
	r := &reader{b: v}
	var s stats
	s.total = r.uvarint()
	s.n = r.uvarint()
	if s.n > 0 {
		s.sum = math.Float64frombits(r.u64())
		s.m2 = math.Float64frombits(r.u64())
		s.min = math.Float64frombits(r.u64())
		s.max = math.Float64frombits(r.u64())
	}
	if s.n > s.total {
		return s, errCorrupt
	}
	return s, r.err
}

// rolledUp reports whether an instance is counted by the roll-ups: observed
// and not a deletion record.
func rolledUp(x *inst) bool { return x.flags&flagObserved != 0 && x.flags&flagDeleted == 0 }

// bucketStats computes the roll-up buckets of a level over sorted instances.
func bucketStats(insts []inst, level byte) map[int64]*stats {
	out := map[int64]*stats{}
	size := levelMillis(level)
	for i := range insts {
		x := &insts[i]
		if !rolledUp(x) {
			continue
		}
		b := floorDiv(x.t, size)
		st := out[b]
		if st == nil {
			st = &stats{}
			out[b] = st
		}
		st.add(x.f, x.flags&flagNumber != 0)
	}
	return out
}
