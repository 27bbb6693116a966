package bench

import (
	"math"
	"strconv"
	"time"
)

// The box of Astana in which every entity of the query city lies, in degrees
// (WGS 84): the query shapes draw their points and polygons inside it too.
const (
	AstanaMinLon = 71.35
	AstanaMaxLon = 71.55
	AstanaMinLat = 51.08
	AstanaMaxLat = 51.20
)

// cityAttr is one attribute of a city entity type: a number drawn uniformly
// from [lo, hi) with dec decimals, or, when enum is set, one of its words.
type cityAttr struct {
	name   string
	lo, hi float64
	dec    int
	enum   []string
}

// cityType is an entity type of the query city and its attributes (besides
// location, which every entity has).
type cityType struct {
	name  string
	attrs []cityAttr
}

// airQualityAttrs are the attributes of AirQualityObserved besides pm25,
// pm10 and no2, whose values follow their own distributions.
var airQualityAttrs = []cityAttr{
	{name: "airQualityLevel", enum: []string{"good", "moderate", "unhealthy"}},
}

// otherCityTypes are the nine types that make up the rest of the city.
var otherCityTypes = []cityType{
	{"ParkingSpot", []cityAttr{{name: "status", enum: []string{"free", "occupied", "closed"}}, {name: "category", enum: []string{"onStreet", "offStreet"}}}},
	{"Streetlight", []cityAttr{{name: "powerState", enum: []string{"on", "off"}}, {name: "lanternHeight", lo: 6, hi: 14, dec: 1}}},
	{"WasteContainer", []cityAttr{{name: "fillingLevel", lo: 0, hi: 1, dec: 2}, {name: "temperature", lo: -30, hi: 35, dec: 1}}},
	{"TrafficFlowObserved", []cityAttr{{name: "intensity", lo: 0, hi: 2000}, {name: "averageVehicleSpeed", lo: 5, hi: 90, dec: 1}}},
	{"WeatherObserved", []cityAttr{{name: "temperature", lo: -35, hi: 38, dec: 1}, {name: "relativeHumidity", lo: 0.1, hi: 1, dec: 2}}},
	{"NoiseLevelObserved", []cityAttr{{name: "LAeq", lo: 35, hi: 95, dec: 1}, {name: "LAmax", lo: 50, hi: 115, dec: 1}}},
	{"OffStreetParking", []cityAttr{{name: "availableSpotNumber", lo: 0, hi: 300}, {name: "totalSpotNumber", lo: 300, hi: 600}}},
	{"Device", []cityAttr{{name: "batteryLevel", lo: 0, hi: 1, dec: 2}, {name: "deviceState", enum: []string{"ok", "lowBattery", "offline"}}}},
	{"BikeHireDockingStation", []cityAttr{{name: "availableBikeNumber", lo: 0, hi: 30}, {name: "status", enum: []string{"working", "outOfService"}}}},
}

// City generates the entities of the query city: Total entities, the first
// AQ of which (sequence numbers 0 … AQ-1) are AirQualityObserved, the rest
// spread round-robin over nine other types. Every entity has a location Point
// uniformly inside the Astana box. AirQualityObserved entities carry pm25,
// pm10 and no2 drawn from log-normal distributions (pm10 correlated with
// pm25), so that q=pm25>35;pm10<80 matches 10–20 % of them. An entity's
// content depends only on its sequence number and RunID, so a City is
// immutable and safe for concurrent use.
type City struct {
	RunID string // makes ids unique: urn:ngsi-ld:<type>:<RunID>-<seq>
	Total int    // entities in all
	AQ    int    // of which AirQualityObserved
}

// NewCity returns the city of total entities, a tenth of which are
// AirQualityObserved.
func NewCity(runID string, total int) City {
	return City{RunID: runID, Total: total, AQ: total / 10}
}

// Type returns the entity type of entity seq.
func (c City) Type(seq uint64) string {
	if seq < uint64(c.AQ) {
		return EntityType
	}
	return otherCityTypes[(seq-uint64(c.AQ))%uint64(len(otherCityTypes))].name
}

// ID returns the id of entity seq.
func (c City) ID(seq uint64) string {
	return string(c.appendID(nil, seq))
}

func (c City) appendID(dst []byte, seq uint64) []byte {
	dst = append(dst, "urn:ngsi-ld:"...)
	dst = append(dst, c.Type(seq)...)
	dst = append(dst, ':')
	dst = append(dst, c.RunID...)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, seq, 10)
}

// draws yields a stream of independent uniform numbers in (0, 1) that
// depends only on seq.
type draws struct{ state uint64 }

func (d *draws) uniform() float64 {
	d.state += 0x9e3779b97f4a7c15
	return (float64(mix(d.state)>>11) + 0.5) / (1 << 53)
}

