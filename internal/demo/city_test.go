package demo

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testTime is a weekday morning rush hour in Astana (08:30 local).
var testTime = time.Date(2026, 1, 14, 3, 30, 0, 0, time.UTC)

var (
	citiesMu sync.Mutex
	cities   = map[int64]*City{}
)

// newCity generates the city for seed once per test binary (a City is immutable), failing the
// test on error.
func newCity(t testing.TB, seed int64) *City {
	t.Helper()
	citiesMu.Lock()
	defer citiesMu.Unlock()
	if c, ok := cities[seed]; ok {
		return c
	}
	c, err := New(seed)
	if err != nil {
		t.Fatal(err)
	}
	cities[seed] = c
	return c
}

func TestCityDeterministic(t *testing.T) {
	// encoding/json sorts map keys, so equal documents marshal to equal bytes.
	first, err := New(42)
	if err != nil {
		t.Fatal(err)
	}
	second, err := New(42)
	if err != nil {
		t.Fatal(err)
	}
	a := mustJSON(t, first.Entities(testTime))
	b := mustJSON(t, second.Entities(testTime))
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different city")
	}
	if c := mustJSON(t, newCity(t, 43).Entities(testTime)); bytes.Equal(a, c) {
		t.Fatal("seeds 42 and 43 generated the same city")
	}
}

// mustJSON marshals v, failing the test on error.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCityCounts(t *testing.T) {
	c := newCity(t, 1)
	got := map[string]int{}
	for _, e := range c.Entities(testTime) {
		got[e["type"].(string)]++
	}
	want := map[string]int{
		"AdministrativeArea":      6,
		"PointOfInterest":         12,
		"Building":                28,
		"OffStreetParking":        28,
		"ParkingSpot":             numParkingSpots,
		"AirQualityObserved":      numAirQuality,
		"WeatherObserved":         numWeather,
		"TrafficFlowObserved":     numTraffic,
		"Device":                  numAirQuality + numWeather,
		"Streetlight":             numStreetlights,
		"WasteContainer":          numWaste,
		"EVChargingStation":       numEVChargers,
		"Vehicle":                 numBuses,
		"KeyPerformanceIndicator": 12,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entity counts (-want +got):\n%s", diff)
	}
	total := 0
	for _, n := range got {
		total += n
	}
	if total < 3000 || total > 5000 || total != c.Len() {
		t.Errorf("total %d entities, Len() %d; want 3,000–5,000 and equal", total, c.Len())
	}
}

// idPattern matches urn:ngsi-ld:<Type>:astana-<district>-<n> (or -<slug>), and the city-wide
// urn:ngsi-ld:<Type>:astana and urn:ngsi-ld:<Type>:astana-<metric>.
var idPattern = regexp.MustCompile(`^urn:ngsi-ld:([A-Za-z]+):astana(-(almaty|baikonur|yesil|saryarka|nura)(-[a-z0-9-]+)|-[a-z0-9]+)?$`)

func TestEntitiesWellFormed(t *testing.T) {
	docs := newCity(t, 7).Entities(testTime)
	b, err := json.Marshal(docs)
	if err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	// Only JSON-native values: a document equals its own JSON round trip.
	for i := range docs {
		if !reflect.DeepEqual(docs[i], back[i]) {
			t.Fatalf("document changes in a JSON round trip (-before +after):\n%s", cmp.Diff(docs[i], back[i]))
		}
	}
	ids := map[string]bool{}
	for _, e := range docs {
		id, typ := e["id"].(string), e["type"].(string)
		m := idPattern.FindStringSubmatch(id)
		if m == nil || m[1] != typ {
			t.Errorf("id %q does not match urn:ngsi-ld:%s:astana-<district>-<n>", id, typ)
		}
		if ids[id] {
			t.Errorf("duplicate id %q", id)
		}
		ids[id] = true
		if diff := cmp.Diff([]any{SmartDataModelsContext, CoreContext}, e["@context"]); diff != "" {
			t.Errorf("%s: @context (-want +got):\n%s", id, diff)
		}
		if _, ok := e["location"]; !ok {
			t.Errorf("%s: no location", id)
		}
		checkNormalized(t, id, e)
	}
}

// checkNormalized checks that every attribute of a document is a normalized NGSI-LD attribute.
func checkNormalized(t *testing.T, id string, e map[string]any) {
	t.Helper()
	for name, v := range e {
		if name == "id" || name == "type" || name == "@context" {
			continue
		}
		attr, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: attribute %q is %T, not an object", id, name, v)
			continue
		}
		switch attr["type"] {
		case "Property":
			if _, ok := attr["value"]; !ok {
				t.Errorf("%s: Property %q has no value", id, name)
			}
		case "Relationship":
			if o, _ := attr["object"].(string); !strings.HasPrefix(o, "urn:ngsi-ld:") {
				t.Errorf("%s: Relationship %q object %v is not a URN", id, name, attr["object"])
			}
		case "GeoProperty":
			g, _ := attr["value"].(map[string]any)
			if g == nil || g["type"] == nil || g["coordinates"] == nil {
				t.Errorf("%s: GeoProperty %q value %v is not GeoJSON", id, name, attr["value"])
			}
		case "LanguageProperty":
			lm, _ := attr["languageMap"].(map[string]any)
			if len(lm) != 3 || lm["en"] == nil || lm["kk"] == nil || lm["ru"] == nil {
				t.Errorf("%s: LanguageProperty %q languageMap %v lacks en/kk/ru", id, name, lm)
			}
		default:
			t.Errorf("%s: attribute %q has type %v", id, name, attr["type"])
		}
		if s, ok := attr["observedAt"]; ok {
			if _, err := time.Parse(time.RFC3339, s.(string)); err != nil {
				t.Errorf("%s: %q observedAt: %v", id, name, err)
			}
		}
	}
}

