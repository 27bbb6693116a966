package demo

import (
	"time"

	"github.com/qala-city/qala/internal/ngsild"
)

// The helpers below build normalized NGSI-LD attributes out of JSON-native Go values only
// (map[string]any, []any, string, float64, bool), so a document equals its own JSON round trip.

// prop is a Property.
func prop(v any) map[string]any { return map[string]any{"type": "Property", "value": v} }

// measure is a measured Property with its UN/CEFACT unit code (omitted when empty) and
// observation time.
func measure(v float64, unitCode string, at time.Time) map[string]any {
	m := map[string]any{"type": "Property", "value": v, "observedAt": ngsild.FormatTime(at)}
	if unitCode != "" {
		m["unitCode"] = unitCode
	}
	return m
}

// observed is a Property of any value with an observation time.
func observed(v any, at time.Time) map[string]any {
	return map[string]any{"type": "Property", "value": v, "observedAt": ngsild.FormatTime(at)}
}

// rel is a Relationship.
func rel(object string) map[string]any {
	return map[string]any{"type": "Relationship", "object": object}
}

// geoPoint is a GeoProperty holding a GeoJSON Point.
func geoPoint(p point) map[string]any {
	return map[string]any{"type": "GeoProperty", "value": pointValue(p)}
}

// pointValue is a GeoJSON Point.
func pointValue(p point) map[string]any {
	return map[string]any{"type": "Point", "coordinates": []any{p[0], p[1]}}
}

// langProp is a LanguageProperty with names in English, Kazakh and Russian.
func langProp(en, kk, ru string) map[string]any {
	return map[string]any{"type": "LanguageProperty", "languageMap": map[string]any{"en": en, "kk": kk, "ru": ru}}
}

// dateTime is a JSON-LD typed DateTime value, as the Smart Data Models examples write dates.
func dateTime(t time.Time) map[string]any {
	return map[string]any{"@type": "DateTime", "@value": ngsild.FormatTime(t)}
}

// strings converts to a JSON array of strings.
func strs(s ...string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// address is a PostalAddress in Astana.
func address(district *district, street string) map[string]any {
	v := map[string]any{
		"addressCountry":  "KZ",
		"addressLocality": "Astana",
		"district":        district.NameEN + " district",
	}
	if street != "" {
		v["streetAddress"] = street
	}
	return prop(v)
}

// UN/CEFACT common codes used by the Smart Data Models examples.
const (
	unitMicrogramPerM3 = "GQ"  // µg/m³
	unitMilligramPerM3 = "GP"  // mg/m³
	unitCelsius        = "CEL" // °C
	unitHectopascal    = "A97" // hPa
	unitMetrePerSecond = "MTS" // m/s
	unitDegree         = "DD"  // angular degree
	unitKmPerHour      = "KMH" // km/h
	unitMillimetre     = "MMT" // mm
	unitCentimetre     = "CMT" // cm
	unitKilowatt       = "KWT" // kW
	unitLux            = "LUX" // lx
)
