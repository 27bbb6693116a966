package bench

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// handleTemporal adds the temporal routes of the suite to the baseline:
//
//	POST /ngsi-ld/v1/temporal/entities        decode the EntityTemporal, 201
//	GET  /ngsi-ld/v1/temporal/entities/{id}   a canned temporal entity of the size asked for, 200
//	GET  /ngsi-ld/v1/temporal/entities        limit canned temporal entities, 200
//
// The canned answers have the shape and size Qala's have: lastN
// instances of each attribute, or one [value, start, end] per period and
// method of an aggregation (periods counted from timeAt, endTimeAt and a
// PT1H or P1D aggrPeriodDuration).
func handleTemporal(mux *http.ServeMux) {
	var cache sync.Map // raw query → canned body
	canned := func(r *http.Request, list bool) []byte {
		if b, ok := cache.Load(r.URL.RawQuery); ok {
			return b.([]byte)
		}
		q := r.URL.Query()
		n := 1
		if list {
			if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 {
				n = min(l, 1000)
			}
		}
		var b []byte
		if list {
			b = append(b, '[')
		}
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCannedTemporal(b, q, i)
		}
		if list {
			b = append(b, ']')
		}
		cache.Store(r.URL.RawQuery, b)
		return b
	}
	mux.HandleFunc("POST /ngsi-ld/v1/temporal/entities", func(w http.ResponseWriter, r *http.Request) {
		var e map[string]any
		if !decode(w, r, &e) {
			return
		}
		id, _ := e["id"].(string)
		w.Header().Set("Location", "/ngsi-ld/v1/temporal/entities/"+id)
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /ngsi-ld/v1/temporal/entities/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, canned(r, false))
	})
	mux.HandleFunc("GET /ngsi-ld/v1/temporal/entities", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, canned(r, true))
	})
}

// appendCannedTemporal renders entity i of a canned temporal answer.
func appendCannedTemporal(b []byte, q url.Values, i int) []byte {
	b = append(b, `{"id":"urn:ngsi-ld:`+TemporalType+`:baseline-`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `","type":"`+TemporalType+`"`...)
	attrs := temporalAttrs
	if a := q.Get("attrs"); a != "" {
		attrs = strings.Split(a, ",")
	}
	if strings.Contains(q.Get("options"), "aggregatedValues") {
		methods := strings.Split(q.Get("aggrMethods"), ",")
		from, _ := time.Parse(time.RFC3339, q.Get("timeAt"))
		to, _ := time.Parse(time.RFC3339, q.Get("endTimeAt"))
		step := time.Hour
		if q.Get("aggrPeriodDuration") == "P1D" {
			step = 24 * time.Hour
		}
		periods := max(1, min(int(to.Sub(from)/step), 100000))
		for _, a := range attrs {
			b = append(b, `,"`...)
			b = append(b, a...)
			b = append(b, `":{"type":"Property"`...)
			for _, m := range methods {
				b = append(b, `,"`...)
				b = append(b, m...)
				b = append(b, `":[`...)
				for k := range periods {
					if k > 0 {
						b = append(b, ',')
					}
					b = append(b, '[')
					b = strconv.AppendFloat(b, reading(0, 1, int64(k)*60), 'f', -1, 64)
					b = append(b, `,"`...)
					b = from.Add(time.Duration(k)*step).AppendFormat(b, "2006-01-02T15:04:05Z")
					b = append(b, `","`...)
					b = from.Add(time.Duration(k+1)*step).AppendFormat(b, "2006-01-02T15:04:05Z")
					b = append(b, `"]`...)
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		return append(b, '}')
	}
	n, err := strconv.Atoi(q.Get("lastN"))
	if err != nil || n < 1 {
		n = 100
	}
	n = min(n, 10000)
	for ai, a := range attrs {
		b = append(b, `,"`...)
		b = append(b, a...)
		b = append(b, `":[`...)
		for k := range n {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":"Property","value":`...)
			b = strconv.AppendFloat(b, reading(ai, 1, int64(k)), 'f', -1, 64)
			b = append(b, `,"observedAt":"`...)
			b = temporalStart.Add(time.Duration(k)*time.Minute).AppendFormat(b, "2006-01-02T15:04:05Z")
			b = append(b, `","instanceId":"urn:ngsi-ld:Instance:1.`...)
			b = strconv.AppendInt(b, temporalStart.Add(time.Duration(k)*time.Minute).UnixMilli(), 10)
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(k), 10)
			b = append(b, `"}`...)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
