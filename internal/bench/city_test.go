package bench

import (
	"encoding/json"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cityLocation returns the coordinates of an entity's location Point.
func cityLocation(t *testing.T, e map[string]any) (lon, lat float64) {
	t.Helper()
	var loc struct {
		Type  string
		Value struct {
			Type        string
			Coordinates []float64
		}
	}
	raw, _ := json.Marshal(e["location"])
	if err := json.Unmarshal(raw, &loc); err != nil || loc.Type != "GeoProperty" ||
		loc.Value.Type != "Point" || len(loc.Value.Coordinates) != 2 {
		t.Fatalf("location %s is not a GeoProperty Point (%v)", raw, err)
	}
	return loc.Value.Coordinates[0], loc.Value.Coordinates[1]
}

func attrValue(t *testing.T, e map[string]any, name string) any {
	t.Helper()
	a, ok := e[name].(map[string]any)
	if !ok {
		t.Fatalf("entity %v: no attribute %s", e["id"], name)
	}
	return a["value"]
}

func TestCityEntities(t *testing.T) {
	c := City{RunID: "r1", Total: 2000, AQ: 200}
	ids := map[string]bool{}
	perType := map[string]int{}
	attrsOf := map[string][]string{} // type → sorted attribute names seen
	for seq := range uint64(c.Total) {
		body := c.AppendEntity(nil, seq, t0)
		var e map[string]any
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("seq %d: invalid JSON: %v\n%s", seq, err, body)
		}
		id, _ := e["id"].(string)
		if id != c.ID(seq) || ids[id] {
			t.Fatalf("seq %d: id %q (want %q, unique)", seq, id, c.ID(seq))
		}
		ids[id] = true
		typ, _ := e["type"].(string)
		if typ != c.Type(seq) {
			t.Fatalf("seq %d: type %q, want %q", seq, typ, c.Type(seq))
		}
		perType[typ]++
		checkAttrs(t, e)
		lon, lat := cityLocation(t, e)
		if lon < AstanaMinLon || lon > AstanaMaxLon || lat < AstanaMinLat || lat > AstanaMaxLat {
			t.Errorf("seq %d: location %v, %v outside the Astana box", seq, lon, lat)
		}
		if typ == EntityType {
			pm25, pm10, no2 := c.Pollutants(seq)
			for name, want := range map[string]float64{"pm25": pm25, "pm10": pm10, "no2": no2} {
				if v, ok := attrValue(t, e, name).(float64); !ok || v != want || v <= 0 {
					t.Errorf("seq %d: %s = %v, want the positive number %v", seq, name, attrValue(t, e, name), want)
				}
			}
		}
		var names []string
		for k := range e {
			if k != "id" && k != "type" {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		if prev, ok := attrsOf[typ]; ok && !slices.Equal(prev, names) {
			t.Fatalf("type %s: attributes %v, then %v", typ, prev, names)
		}
		attrsOf[typ] = names
	}
	if perType[EntityType] != c.AQ || len(perType) != 1+len(otherCityTypes) {
		t.Errorf("entities per type %v, want %d %s and %d other types", perType, c.AQ, EntityType, len(otherCityTypes))
	}
	for typ, n := range perType {
		if typ != EntityType && (n < 199 || n > 201) {
			t.Errorf("%d entities of %s, want 200 (round robin)", n, typ)
		}
	}

	// The canned /types and /attributes bodies describe the same city.
	var infos []struct {
		ID, Type, TypeName string
		AttributeNames     []string
	}
	if err := json.Unmarshal(AppendTypesDetails(nil), &infos); err != nil {
		t.Fatalf("types details: %v", err)
	}
	details := map[string][]string{}
	all := map[string]bool{}
	for _, in := range infos {
		if in.Type != "EntityType" {
			t.Errorf("type info %s: type %q", in.TypeName, in.Type)
		}
		names := slices.Clone(in.AttributeNames)
		sort.Strings(names)
		details[in.TypeName] = names
		for _, n := range names {
			all[n] = true
		}
	}
	if diff := cmp.Diff(attrsOf, details); diff != "" {
		t.Errorf("types?details=true differs from the generated entities (-entities +details):\n%s", diff)
	}
	var list struct {
		Type          string
		AttributeList []string
	}
	if err := json.Unmarshal(AppendAttributeList(nil), &list); err != nil {
		t.Fatalf("attribute list: %v", err)
	}
	got := slices.Sorted(slices.Values(list.AttributeList))
	var want []string
	for n := range all {
		want = append(want, n)
	}
	sort.Strings(want)
	if list.Type != "AttributeList" || !slices.Equal(got, want) {
		t.Errorf("attribute list %s %v, want AttributeList %v", list.Type, got, want)
	}
	var types struct{ TypeList []string }
	if err := json.Unmarshal(appendTypeList(nil), &types); err != nil || len(types.TypeList) != 10 {
		t.Errorf("type list %v (%v), want 10 types", types.TypeList, err)
	}
}

// TestCityPollutantDistribution checks that the goal query of the issue,
// q=pm25>35;pm10<80, matches 10–20 % of AirQualityObserved, and that the
// values look like city air (positive, pm10 mostly above pm25).
func TestCityPollutantDistribution(t *testing.T) {
	c := NewCity("r", 200000)
	const n = 20000
	match, pm10Above, high := 0, 0, 0
	var sum25, sumNO2 float64
	for seq := range uint64(n) {
		pm25, pm10, no2 := c.Pollutants(seq)
		if pm25 <= 0 || pm10 <= 0 || no2 <= 0 || pm25 > 1000 || pm10 > 2000 || no2 > 1000 {
			t.Fatalf("seq %d: pm25 %v, pm10 %v, no2 %v", seq, pm25, pm10, no2)
		}
		if pm25 > 35 && pm10 < 80 {
			match++
		}
		if pm25 > 35 {
			high++
		}
		if pm10 >= pm25 {
			pm10Above++
		}
		sum25 += pm25
		sumNO2 += no2
	}
	frac := float64(match) / n
	t.Logf("pm25>35;pm10<80: %.1f %%; pm25>35: %.1f %%; mean pm25 %.1f, no2 %.1f",
		100*frac, 100*float64(high)/n, sum25/n, sumNO2/n)
	if frac < 0.10 || frac > 0.20 {
		t.Errorf("pm25>35;pm10<80 matches %.1f %%, want 10–20 %%", 100*frac)
	}
	if f := float64(pm10Above) / n; f < 0.9 {
		t.Errorf("pm10 ≥ pm25 for %.1f %%, want most", 100*f)
	}
	if m := sum25 / n; m < 15 || m > 30 {
		t.Errorf("mean pm25 %.1f, want a city's 15–30 µg/m³", m)
	}
}

func TestCityBatch(t *testing.T) {
	c := City{RunID: "b", Total: 1050, AQ: 105}
	for _, tc := range []struct {
		first uint64
		n     int
		want  int
	}{{0, 1000, 1000}, {1000, 1000, 50}, {1050, 10, 0}, {3, 0, 0}} {
		var es []map[string]any
		body := c.AppendBatch(nil, tc.first, tc.n, t0)
		if err := json.Unmarshal(body, &es); err != nil {
			t.Fatalf("first %d n %d: invalid JSON: %v", tc.first, tc.n, err)
		}
		if len(es) != tc.want {
			t.Fatalf("first %d n %d: %d entities, want %d", tc.first, tc.n, len(es), tc.want)
		}
		for i, e := range es {
			if want := c.ID(tc.first + uint64(i)); e["id"] != want {
				t.Fatalf("entity %d: id %v, want %s", i, e["id"], want)
			}
		}
	}
}

func BenchmarkCityBatch(b *testing.B) {
	c := NewCity("bench", 1000000)
	var buf []byte
	for i := range b.N {
		buf = c.AppendBatch(buf[:0], uint64(i%1000)*1000, 1000, t0)
	}
	b.SetBytes(int64(len(buf)))
}
