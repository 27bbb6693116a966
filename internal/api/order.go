package api

import (
	"encoding/json"
	"strings"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/query"
)

// maxOrdered bounds how many matches a query with orderBy may sort: ordering
// needs every match in memory, so a larger result is refused as too complex
// rather than exhausting the server.
const maxOrdered = 20000

// urlOrdering reads the ordering parameters of GET /entities (clause 4.23.3
// of v1.9): orderBy, collation, and orderGeometry and orderFrom, the
// reference geometry of the dist-asc and dist-desc keys. It returns nil when
// no orderBy is given.
func (c *call) urlOrdering(ctx *jsonld.Context) (*query.Ordering, error) {
	p := query.OrderParams{
		OrderBy:     c.query["orderBy"],
		Collation:   c.query.Get("collation"),
		Geometry:    c.query.Get("orderGeometry"),
		Coordinates: c.query.Get("orderFrom"),
	}
	if _, ok := c.query["collation"]; ok && p.Collation == "" {
		return nil, problem.BadData("collation: empty; give an IETF BCP 47 language tag such as \"und\" or \"de\"")
	}
	return query.ParseOrdering(p, ctx)
}

// bodyOrdering reads the ordering member of a Query (POST
// /entityOperations/query), an OrderingParams object (Table 5.2.43-1 of
// v1.9): orderBy (an array of strings), collation (a string), geometry (a
// string) and coordinates (a JSON array, needed when orderBy orders by
// distance).
func bodyOrdering(raw any, ctx *jsonld.Context) (*query.Ordering, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, problem.BadData("ordering must be an object with orderBy, and optionally collation, geometry and coordinates")
	}
	p := query.OrderParams{GeometryParam: "ordering.geometry", CoordinatesParam: "ordering.coordinates"}
	for k, v := range m {
		switch k {
		case "orderBy":
			switch x := v.(type) {
			case string:
				p.OrderBy = []string{x}
			case []any:
				for i, el := range x {
					s, ok := el.(string)
					if !ok {
						return nil, problem.BadData("ordering.orderBy[%d] must be a string like \"name;desc\", not %s", i, jsonKind(el))
					}
					p.OrderBy = append(p.OrderBy, s)
				}
			default:
				return nil, problem.BadData("ordering.orderBy must be an array of strings like [\"name;desc\"], not %s", jsonKind(v))
			}
		case "collation", "geometry":
			s, ok := v.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return nil, problem.BadData("ordering.%s must be a non-empty string, not %s", k, jsonKind(v))
			}
			if k == "collation" {
				p.Collation = s
			} else {
				p.Geometry = s
			}
		case "coordinates":
			if _, ok := v.([]any); !ok {
				return nil, problem.BadData("ordering.coordinates must be a JSON array of coordinates, e.g. [71.43,51.12], not %s", jsonKind(v))
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, problem.BadData("ordering.coordinates: %v", err)
			}
			p.Coordinates = string(b)
		case "type", "@context":
		default:
			return nil, problem.BadData("ordering has no member %q (it takes orderBy, collation, geometry and coordinates)", k)
		}
	}
	if len(p.OrderBy) == 0 {
		return nil, problem.BadData("ordering needs orderBy, e.g. {\"orderBy\": [\"name;asc\"]}")
	}
	return query.ParseOrdering(p, ctx)
}

// jsonKind names the JSON kind of a decoded value for error details.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "a value"
}
