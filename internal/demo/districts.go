package demo

import (
	"bytes"
	"encoding/json"
)

// DistrictGeometry is the boundary of one Astana district as GeoJSON: its
// geometry type (Polygon or MultiPolygon) and its coordinates as compact
// JSON text, ready for a geo-query.
type DistrictGeometry struct {
	Key         string // almaty, baikonur, yesil, saryarka, nura
	Type        string
	Coordinates string
}

// DistrictGeometries returns the boundaries of the five districts, in the
// order of the data file.
func DistrictGeometries() ([]DistrictGeometry, error) {
	g, err := loadGeo()
	if err != nil {
		return nil, err
	}
	out := make([]DistrictGeometry, 0, len(g.Districts))
	for _, d := range g.Districts {
		var b bytes.Buffer
		if err := json.Compact(&b, d.Geometry.Coordinates); err != nil {
			return nil, err
		}
		out = append(out, DistrictGeometry{Key: d.Key, Type: d.Geometry.Type, Coordinates: b.String()})
	}
	return out, nil
}
