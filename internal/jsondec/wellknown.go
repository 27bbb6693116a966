package jsondec

// wellKnownKeys and wellKnownValues are looked up before the per-call
// caches, so the keys and values that NGSI-LD bodies are made of cost no
// allocation even the first time they occur. They are constants of the
// program, not strings of earlier calls, and are never written after init.
var (
	wellKnownKeys   [cacheSize]string
	wellKnownValues [cacheSize]any
)

func init() {
	for _, k := range []string{
		"id", "type", "value", "object", "objectList", "objectType", "observedAt", "unitCode",
		"datasetId", "createdAt", "modifiedAt", "deletedAt", "instanceId", "languageMap",
		"vocab", "json", "valueList", "@context", "@id", "@type", "@value", "@list", "@language",
		"coordinates", "location", "observationSpace", "operationSpace", "scope", "lang",
		"name", "description",
	} {
		if s := cacheSlot([]byte(k)); wellKnownKeys[s] == "" {
			wellKnownKeys[s] = k
		}
	}
	for _, v := range []string{
		"Property", "Relationship", "GeoProperty", "LanguageProperty", "VocabProperty",
		"JsonProperty", "ListProperty", "ListRelationship", "Point", "MultiPoint", "LineString",
		"MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection", "Feature",
		"FeatureCollection", "DateTime", "Date", "Time",
	} {
		if s := cacheSlot([]byte(v)); wellKnownValues[s] == nil {
			wellKnownValues[s] = v
		}
	}
}
