package temporal

import (
	"math"
	"math/rand/v2"
	"testing"
)

// chunkShapes are day chunks (1,440 one-minute readings) of value series
// with different entropy, from a regular sensor to random doubles (the
// worst case: the XOR encoding stores most of the mantissa).
var chunkShapes = []struct {
	name string
	gen  func(r *rand.Rand, k int) (dt int64, v float64)
}{
	{"sensor-1-decimal", func(r *rand.Rand, k int) (int64, float64) {
		day := math.Sin(2 * math.Pi * float64(k) / 1440)
		return 60_000, math.Round((-12+8*day+r.Float64()-0.5)*10) / 10
	}},
	{"jittered-times-2-decimals", func(r *rand.Rand, k int) (int64, float64) {
		day := math.Sin(2 * math.Pi * float64(k) / 1440)
		return 60_000 + r.Int64N(4_001) - 2_000, math.Round((400+50*day+r.NormFloat64()*3)*100) / 100
	}},
	{"counter-integers", func(r *rand.Rand, k int) (int64, float64) {
		return 60_000, float64(1_000_000 + k*17 + r.IntN(5))
	}},
	{"random-doubles", func(r *rand.Rand, k int) (int64, float64) {
		return 60_000, r.NormFloat64() * 1000
	}},
}

func chunkOf(gen func(r *rand.Rand, k int) (int64, float64)) []inst {
	r := rand.New(rand.NewPCG(1, 2))
	insts := make([]inst, 1440)
	t := int64(1_767_225_600_000) // 2026-01-01
	created := t + 3_600_000      // written an hour later, a batch at a time
	for k := range insts {
		dt, v := gen(r, k)
		if k > 0 {
			t += dt
		}
		if k%1000 == 0 {
			created += 1234
		}
		insts[k] = inst{t: t, num: uint64(k + 1), created: created, modified: created, flags: flagObserved | flagNumber, f: v}
	}
	return insts
}

// BenchmarkChunkEncode reports the encoded bytes per instance of each
// shape (before pebble's block compression) and the encoding time.
func BenchmarkChunkEncode(b *testing.B) {
	for _, sh := range chunkShapes {
		insts := chunkOf(sh.gen)
		b.Run(sh.name, func(b *testing.B) {
			var enc []byte
			for b.Loop() {
				enc = encodeChunk(insts)
			}
			b.ReportMetric(float64(len(enc))/float64(len(insts)), "B/instance")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(insts)), "ns/instance")
		})
	}
}

// BenchmarkChunkDecode measures decoding a day chunk, whole and times only
// (the path of lastN, spans and existence checks).
func BenchmarkChunkDecode(b *testing.B) {
	for _, sh := range chunkShapes {
		insts := chunkOf(sh.gen)
		enc := encodeChunk(insts)
		for _, values := range []bool{true, false} {
			name := sh.name + "/values"
			if !values {
				name = sh.name + "/times"
			}
			b.Run(name, func(b *testing.B) {
				out := make([]inst, 0, len(insts))
				for b.Loop() {
					var err error
					if out, err = decodeChunkParts(enc, out[:0], values); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(insts)), "ns/instance")
			})
		}
	}
}

// TestChunkShapesRoundTrip keeps the benchmark shapes honest: each decodes
// to what was encoded.
func TestChunkShapesRoundTrip(t *testing.T) {
	for _, sh := range chunkShapes {
		insts := chunkOf(sh.gen)
		got, err := decodeChunk(encodeChunk(insts), nil)
		if err != nil {
			t.Fatalf("%s: %v", sh.name, err)
		}
		for i := range insts {
			if got[i].t != insts[i].t || got[i].f != insts[i].f || got[i].num != insts[i].num || got[i].created != insts[i].created {
				t.Fatalf("%s: instance %d: got %+v, want %+v", sh.name, i, got[i], insts[i])
			}
		}
	}
}
