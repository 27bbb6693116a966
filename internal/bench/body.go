package bench

import (
	"strconv"
	"time"
)

// EntityType is the type of every entity the load tool creates. Its term is
// not in the core @context, so a broker expands it with the default vocabulary.
const EntityType = "AirQualityObserved"

// CoreContext is the URL of the NGSI-LD core @context, put in bodies sent as
// application/ld+json.
const CoreContext = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"

// Bodies renders the request bodies of one run. Ids are
// "urn:ngsi-ld:AirQualityObserved:<RunID>-<kind>-<seq>", so two runs with
// different RunIDs never collide. A Bodies is immutable and safe for
// concurrent use.
type Bodies struct {
	RunID string
	// LD selects application/ld+json: each entity carries an @context member.
	LD bool
}

// ContentType returns the media type of the bodies.
func (b Bodies) ContentType() string {
	if b.LD {
		return "application/ld+json"
	}
	return "application/json"
}

// ID returns the id of entity seq of the given kind ("c" for create, "u" for
// upsert, "p" for prepared).
func (b Bodies) ID(kind string, seq uint64) string {
	return string(b.AppendID(nil, kind, seq))
}

// AppendID appends the id of entity seq of the given kind to dst.
func (b Bodies) AppendID(dst []byte, kind string, seq uint64) []byte {
	dst = append(dst, "urn:ngsi-ld:"+EntityType+":"...)
	dst = append(dst, b.RunID...)
	dst = append(dst, '-')
	dst = append(dst, kind...)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, seq, 10)
}

// appendTime appends t in the NGSI-LD DateTime form, UTC with milliseconds.
func appendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
}

// appendFixed appends v/10^dec with dec decimals, without going through float
// formatting, so that bodies are cheap to render.
func appendFixed(dst []byte, v uint64, dec int) []byte {
	var tmp [24]byte
	digits := strconv.AppendUint(tmp[:0], v, 10)
	for len(digits) <= dec {
		digits = append([]byte{'0'}, digits...)
	}
	dst = append(dst, digits[:len(digits)-dec]...)
	if dec == 0 {
		return dst
	}
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-dec:]...)
}

// mix scrambles seq so that measured values vary from entity to entity.
func mix(seq uint64) uint64 {
	seq ^= seq >> 33
	seq *= 0xff51afd7ed558ccd
	seq ^= seq >> 33
	seq *= 0xc4ceb9fe1a85ec53
	return seq ^ seq>>33
}

var levels = [...]string{"good", "moderate", "unhealthy", "veryUnhealthy"}

// AppendEntity appends a normalized AirQualityObserved entity of about 1 KB
// with the id of (kind, seq), observed at t, to dst.
func (b Bodies) AppendEntity(dst []byte, kind string, seq uint64, t time.Time) []byte {
	var ts [32]byte
	return b.appendEntity(dst, kind, seq, appendTime(ts[:0], t))
}

// appendEntity is AppendEntity with the time already rendered.
func (b Bodies) appendEntity(dst []byte, kind string, seq uint64, ts []byte) []byte {
	r := mix(seq)
	dst = append(dst, `{"id":"`...)
	dst = b.AppendID(dst, kind, seq)
	dst = append(dst, `","type":"`+EntityType+`","dateObserved":{"type":"Property","value":{"@type":"DateTime","@value":"`...)
	dst = append(dst, ts...)
	// Points scattered over Astana (51.0–51.3 N, 71.2–71.7 E).
	dst = append(dst, `"}},"location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[`...)
	dst = appendFixed(dst, 712000+r%5000, 4)
	dst = append(dst, ',')
	dst = appendFixed(dst, 510000+(r>>13)%3000, 4)
	dst = append(dst, `]}},"address":{"type":"Property","value":{"addressCountry":"KZ","addressLocality":"Astana","streetAddress":"Kabanbay Batyr Ave `...)
	dst = strconv.AppendUint(dst, 1+r%120, 10)
	dst = append(dst, `"}}`...)
	for i, p := range [...]string{"NO2", "PM10", "PM25", "O3"} {
		dst = append(dst, `,"`...)
		dst = append(dst, p...)
		dst = append(dst, `":{"type":"Property","value":`...)
		dst = appendFixed(dst, (r>>(7*i))%2000, 1)
		dst = append(dst, `,"unitCode":"GQ","observedAt":"`...)
		dst = append(dst, ts...)
		dst = append(dst, `"}`...)
	}
	dst = append(dst, `,"temperature":{"type":"Property","value":`...)
	dst = appendFixed(dst, (r>>42)%400, 1)
	dst = append(dst, `,"unitCode":"CEL"},"relativeHumidity":{"type":"Property","value":`...)
	dst = appendFixed(dst, (r>>50)%100, 2)
	dst = append(dst, `,"unitCode":"P1"},"airQualityIndex":{"type":"Property","value":`...)
	dst = strconv.AppendUint(dst, (r>>20)%300, 10)
	dst = append(dst, `},"airQualityLevel":{"type":"Property","value":"`...)
	dst = append(dst, levels[(r>>30)%uint64(len(levels))]...)
	dst = append(dst, `"},"refDevice":{"type":"Relationship","object":"urn:ngsi-ld:Device:`...)
	dst = append(dst, b.RunID...)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, seq%512, 10)
	dst = append(dst, `"}`...)
	if b.LD {
		dst = append(dst, `,"@context":"`+CoreContext+`"`...)
	}
	return append(dst, '}')
}

// AppendBatch appends a JSON array of n entities of the given kind, with
// sequence numbers first, first+1, …, to dst: a body for entityOperations.
func (b Bodies) AppendBatch(dst []byte, kind string, first uint64, n int, t time.Time) []byte {
	var ts [32]byte
	stamp := appendTime(ts[:0], t)
	dst = append(dst, '[')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = b.appendEntity(dst, kind, first+uint64(i), stamp)
	}
	return append(dst, ']')
}

// AppendPatch appends a body for PATCH …/attrs that updates three measured
// attributes of an entity with new values observed at t.
func (b Bodies) AppendPatch(dst []byte, seq uint64, t time.Time) []byte {
	r := mix(seq ^ uint64(t.UnixNano()))
	var ts [32]byte
	stamp := appendTime(ts[:0], t)
	dst = append(dst, '{')
	for i, p := range [...]string{"NO2", "PM10", "temperature"} {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, p...)
		dst = append(dst, `":{"type":"Property","value":`...)
		dst = appendFixed(dst, (r>>(9*i))%2000, 1)
		dst = append(dst, `,"observedAt":"`...)
		dst = append(dst, stamp...)
		dst = append(dst, `"}`...)
	}
	if b.LD {
		dst = append(dst, `,"@context":"`+CoreContext+`"`...)
	}
	return append(dst, '}')
}