func TestEntitiesInsideCity(t *testing.T) {
	c := newCity(t, 3)
	g := c.geo
	for _, e := range c.Entities(testTime) {
		id := e["id"].(string)
		if id == "urn:ngsi-ld:AdministrativeArea:astana" {
			continue // the boundary itself
		}
		loc := e["location"].(map[string]any)["value"].(map[string]any)
		switch loc["type"] {
		case "Point":
			p := toPoint(t, loc["coordinates"])
			if !g.Boundary.contains(p) {
				t.Errorf("%s at %v is outside the city boundary", id, p)
			}
			// The district in the id is the one the point lies in (buses move, so not for them).
			if m := idPattern.FindStringSubmatch(id); m != nil && m[3] != "" && e["type"] != "Vehicle" && e["type"] != "PointOfInterest" {
				if !g.district(m[3]).Shape.contains(p) {
					t.Errorf("%s at %v is outside district %s", id, p, m[3])
				}
			}
		case "Polygon", "MultiPolygon":
			raw, _ := json.Marshal(loc["coordinates"])
			shape, err := geometry{Type: loc["type"].(string), Coordinates: raw}.shape()
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			// Sample a grid over the shape: its area must lie in the city. District polygons are
			// simplified and not clipped to the boundary, so allow a sliver.
			lo, hi := shape.bbox()
			in, all := 0, 0
			for i := range 80 {
				for j := range 80 {
					p := point{lo[0] + (hi[0]-lo[0])*(float64(i)+0.5)/80, lo[1] + (hi[1]-lo[1])*(float64(j)+0.5)/80}
					if !shape.contains(p) {
						continue
					}
					all++
					if g.Boundary.contains(p) {
						in++
					}
				}
			}
			if all == 0 || float64(in) < 0.99*float64(all) {
				t.Errorf("%s: only %d of %d sample points inside the city", id, in, all)
			}
		default:
			t.Errorf("%s: location type %v", id, loc["type"])
		}
	}
}

// toPoint converts GeoJSON coordinates to a point.
func toPoint(t *testing.T, v any) point {
	t.Helper()
	c, ok := v.([]any)
	if !ok || len(c) != 2 {
		t.Fatalf("coordinates %v are not a position", v)
	}
	return point{c[0].(float64), c[1].(float64)}
}

func TestRelationshipsResolve(t *testing.T) {
	docs := newCity(t, 5).Entities(testTime)
	ids := map[string]string{}
	for _, e := range docs {
		ids[e["id"].(string)] = e["type"].(string)
	}
	wantType := map[string]string{
		"refDevice": "Device", "refParkingSite": "OffStreetParking", "containedInPlace": "AdministrativeArea",
	}
	for _, e := range docs {
		for name, v := range e {
			attr, ok := v.(map[string]any)
			if !ok || attr["type"] != "Relationship" {
				continue
			}
			obj := attr["object"].(string)
			if got := ids[obj]; got != wantType[name] {
				t.Errorf("%s: %s -> %s has type %q, want %q", e["id"], name, obj, got, wantType[name])
			}
		}
	}
}

// schemaProps collects the attribute names a Smart Data Models schema allows, following $refs
// into the local copies of the common schemas.
type schemaProps struct {
	t     *testing.T
	files map[string]any
}

// refFiles maps the $ref URLs used by the schemas to the local copies in testdata/sdm/common.
var refFiles = map[string]string{
	"https://smart-data-models.github.io/data-models/common-schema.json":                                       "common/common-schema.json",
	"https://smart-data-models.github.io/dataModel.Environment/Environment-schema.json":                        "common/Environment-schema.json",
	"https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/Environment-schema.json": "common/Environment-schema.json",
	"https://smart-data-models.github.io/dataModel.Weather/weather-schema.json":                                "common/weather-schema.json",
	"https://smart-data-models.github.io/dataModel.Device/device-schema.json":                                  "common/device-schema.json",
}

func (s *schemaProps) load(file string) any {
	if v, ok := s.files[file]; ok {
		return v
	}
	b, err := os.ReadFile(filepath.Join("testdata", "sdm", file))
	if err != nil {
		s.t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		s.t.Fatalf("%s: %v", file, err)
	}
	s.files[file] = v
	return v
}

