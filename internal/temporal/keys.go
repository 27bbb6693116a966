package temporal

import (
	"encoding/binary"
	"math"
	"time"
)

// Key spaces of the history database:
//
//	'D' series(8) window(8) seq(8)      → chunk (chunk.go); seq is the number of its first instance
//	'R' level(1) series(8) bucket(8)    → roll-up statistics (rollup.go)
//	'S' series(8)                       → series record: tenant, entity, attribute, datasetId, state
//	'E' tenant 0x00 entity id           → entity record: types, times (catalog.go)
//	'm' name                            → metadata: the change log cursor, the configuration
//
// Integers are big-endian so that keys sort by series, then time; signed
// times are biased by 2^63 so that times before 1970 sort first.
const (
	prefixChunk  = 'D'
	prefixRollup = 'R'
	prefixSeries = 'S'
	prefixEntity = 'E'
)

var (
	keyCursor     = []byte("m/cursor")
	keyConfig     = []byte("m/config")
	keyNextSeries = []byte("m/nextseries")
)

var zeroTime time.Time

// dayMillis is the length of a window and of a day roll-up bucket.
const (
	hourMillis = 3600 * 1000
	dayMillis  = 24 * hourMillis
)

// window returns the window (UTC day number) of a key time.
func window(t int64) int64 { return floorDiv(t, dayMillis) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func biased(v int64) uint64 { return uint64(v) ^ (1 << 63) }

func unbiased(v uint64) int64 { return int64(v ^ (1 << 63)) }

func chunkKey(series uint64, win int64, seq uint64) []byte {
	k := make([]byte, 25)
	k[0] = prefixChunk
	binary.BigEndian.PutUint64(k[1:], series)
	binary.BigEndian.PutUint64(k[9:], biased(win))
	binary.BigEndian.PutUint64(k[17:], seq)
	return k
}

// chunkBound is the key before every chunk of a series in window win; win
// may be math.MaxInt64 for the end of the series.
func chunkBound(series uint64, win int64) []byte {
	k := make([]byte, 17)
	k[0] = prefixChunk
	binary.BigEndian.PutUint64(k[1:], series)
	binary.BigEndian.PutUint64(k[9:], biased(win))
	return k
}

// seriesBounds are the bounds of all the chunks of a series.
func seriesChunkRange(series uint64) (lo, hi []byte) {
	return chunkBound(series, math.MinInt64), chunkBound(series, math.MaxInt64)
}

func parseChunkKey(k []byte) (series uint64, win int64, seq uint64, ok bool) {
	if len(k) != 25 || k[0] != prefixChunk {
		return 0, 0, 0, false
	}
	return binary.BigEndian.Uint64(k[1:]), unbiased(binary.BigEndian.Uint64(k[9:])), binary.BigEndian.Uint64(k[17:]), true
}

// Roll-up levels.
const (
	levelHour byte = 1
	levelDay  byte = 2
)

func levelMillis(level byte) int64 {
	if level == levelDay {
		return dayMillis
	}
	return hourMillis
}

func rollupKey(level byte, series uint64, bucket int64) []byte {
	k := make([]byte, 18)
	k[0] = prefixRollup
	k[1] = level
	binary.BigEndian.PutUint64(k[2:], series)
	binary.BigEndian.PutUint64(k[10:], biased(bucket))
	return k
}

func parseRollupKey(k []byte) (bucket int64, ok bool) {
	if len(k) != 18 || k[0] != prefixRollup {
		return 0, false
	}
	return unbiased(binary.BigEndian.Uint64(k[10:])), true
}

func seriesKey(series uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixSeries
	binary.BigEndian.PutUint64(k[1:], series)
	return k
}

func entityKey(tenant, id string) []byte {
	k := make([]byte, 0, 2+len(tenant)+len(id))
	k = append(k, prefixEntity)
	k = append(k, tenant...)
	k = append(k, 0)
	return append(k, id...)
}
