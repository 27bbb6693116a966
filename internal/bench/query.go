package bench

import (
	"context"
	"fmt"
	"math"
	randv2 "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/qala-city/qala/internal/demo"
)

// The query shapes, meant to run against a broker holding the query city
// (see City and LoadCity). Each draws its parameters per request from the
// worker's seeded generator and counts any answer but 200 as an error.
const (
	// ShapeQFilter sends GET /ngsi-ld/v1/entities?type=AirQualityObserved&q=pm25>T;pm10<80&limit=Limit,
	// T drawn from 33…37.
	ShapeQFilter Shape = "qfilter"
	// ShapeNear sends a near;maxDistance==500 query around a random point of Astana.
	ShapeNear Shape = "near"
	// ShapeWithin sends a within query with a random 2 km × 2 km square inside Astana.
	ShapeWithin Shape = "within"
	// ShapeDistrict sends a within query with the boundary of a random Astana
	// district (a Polygon or MultiPolygon of 146–329 vertices, OSM).
	ShapeDistrict Shape = "district"
	// ShapeOffset pages deep: type=AirQualityObserved&offset=Offset+[0,1000)&limit=Limit.
	ShapeOffset Shape = "offset"
	// ShapeTypes sends GET /ngsi-ld/v1/types?details=true.
	ShapeTypes Shape = "types"
	// ShapeAttributes sends GET /ngsi-ld/v1/attributes.
	ShapeAttributes Shape = "attributes"
	// ShapeCount sends type=AirQualityObserved&count=true&limit=0.
	ShapeCount Shape = "count"
)

// QueryShapes lists the query shapes, in the order the query suite runs them.
var QueryShapes = []Shape{ShapeQFilter, ShapeNear, ShapeWithin, ShapeDistrict, ShapeOffset, ShapeCount, ShapeTypes, ShapeAttributes}

// allShapes lists every shape a run accepts.
var allShapes = append(append([]Shape{}, Shapes...), QueryShapes...)

// known reports whether s is a shape a run accepts.
func (s Shape) known() bool {
	for _, k := range allShapes {
		if s == k {
			return true
		}
	}
	return false
}

// Geometry of the geo shapes.
const (
	nearMeters    = 500
	squareMeters  = 2000
	metersPerDeg  = 111320.0 // along a meridian
	astanaMidLat  = (AstanaMinLat + AstanaMaxLat) / 2
	defaultOffset = 90000
)

// queryPath returns the path and query of the next request of a query shape,
// with parameters drawn from rng, values escaped.
func queryPath(cfg *Config, rng *randv2.Rand) string {
	const entities = "/ngsi-ld/v1/entities?type=" + EntityType
	limit := "&limit=" + strconv.Itoa(cfg.Limit)
	switch cfg.Shape {
	case ShapeQFilter:
		q := "pm25>" + strconv.Itoa(33+rng.IntN(5)) + ";pm10<80"
		return entities + "&q=" + url.QueryEscape(q) + limit
	case ShapeNear:
		lon := AstanaMinLon + (AstanaMaxLon-AstanaMinLon)*rng.Float64()
		lat := AstanaMinLat + (AstanaMaxLat-AstanaMinLat)*rng.Float64()
		return entities + "&georel=" + url.QueryEscape("near;maxDistance=="+strconv.Itoa(nearMeters)) +
			"&geometry=Point&coordinates=" + url.QueryEscape("["+fmtDeg(lon)+","+fmtDeg(lat)+"]") + limit
	case ShapeWithin:
		return entities + "&georel=within&geometry=Polygon&coordinates=" + url.QueryEscape(randomSquare(rng)) + limit
	case ShapeDistrict:
		ds := districtQueries()
		if len(ds) == 0 {
			return "/health"
		}
		return entities + "&georel=within" + ds[rng.IntN(len(ds))] + limit
	case ShapeOffset:
		off := cfg.Offset + rng.IntN(1000)
		return entities + "&offset=" + strconv.Itoa(off) + limit
	case ShapeCount:
		return entities + "&count=true&limit=0"
	case ShapeTypes:
		return "/ngsi-ld/v1/types?details=true"
	case ShapeAttributes:
		return "/ngsi-ld/v1/attributes"
	}
	return "/health"
}

// districtQueries returns the geometry and coordinates parameters of each
// Astana district's boundary, escaped.
var districtQueries = sync.OnceValue(func() []string {
	ds, err := demo.DistrictGeometries()
	if err != nil {
		return nil // the embedded data parses (a test checks it)
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = "&geometry=" + d.Type + "&coordinates=" + url.QueryEscape(d.Coordinates)
	}
	return out
})

// randomSquare returns the coordinates of a closed polygon: a square of
// squareMeters a side, axis-aligned, lying wholly inside the Astana box.
func randomSquare(rng *randv2.Rand) string {
	half := squareMeters / 2.0
	dLat := half / metersPerDeg
	dLon := half / (metersPerDeg * math.Cos(astanaMidLat*math.Pi/180))
	cLon := AstanaMinLon + dLon + (AstanaMaxLon-AstanaMinLon-2*dLon)*rng.Float64()
	cLat := AstanaMinLat + dLat + (AstanaMaxLat-AstanaMinLat-2*dLat)*rng.Float64()
	x0, x1, y0, y1 := fmtDeg(cLon-dLon), fmtDeg(cLon+dLon), fmtDeg(cLat-dLat), fmtDeg(cLat+dLat)
	return "[[[" + x0 + "," + y0 + "],[" + x1 + "," + y0 + "],[" + x1 + "," + y1 + "],[" +
		x0 + "," + y1 + "],[" + x0 + "," + y0 + "]]]"
}

func fmtDeg(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

// LoadCity writes every entity of city to the server at base by batch upsert,
// batch entities per request, with workers concurrent requests, and stops
// issuing requests after timeout (each request is bounded by 2 minutes). The
// Result counts the upsert requests; Successes × batch entities were written.
func LoadCity(ctx context.Context, base string, city City, batch, workers int, timeout time.Duration) (*Result, error) {
	if city.Total < 1 || city.AQ < 0 || city.AQ > city.Total {
		return nil, fmt.Errorf("city of %d entities, %d AirQualityObserved: want total ≥ 1 and 0 ≤ aq ≤ total", city.Total, city.AQ)
	}
	cfg := DefaultConfig()
	cfg.URL, cfg.Shape, cfg.Batch, cfg.Concurrency = base, ShapeUpsert, batch, workers
	cfg.City, cfg.RunID = &city, city.RunID
	cfg.Duration, cfg.Timeout = timeout, 2*time.Minute
	if batch < 1 {
		return nil, fmt.Errorf("batch %d: want ≥ 1", batch)
	}
	cfg.MaxRequests = int64((city.Total + batch - 1) / batch)
	res, err := Run(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("load city: %w", err)
	}
	return res, nil
}

// cityUpsert returns the body of the next upsert of the city into buf.
func (r *runner) cityUpsert(buf []byte, now time.Time) (string, string, []byte) {
	n := uint64(r.cfg.Batch)
	first := r.next.Add(n) - n
	return http.MethodPost, "/ngsi-ld/v1/entityOperations/upsert", r.cfg.City.AppendBatch(buf, first, r.cfg.Batch, now)
}