func (s *schemaProps) collect(node any, file string, out, seen map[string]bool) {
	n, ok := node.(map[string]any)
	if !ok {
		return
	}
	if ref, ok := n["$ref"].(string); ok {
		u, frag, _ := strings.Cut(ref, "#")
		target := file
		if u != "" {
			if target, ok = refFiles[u]; !ok {
				s.t.Fatalf("%s: unknown $ref %s", file, ref)
			}
		}
		if seen[target+"#"+frag] {
			return
		}
		seen[target+"#"+frag] = true
		d := s.load(target)
		for _, part := range strings.Split(strings.Trim(frag, "/"), "/") {
			if part != "" {
				d = d.(map[string]any)[part]
			}
		}
		s.collect(d, target, out, seen)
	}
	if p, ok := n["properties"].(map[string]any); ok {
		for k := range p {
			out[k] = true
		}
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := n[k].([]any)
		for _, x := range list {
			s.collect(x, file, out, seen)
		}
	}
}

func TestSmartDataModelsAttributes(t *testing.T) {
	s := &schemaProps{t: t, files: map[string]any{}}
	allowed := map[string]map[string]bool{}
	for _, e := range newCity(t, 9).Entities(testTime) {
		typ := e["type"].(string)
		if _, err := os.Stat(filepath.Join("testdata", "sdm", typ, "schema.json")); err != nil {
			continue // AdministrativeArea, PointOfInterest: no schema copied
		}
		if allowed[typ] == nil {
			allowed[typ] = map[string]bool{}
			s.collect(s.load(typ+"/schema.json"), typ+"/schema.json", allowed[typ], map[string]bool{})
			if len(allowed[typ]) < 10 {
				t.Fatalf("%s schema yields only %d attributes", typ, len(allowed[typ]))
			}
		}
		for name := range e {
			if name != "@context" && !allowed[typ][name] {
				t.Errorf("%s: attribute %q is not in the %s schema", e["id"], name, typ)
			}
		}
	}
	if len(allowed) != 12 {
		t.Errorf("checked %d Smart Data Models types, want 12", len(allowed))
	}
}

func TestContextDefinesTerms(t *testing.T) {
	var ctx struct {
		Context map[string]any `json:"@context"`
	}
	if err := json.Unmarshal(ContextDocuments()[SmartDataModelsContext], &ctx); err != nil {
		t.Fatal(err)
	}
	// Terms the NGSI-LD core context defines, or that fall to the @vocab on purpose: the
	// aggregated context has no administrative-area model, and peopleOccupancy is only in
	// the Building domain context.
	core := map[string]bool{"location": true, "AdministrativeArea": true, "population": true, "area": true, "peopleOccupancy": true}
	for _, e := range newCity(t, 1).Entities(testTime) {
		if typ := e["type"].(string); ctx.Context[typ] == nil && !core[typ] {
			t.Errorf("type %s is not defined by the Smart Data Models context", typ)
		}
		for name := range e {
			if name == "id" || name == "type" || name == "@context" {
				continue
			}
			if ctx.Context[name] == nil && !core[name] {
				t.Errorf("%s: term %q is not defined by the Smart Data Models context", e["id"], name)
			}
		}
	}
}

func TestPointInPolygon(t *testing.T) {
	square := polygon{
		{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}},
		{{4, 4}, {6, 4}, {6, 6}, {4, 6}, {4, 4}}, // hole
	}
	m := multiPolygon{square, {{{20, 20}, {21, 20}, {21, 21}, {20, 20}}}}
	for _, tc := range []struct {
		p    point
		want bool
	}{
		{point{1, 1}, true},
		{point{5, 5}, false}, // in the hole
		{point{9.99, 5}, true},
		{point{11, 5}, false},
		{point{-1, -1}, false},
		{point{20.9, 20.5}, true}, // second polygon
		{point{20.1, 20.9}, false},
	} {
		if got := m.contains(tc.p); got != tc.want {
			t.Errorf("contains(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if (multiPolygon{}).contains(point{0, 0}) || (multiPolygon{polygon{}}).contains(point{0, 0}) {
		t.Error("empty shapes contain a point")
	}
}

func TestDataFiles(t *testing.T) {
	g, err := loadGeo()
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Districts) != 5 || len(g.Landmarks) != 12 || len(g.Malls) != 28 {
		t.Fatalf("got %d districts, %d landmarks, %d malls; want 5, 12, 28", len(g.Districts), len(g.Landmarks), len(g.Malls))
	}
	// The district recorded in the data files agrees with our point-in-polygon.
	for _, m := range g.Malls {
		if got := g.districtAt(m.Centroid); got != m.District {
			t.Errorf("mall %s: districtAt = %q, data says %q", m.Name, got, m.District)
		}
	}
	for _, l := range g.Landmarks {
		if got := g.districtAt(l.At); got != l.District {
			t.Errorf("landmark %s: districtAt = %q, data says %q", l.Key, got, l.District)
		}
		if !g.Boundary.contains(l.At) {
			t.Errorf("landmark %s is outside the city boundary", l.Key)
		}
	}
	src, err := dataFS.ReadFile("data/SOURCES.md")
	if err != nil || !strings.Contains(string(src), "© OpenStreetMap contributors") {
		t.Errorf("data/SOURCES.md lacks the OpenStreetMap attribution (err %v)", err)
	}
}
