package api

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/query"
)

// queryPost is Query Entities via POST (clause 5.7.2, 6.23.3.1): the body is a
// Query data type (clause 5.2.23) with any number of entity selectors, the
// pagination and representation still in the URL.
func (a *API) queryPost(c *call) (*response, error) {
	mt, err := c.accept(true)
	if err != nil {
		return nil, err
	}
	doc, ctx, err := c.readObject(false)
	if err != nil {
		return nil, err
	}
	if t, ok := doc["type"]; ok && t != "Query" {
		return nil, problem.BadData("the body must be a Query (type \"Query\"), not %v", t)
	}
	str := func(k string) (string, error) {
		v, ok := doc[k]
		if !ok {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", problem.BadData("%s must be a string", k)
		}
		return s, nil
	}
	var shared query.Params
	if shared.Q, err = str("q"); err != nil {
		return nil, err
	}
	shared.ExpandValues = c.query.Get("expandValues")
	if shared.ScopeQ, err = str("scopeQ"); err != nil {
		return nil, err
	}
	if g, ok := doc["geoQ"]; ok {
		gm, ok := g.(map[string]any)
		if !ok {
			return nil, problem.BadData("geoQ must be an object with geometry, coordinates, georel and geoproperty")
		}
		shared.GeoRel, _ = gm["georel"].(string)
		shared.Geometry, _ = gm["geometry"].(string)
		shared.GeoProperty, _ = gm["geoproperty"].(string)
		switch co := gm["coordinates"].(type) {
		case string:
			shared.Coordinates = co
		case nil:
		default:
			b, _ := json.Marshal(co)
			shared.Coordinates = string(b)
		}
	}
	if _, ok := doc["temporalQ"]; ok {
		return nil, problem.BadData("temporalQ belongs to Query Temporal Evolution of Entities only (Table 5.2.23-1), not to Query Entities")
	}
	if v, ok := doc["csf"]; ok {
		return nil, csfUnsupported(v, ctx)
	}
	common, err := query.Parse(shared, ctx)
	if err != nil {
		return nil, err
	}
	common.Resolve = c.resolver()
	var selectors []*query.Query
	if raw, ok := doc["entities"]; ok {
		list, ok := raw.([]any)
		if !ok || len(list) == 0 {
			return nil, problem.BadData("entities must be a non-empty array of EntitySelectors")
		}
		for i, el := range list {
			m, ok := el.(map[string]any)
			if !ok {
				return nil, problem.BadData("entities[%d] must be an object", i)
			}
			var p query.Params
			switch id := m["id"].(type) {
			case nil:
			case string:
				p.ID = id
			case []any:
				ids := make([]string, len(id))
				for j, v := range id {
					s, ok := v.(string)
					if !ok {
						return nil, problem.BadData("entities[%d].id[%d] must be a URI string, not %s", i, j, jsonKind(v))
					}
					ids[j] = s
				}
				p.ID = strings.Join(ids, ",")
			default:
				return nil, problem.BadData("entities[%d].id must be a URI or an array of URIs, not %s", i, jsonKind(id))
			}
			if p.ID == "" { // id takes precedence over idPattern (clause 5.2.33)
				p.IDPattern, _ = m["idPattern"].(string)
			}
			p.Type, _ = m["type"].(string)
			if p.Type == "" {
				return nil, problem.BadData("entities[%d] needs a type", i)
			}
			sel, err := query.Parse(p, ctx)
			if err != nil {
				return nil, err
			}
			selectors = append(selectors, sel)
		}
	}
	// pick and omit (Table 5.2.23-1 of v1.9) may come in the body as
	// arrays of member names, or in the URL.
	for _, k := range []string{"pick", "omit"} {
		raw, ok := doc[k]
		if !ok {
			continue
		}
		if _, inURL := c.query[k]; inURL {
			return nil, problem.BadData("%s is given both in the URL and in the Query", k)
		}
		switch v := raw.(type) {
		case string:
			c.query.Set(k, v)
		case []any:
			parts := make([]string, len(v))
			for j, el := range v {
				s, ok := el.(string)
				if !ok {
					return nil, problem.BadData("%s[%d] must be a member name, not %s", k, j, jsonKind(el))
				}
				parts[j] = s
			}
			c.query.Set(k, strings.Join(parts, ","))
		default:
			return nil, problem.BadData("%s must be an array of member names, not %s", k, jsonKind(raw))
		}
	}
	o, err := c.renderOptions(ctx)
	if err != nil {
		return nil, err
	}
	if raw, ok := doc["attrs"]; ok {
		list, ok := raw.([]any)
		if !ok || len(list) == 0 {
			return nil, problem.BadData("attrs must be a non-empty array of attribute names (Table 5.2.23-1)")
		}
		for _, v := range list {
			s, ok := v.(string)
			if !ok || !validName(s) {
				return nil, problem.BadData("attrs holds an invalid attribute name %v", v)
			}
			o.Attrs = append(o.Attrs, ctx.ExpandTerm(s))
		}
	}
	if l, ok := doc["lang"].(string); ok {
		o.Lang = l
	}
	if selectors == nil && common.Empty() && o.Attrs == nil {
		return nil, problem.BadData("a query needs entities, attrs, q, scopeQ or geoQ")
	}
	q := storeQuery(common, o.Attrs)
	// A union of simple type lists can use the type index.
	var types []string
	indexable := selectors != nil
	for _, s := range selectors {
		t, ok := s.IndexTypes()
		if !ok {
			indexable = false
			break
		}
		types = append(types, t...)
	}
	if indexable {
		q.Types = types
	}
	if selectors != nil {
		base := q.Filter
		if q.FilterAttrs == nil {
			q.FilterAttrs = []string{} // selectors read only entity members
		}
		q.Filter = func(e *ngsild.Entity) bool {
			if base != nil && !base(e) {
				return false
			}
			for _, s := range selectors {
				if s.Match(e) {
					return true
				}
			}
			return false
		}
	}
	// join and joinLevel may come in the URL or in the Query body.
	for _, k := range []string{"join", "joinLevel"} {
		switch v := doc[k].(type) {
		case nil:
		case string:
			c.query.Set(k, v)
		case float64:
			c.query.Set(k, strconv.FormatFloat(v, 'f', -1, 64))
		default:
			return nil, problem.BadData("%s must be a string", k)
		}
	}
	if err := c.linkedDepthAllowed(shared.Q); err != nil {
		return nil, err
	}
	var order *query.Ordering
	if raw, ok := doc["ordering"]; ok {
		if order, err = bodyOrdering(raw, ctx); err != nil {
			return nil, err
		}
	}
	return c.runQuery(q, common.Geo, order, o, mt, ctx)
}
