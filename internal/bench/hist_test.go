package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is the nearest-rank quantile of sorted values.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() time.Duration{
		"constant":    func() time.Duration { return 1234567 },
		"uniform-ms":  func() time.Duration { return time.Duration(rng.Int64N(int64(10 * time.Millisecond))) },
		"exponential": func() time.Duration { return time.Duration(rng.ExpFloat64() * float64(time.Millisecond)) },
		"small-ns":    func() time.Duration { return time.Duration(rng.IntN(300)) },
		"bimodal": func() time.Duration {
			if rng.IntN(100) == 0 {
				return time.Duration(2e9 + rng.Int64N(1e9))
			}
			return time.Duration(1e5 + rng.Int64N(1e5))
		},
	}
	for name, gen := range dists {
		t.Run(name, func(t *testing.T) {
			var h Histogram
			vals := make([]time.Duration, 20000)
			for i := range vals {
				vals[i] = gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			if h.Count() != uint64(len(vals)) {
				t.Fatalf("Count = %d, want %d", h.Count(), len(vals))
			}
			if h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
				t.Errorf("Min, Max = %v, %v; want %v, %v", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
			}
			for _, q := range []float64{0.001, 0.1, 0.5, 0.9, 0.99, 0.999} {
				want := exactQuantile(vals, q)
				got := h.Quantile(q)
				// Never below the true quantile, above it by less than 1/128.
				if got < want || float64(got-want) > float64(want)/128+1 {
					t.Errorf("Quantile(%v) = %v, want %v within +1/128", q, got, want)
				}
			}
			if got := h.Quantile(1); got != vals[len(vals)-1] {
				t.Errorf("Quantile(1) = %v, want max %v", got, vals[len(vals)-1])
			}
			var sum float64
			for _, v := range vals {
				sum += float64(v)
			}
			if got, want := h.Mean(), time.Duration(sum/float64(len(vals))); got-want > 1 || want-got > 1 {
				t.Errorf("Mean = %v, want %v", got, want)
			}
		})
	}
}

func TestHistogramEmpty(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Errorf("empty histogram: p50 %v max %v mean %v count %d, want zeros", h.Quantile(.5), h.Max(), h.Mean(), h.Count())
	}
}

func TestHistogramMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var all, a, b Histogram
	for i := range 5000 {
		v := time.Duration(rng.Int64N(int64(time.Second)))
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&Histogram{})
	m.Merge(&b)
	if m.counts != all.counts || m.n != all.n || m.min != all.min || m.max != all.max {
		t.Errorf("merge of parts differs from recording all: n %d vs %d, min %d vs %d, max %d vs %d",
			m.n, all.n, m.min, all.min, m.max, all.max)
	}
}

func TestBuckets(t *testing.T) {
	// Buckets are contiguous: the value after a bucket's top is in the next one,
	// and every bucket is narrower than 1/128 of its values.
	for i := 0; i < numBuckets-2; i++ {
		hi := bucketHigh(i)
		if got := bucketOf(hi); got != i {
			t.Fatalf("bucketOf(bucketHigh(%d) = %d) = %d", i, hi, got)
		}
		if got := bucketOf(hi + 1); got != i+1 {
			t.Fatalf("bucketOf(%d) = %d, want %d", hi+1, got, i+1)
		}
		if i >= subCount {
			lo := bucketHigh(i-1) + 1
			if width := hi - lo + 1; float64(width) > float64(lo)/128 {
				t.Fatalf("bucket %d [%d, %d] is wider than 1/128 of %d", i, lo, hi, lo)
			}
		}
	}
	if got := bucketOf(math.MaxUint64); got != numBuckets-1 {
		t.Errorf("bucketOf(MaxUint64) = %d, want the last bucket %d", got, numBuckets-1)
	}
}

func FuzzHistogram(f *testing.F) {
	f.Add(int64(0), int64(1), int64(1e9), 0.5)
	f.Add(int64(-5), int64(math.MaxInt64), int64(300), 0.99)
	f.Fuzz(func(t *testing.T, a, b, c int64, q float64) {
		var h Histogram
		for _, v := range []int64{a, b, c} {
			h.Record(time.Duration(v))
		}
		got := h.Quantile(q)
		if got < h.Min() || got > h.Max() {
			t.Fatalf("Quantile(%v) = %v outside [%v, %v]", q, got, h.Min(), h.Max())
		}
		if h.Quantile(0.5) > h.Quantile(0.9) || h.Quantile(0.9) > h.Quantile(0.99) {
			t.Fatalf("quantiles not monotonic: %v %v %v", h.Quantile(.5), h.Quantile(.9), h.Quantile(.99))
		}
	})
}
