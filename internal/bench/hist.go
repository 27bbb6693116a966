package bench

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the precision of a Histogram: each power of two is split into
// 2^(subBits-1) buckets, so a recorded value is known to within 1/128 (< 0.8 %).
const subBits = 8

// maxShift bounds the range of a Histogram: values of 2^(subBits+maxShift) ns
// (about 2.4 hours) and above land in the last bucket.
const maxShift = 45

const (
	subCount   = 1 << subBits
	halfCount  = subCount / 2
	numBuckets = (maxShift+2)*halfCount + 1
)

// Histogram records durations in log-linear buckets, in the manner of
// HdrHistogram: constant memory, O(1) recording and a bounded relative error.
// The zero value is ready to use. A Histogram is not safe for concurrent use;
// give each worker its own and Merge them.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    float64 // nanoseconds
	min    uint64
	max    uint64
}

// bucketOf returns the bucket index of a value in nanoseconds.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits
	if shift > maxShift {
		return numBuckets - 1
	}
	top := v >> uint(shift) // in [halfCount, subCount)
	return shift*halfCount + int(top)
}

// bucketHigh returns the highest value that falls into bucket i.
func bucketHigh(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	if i >= numBuckets-1 {
		return math.MaxUint64
	}
	shift := i/halfCount - 1
	top := uint64(i - shift*halfCount)
	return (top+1)<<uint(shift) - 1
}

// Record adds one observation. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds every observation of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest observation, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min returns the smallest observation, exactly.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean returns the arithmetic mean of the observations.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the smallest recorded value v such that a fraction q of
// the observations are ≤ v, rounded up to the top of its bucket (so never
// below the true quantile, and above it by less than 1/128 of it) and capped
// at Max. q is clamped to [0, 1]; an empty Histogram answers 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if !(q > 0) { // also NaN
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := bucketHigh(i)
			if v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}