// normal returns a standard normal number (Box–Muller).
func (d *draws) normal() float64 {
	u1, u2 := d.uniform(), d.uniform()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Pollutants returns the pm25, pm10 and no2 values (µg/m³) of entity seq.
func (c City) Pollutants(seq uint64) (pm25, pm10, no2 float64) {
	d := draws{state: mix(seq ^ 0x51ed27)}
	pm25 = round1(math.Exp(math.Log(22) + 0.6*d.normal()))
	pm10 = round1(pm25 * math.Exp(math.Log(1.5)+0.2*d.normal()))
	no2 = round1(math.Exp(math.Log(25) + 0.5*d.normal()))
	return pm25, pm10, no2
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// Location returns the longitude and latitude of entity seq.
func (c City) Location(seq uint64) (lon, lat float64) {
	d := draws{state: mix(seq)}
	lon = AstanaMinLon + (AstanaMaxLon-AstanaMinLon)*d.uniform()
	lat = AstanaMinLat + (AstanaMaxLat-AstanaMinLat)*d.uniform()
	return lon, lat
}

// AppendEntity appends entity seq in normalized form, observed at t, to dst.
func (c City) AppendEntity(dst []byte, seq uint64, t time.Time) []byte {
	var ts [32]byte
	return c.appendEntity(dst, seq, appendTime(ts[:0], t))
}

func (c City) appendEntity(dst []byte, seq uint64, ts []byte) []byte {
	typ := c.Type(seq)
	dst = append(dst, `{"id":"`...)
	dst = c.appendID(dst, seq)
	dst = append(dst, `","type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","location":{"type":"GeoProperty","value":{"type":"Point","coordinates":[`...)
	lon, lat := c.Location(seq)
	dst = strconv.AppendFloat(dst, lon, 'f', 6, 64)
	dst = append(dst, ',')
	dst = strconv.AppendFloat(dst, lat, 'f', 6, 64)
	dst = append(dst, `]}}`...)
	d := draws{state: mix(seq ^ 0xa77c)}
	attrs := airQualityAttrs
	if typ == EntityType {
		pm25, pm10, no2 := c.Pollutants(seq)
		for _, p := range [...]struct {
			name string
			v    float64
		}{{"pm25", pm25}, {"pm10", pm10}, {"no2", no2}} {
			dst = append(dst, `,"`...)
			dst = append(dst, p.name...)
			dst = append(dst, `":{"type":"Property","value":`...)
			dst = strconv.AppendFloat(dst, p.v, 'f', 1, 64)
			dst = append(dst, `,"unitCode":"GQ","observedAt":"`...)
			dst = append(dst, ts...)
			dst = append(dst, `"}`...)
		}
	} else {
		attrs = otherCityTypes[(seq-uint64(c.AQ))%uint64(len(otherCityTypes))].attrs
	}
	for _, a := range attrs {
		dst = append(dst, `,"`...)
		dst = append(dst, a.name...)
		dst = append(dst, `":{"type":"Property","value":`...)
		u := d.uniform()
		if a.enum != nil {
			dst = append(dst, '"')
			dst = append(dst, a.enum[int(u*float64(len(a.enum)))%len(a.enum)]...)
			dst = append(dst, '"')
		} else {
			dst = strconv.AppendFloat(dst, a.lo+(a.hi-a.lo)*u, 'f', a.dec, 64)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `,"dateObserved":{"type":"Property","value":{"@type":"DateTime","@value":"`...)
	dst = append(dst, ts...)
	return append(dst, `"}}}`...)
}

// AppendBatch appends a JSON array of entities first … first+n-1 (stopping
// at Total) observed at t to dst: a body for entityOperations/upsert.
func (c City) AppendBatch(dst []byte, first uint64, n int, t time.Time) []byte {
	var ts [32]byte
	stamp := appendTime(ts[:0], t)
	dst = append(dst, '[')
	for i := range n {
		seq := first + uint64(i)
		if seq >= uint64(c.Total) {
			break
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = c.appendEntity(dst, seq, stamp)
	}
	return append(dst, ']')
}

// cityTypeNames returns every type of the city with its attribute names, in
// a fixed order: AirQualityObserved first.
func cityTypeNames() []cityType {
	aq := cityType{name: EntityType, attrs: []cityAttr{{name: "location"}, {name: "pm25"}, {name: "pm10"}, {name: "no2"}}}
	aq.attrs = append(aq.attrs, airQualityAttrs...)
	aq.attrs = append(aq.attrs, cityAttr{name: "dateObserved"})
	out := []cityType{aq}
	for _, t := range otherCityTypes {
		ct := cityType{name: t.name, attrs: []cityAttr{{name: "location"}}}
		ct.attrs = append(ct.attrs, t.attrs...)
		ct.attrs = append(ct.attrs, cityAttr{name: "dateObserved"})
		out = append(out, ct)
	}
	return out
}

// AppendTypesDetails appends the body a broker holding the city answers to
// GET /ngsi-ld/v1/types?details=true (an array of EntityTypeInfo, short
// names) to dst; the baseline serves it canned.
func AppendTypesDetails(dst []byte) []byte {
	dst = append(dst, '[')
	for i, t := range cityTypeNames() {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"id":"https://uri.etsi.org/ngsi-ld/default-context/`...)
		dst = append(dst, t.name...)
		dst = append(dst, `","type":"EntityType","typeName":"`...)
		dst = append(dst, t.name...)
		dst = append(dst, `","attributeNames":[`...)
		for j, a := range t.attrs {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendQuote(dst, a.name)
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, ']')
}

// AppendAttributeList appends the body of GET /ngsi-ld/v1/attributes for
// the city (an AttributeList of every distinct attribute name) to dst.
func AppendAttributeList(dst []byte) []byte {
	dst = append(dst, `{"id":"urn:ngsi-ld:AttributeList:qala-bench","type":"AttributeList","attributeList":[`...)
	seen := map[string]bool{}
	for _, t := range cityTypeNames() {
		for _, a := range t.attrs {
			if seen[a.name] {
				continue
			}
			if len(seen) > 0 {
				dst = append(dst, ',')
			}
			seen[a.name] = true
			dst = strconv.AppendQuote(dst, a.name)
		}
	}
	return append(dst, "]}"...)
}

// appendTypeList appends the body of GET /ngsi-ld/v1/types (an EntityTypeList)
// for the city to dst.
func appendTypeList(dst []byte) []byte {
	dst = append(dst, `{"id":"urn:ngsi-ld:EntityTypeList:qala-bench","type":"EntityTypeList","typeList":[`...)
	for i, t := range cityTypeNames() {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendQuote(dst, t.name)
	}
	return append(dst, "]}"...)
}
