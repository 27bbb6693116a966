package ngsild

import (
	"encoding/json"
	"testing"
)

// benchEntity is a ~1 KB entity (normalized JSON) of the usual kinds.
const benchEntity = `{"id": "urn:ngsi-ld:Building:b1", "type": ["ex:Building"], "scope": ["/city/centre"],
 "createdAt": "2024-01-01T10:00:00Z", "modifiedAt": "2024-01-02T10:00:00Z",
 "attrs": {
  "ex:temperature": {"type": "Property", "value": 21.5, "unitCode": "CEL", "observedAt": "2024-01-02T09:59:00Z",
     "createdAt": "2024-01-01T10:00:00Z", "modifiedAt": "2024-01-02T10:00:00Z",
     "ex:reliability": {"type": "Property", "value": 0.9}},
  "ex:owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:p1", "objectType": "ex:Person"},
  "ex:name": {"type": "LanguageProperty", "languageMap": {"en": "Big store", "fr": "Grand magasin"}},
  "ex:category": {"type": "VocabProperty", "vocab": "ex:Commercial"},
  "ex:street": {"type": "Property", "value": "Mangilik El 55"},
  "ex:address": {"type": "Property", "value": {"streetAddress": "Mangilik El 55", "city": "Astana", "postalCode": "010000"}},
  "https://uri.etsi.org/ngsi-ld/location": {"type": "GeoProperty", "value": {"type": "Polygon", "coordinates": [[[71.43, 51.13], [71.44, 51.13], [71.44, 51.14], [71.43, 51.13]]]}},
  "ex:readings": {"type": "ListProperty", "valueList": [1, 2.5, 3, 4, 5]},
  "ex:config": {"type": "JsonProperty", "json": {"mode": "eco", "levels": [1, 2, 3]}}
 }}`

func benchRender(b *testing.B, o RenderOptions) {
	e := testEntity(&testing.T{}, benchEntity)
	out, err := Render(e, o).MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf, err = Render(e, o).AppendJSON(buf[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderNormalized(b *testing.B) {
	benchRender(b, RenderOptions{Context: testContext(b)})
}

func BenchmarkRenderNormalizedNoContext(b *testing.B) { benchRender(b, RenderOptions{}) }

func BenchmarkRenderConciseSysAttrs(b *testing.B) {
	benchRender(b, RenderOptions{Context: testContext(b), Format: Concise, SysAttrs: true})
}

func BenchmarkRenderKeyValues(b *testing.B) {
	benchRender(b, RenderOptions{Context: testContext(b), Format: KeyValues})
}

// BenchmarkEncodingJSONMap is the baseline: encoding/json on the same
// representation held as map[string]any (unordered).
func BenchmarkEncodingJSONMap(b *testing.B) {
	e := testEntity(&testing.T{}, benchEntity)
	raw, _ := Render(e, RenderOptions{}).MarshalJSON()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(m); err != nil {
			b.Fatal(err)
		}
	}
}
