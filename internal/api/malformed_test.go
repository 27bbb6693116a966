package api_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// malformed is one request that Qala must refuse with a ProblemDetails: the
// status and error type the spec gives, and a detail that names the fault.
type malformed struct {
	name   string
	method string // GET when empty
	path   string // after /ngsi-ld/v1/; raw query text is escaped as a client would
	body   string // for POST, application/json
	status int    // 400 when zero
	typ    string // BadRequestData when empty
	detail []string
}

// TestMalformedQueries sends malformed queries of every kind and checks that
// each is answered with the right 4xx ProblemDetails, never a 500: the
// parsers' BadRequestData (clause 5.5.2 of v1.8: input data that does not
// meet the requirements of the operation) whose detail points at the
// offending parameter and offset, InvalidRequest for unknown parameters and
// unknown format/options values (clause 6.3.20, ETSI TPs 059_01, 018_16),
// TooManyResults (403) for a limit above the maximum (clause 6.3.10: "If the
// limit requested is greater than the maximum", TooManyResults), and
// OperationNotSupported (422) for what Qala does not offer.
func TestMalformedQueries(t *testing.T) {
	srv := newTestServer(t)
	resp, b := do(t, "POST", srv.URL+"/ngsi-ld/v1/entityOperations/create", "application/json", `[
	 {"id": "urn:ngsi-ld:Shop:1", "type": "Shop", "name": {"type": "Property", "value": "Abay"},
	  "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [71.43, 51.12]}}},
	 {"id": "urn:ngsi-ld:Shop:2", "type": "Shop", "name": {"type": "Property", "value": "Baiterek"}}]`)
	if resp.StatusCode != 201 {
		t.Fatalf("setup: %d %s", resp.StatusCode, b)
	}
	cases := []malformed{
		// id and idPattern (clause 6.4.3.2)
		{name: "id not a URI", path: "entities?type=Shop&id=shop one", detail: []string{`id: "shop one" is not a URI`}},
		{name: "idPattern not a regexp", path: "entities?type=Shop&idPattern=urn:(", detail: []string{"idPattern", "missing closing )"}},
		{name: "id alone", path: "entities?id=urn:ngsi-ld:Shop:1", detail: []string{"id, idPattern, scopeQ and system members (createdAt, modifiedAt...) only narrow it"}},
		{name: "nothing selected", path: "entities", detail: []string{"a query needs at least one of"}},

		// type selection (clause 4.17)
		{name: "type empty item", path: "entities?type=Shop,,Kiosk", detail: []string{"type:", "at offset 5"}},
		{name: "type unclosed paren", path: "entities?type=(Shop;Kiosk", detail: []string{"type:", `unclosed "("`, "at offset 0"}},
		{name: "type stray paren", path: "entities?type=Shop)", detail: []string{"type:", "at offset 4"}},
		{name: "type trailing or", path: "entities?type=Shop|", detail: []string{"type:", "at offset 5"}},
		{name: "type forbidden char", path: "entities?type=Sh<op", detail: []string{"type:", "at offset 2"}},
		{name: "type deep nesting", path: "entities?type=" + strings.Repeat("(", 40) + "Shop" + strings.Repeat(")", 40), detail: []string{"nested deeper than"}},

		// q (clause 4.9)
		{name: "q empty", path: "entities?type=Shop&q=", detail: nil, status: 200},
		{name: "q single =", path: "entities?type=Shop&q=name=1", detail: []string{"q:", `unknown operator "="`, "at offset 4"}},
		{name: "q no value", path: "entities?type=Shop&q=name==", detail: []string{"q:", "at offset 6"}},
		{name: "q unclosed string", path: `entities?type=Shop&q=name=="Abay`, detail: []string{"q:", "at offset 6"}},
		{name: "q unbalanced close", path: "entities?type=Shop&q=name==1)", detail: []string{"q:", `unbalanced ")"`, "at offset 7"}},
		{name: "q unclosed paren", path: "entities?type=Shop&q=(name==1", detail: []string{"q:", `unclosed "("`, "at offset 0"}},
		{name: "q dangling and", path: "entities?type=Shop&q=name==1;", detail: []string{"q:", "at offset 8"}},
		{name: "q dangling or", path: "entities?type=Shop&q=|name==1", detail: []string{"q:", "at offset 0"}},
		{name: "q bad regexp", path: "entities?type=Shop&q=name~=(", detail: []string{"q:", "at offset 6"}},
		{name: "q range without end", path: "entities?type=Shop&q=name==1..", detail: []string{"q:", "at offset"}},
		{name: "q bad bracket", path: "entities?type=Shop&q=address[city==1", detail: []string{"q:", `unclosed "["`, "at offset 7"}},
		{name: "q dot after bracket", path: "entities?type=Shop&q=address[city].x==1", detail: []string{"q:", "at offset 13"}},
		{name: "q member of id", path: "entities?type=Shop&q=id.x==1", detail: []string{"q:", "has no sub-attributes", "at offset 2"}},
		{name: "q deep nesting", path: "entities?type=Shop&q=" + strings.Repeat("(", 40) + "a==1" + strings.Repeat(")", 40), detail: []string{"q:", "nested deeper than"}},
		{name: "q too long", path: "entities?type=Shop&q=" + strings.Repeat("a", 9000), detail: []string{"q:", "exceeds the limit"}},
		{name: "q linked entity path without join", path: "entities?type=Shop&q=owner{name}==1", detail: []string{"too deep", "5.7.2.4"}},
		{name: "q linked entity path deeper than joinLevel", path: "entities?type=Shop&join=inline&joinLevel=1&q=owner{works{name}}==1", detail: []string{"2 levels deep, deeper than joinLevel=1"}},
		{name: "q linked entity path unclosed", path: "entities?type=Shop&join=inline&q=owner{name==1", detail: []string{"q:", "expected \"}\""}},
		{name: "post q linked entity path without join", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop"}], "q": "owner{name}==1"}`, detail: []string{"too deep", "5.7.2.4"}},
		{name: "purge linked q", method: "DELETE", path: "entities?type=Shop&q=owner{name}==1", detail: []string{"too deep"}},
		{name: "csf malformed", path: "entities?type=Shop&csf=))bad((", detail: []string{"csf: not a valid context source filter"}},

		// scopeQ (clause 4.19)
		{name: "scopeQ relative", path: "entities?type=Shop&scopeQ=Astana", detail: []string{"scopeQ:", "at offset 0"}},
		{name: "scopeQ trailing slash", path: "entities?type=Shop&scopeQ=/Astana/", detail: []string{"scopeQ:", "at offset"}},
		{name: "scopeQ empty level", path: "entities?type=Shop&scopeQ=//Astana", detail: []string{"scopeQ:", "at offset"}},
		{name: "scopeQ hash not last", path: "entities?type=Shop&scopeQ=/Astana/#/Yesil", detail: []string{"scopeQ:", "at offset"}},
		{name: "scopeQ unclosed paren", path: "entities?type=Shop&scopeQ=(/Astana", detail: []string{"scopeQ:", `unclosed "("`}},

		// geo-queries (clause 4.10)
		{name: "georel alone", path: "entities?type=Shop&georel=near;maxDistance==10", detail: []string{"geometry: missing"}},
		{name: "geometry without georel", path: "entities?type=Shop&geometry=Point&coordinates=[71.4,51.1]", detail: []string{"georel: missing"}},
		{name: "coordinates missing", path: "entities?type=Shop&georel=within&geometry=Polygon", detail: []string{"coordinates: missing"}},
		{name: "unknown georel", path: "entities?type=Shop&georel=inside&geometry=Point&coordinates=[71.4,51.1]", detail: []string{"georel:", `unknown relationship "inside"`, "at offset 0"}},
		{name: "near without distance", path: "entities?type=Shop&georel=near&geometry=Point&coordinates=[71.4,51.1]", detail: []string{"georel:", "near needs maxDistance or minDistance"}},
		{name: "near negative distance", path: "entities?type=Shop&georel=near;maxDistance==-5&geometry=Point&coordinates=[71.4,51.1]", detail: []string{"georel:", "positive number", "at offset 18"}},
		{name: "near distance not a number", path: "entities?type=Shop&georel=near;maxDistance==far&geometry=Point&coordinates=[71.4,51.1]", detail: []string{"georel:", "at offset 18"}},
		{name: "near unknown modifier", path: "entities?type=Shop&georel=near;radius==5&geometry=Point&coordinates=[71.4,51.1]", detail: []string{"georel:", `unknown modifier "radius"`, "at offset 5"}},
		{name: "within with modifier", path: "entities?type=Shop&georel=within;maxDistance==5&geometry=Polygon&coordinates=[[[0,0],[1,0],[1,1],[0,0]]]", detail: []string{"georel:", "takes no modifiers"}},
		{name: "near zero distance", path: "entities?type=Shop&georel=near;minDistance==0&geometry=Point&coordinates=[71.4,51.1]", detail: []string{"georel:", "positive number", "at offset 18"}},
		{name: "near two modifiers", path: "entities?type=Shop&georel=near;minDistance==1;maxDistance==9&geometry=Point&coordinates=[71.4,51.1]", detail: []string{"georel:", "one distance modifier", "at offset 20"}},
		{name: "unknown geometry", path: "entities?type=Shop&georel=within&geometry=Circle&coordinates=[71.4,51.1]", detail: []string{"geometry:", `"Circle"`}},
		{name: "geometry collection", path: "entities?type=Shop&georel=within&geometry=GeometryCollection&coordinates=[]", detail: []string{"geometry:"}},
		{name: "coordinates not JSON", path: "entities?type=Shop&georel=within&geometry=Polygon&coordinates=[[[0,0],[1,0]", detail: []string{"coordinates: not a JSON array", "offset"}},
		{name: "coordinates not an array", path: "entities?type=Shop&georel=intersects&geometry=Point&coordinates=71.4", detail: []string{"coordinates: must be a JSON array"}},
		{name: "point with one number", path: "entities?type=Shop&georel=intersects&geometry=Point&coordinates=[71.4]", detail: []string{"coordinates: invalid Point"}},
		{name: "latitude out of range", path: "entities?type=Shop&georel=intersects&geometry=Point&coordinates=[71.4,91]", detail: []string{"coordinates: invalid Point", "latitude"}},
		{name: "longitude out of range", path: "entities?type=Shop&georel=intersects&geometry=Point&coordinates=[181,51]", detail: []string{"coordinates: invalid Point", "longitude"}},
		{name: "polygon ring not closed", path: "entities?type=Shop&georel=within&geometry=Polygon&coordinates=[[[0,0],[1,0],[1,1],[0,1]]]", detail: []string{"coordinates: invalid Polygon"}},
		{name: "polygon ring too short", path: "entities?type=Shop&georel=within&geometry=Polygon&coordinates=[[[0,0],[1,0],[0,0]]]", detail: []string{"coordinates: invalid Polygon"}},
		{name: "linestring of one point", path: "entities?type=Shop&georel=intersects&geometry=LineString&coordinates=[[0,0]]", detail: []string{"coordinates: invalid LineString"}},
		{name: "multipolygon too shallow", path: "entities?type=Shop&georel=within&geometry=MultiPolygon&coordinates=[[0,0],[1,1]]", detail: []string{"coordinates: invalid MultiPolygon"}},
		{name: "coordinate is a string", path: `entities?type=Shop&georel=intersects&geometry=Point&coordinates=["71.4",51.1]`, detail: []string{"coordinates: invalid Point"}},
		{name: "coordinates NaN", path: "entities?type=Shop&georel=intersects&geometry=Point&coordinates=[NaN,1]", detail: []string{"coordinates: not a JSON array"}},

		// attrs, pick, omit (clauses 4.21 of v1.8, 6.3.x)
		{name: "attrs empty", path: "entities?type=Shop&attrs=", detail: []string{"attrs must name at least one attribute"}},
		{name: "attrs entity member", path: "entities?type=Shop&attrs=id", detail: []string{`attrs: "id" is an entity member`}},
		{name: "attrs forbidden char", path: "entities?type=Shop&attrs=na(me", detail: []string{`attrs: "na(me" is not a valid attribute name`}},
		{name: "pick and omit", path: "entities?type=Shop&pick=name&omit=location", detail: []string{"pick and omit must not be used together"}},
		{name: "pick and attrs", path: "entities?type=Shop&pick=name&attrs=name", detail: []string{"attrs must not be used together with pick or omit"}},
		{name: "pick unclosed brace", path: "entities?type=Shop&pick=name,owner{id", detail: []string{"pick"}},
		{name: "pick empty", path: "entities?type=Shop&pick=", detail: []string{"pick"}},
		{name: "omit forbidden char", path: "entities?type=Shop&omit=na;me", detail: []string{"omit"}},

		// representation (clauses 6.3.7, 6.3.14)
		{name: "format unknown", path: "entities?type=Shop&format=pretty", typ: "InvalidRequest", detail: []string{"format must be"}},
		{name: "options unknown", path: "entities?type=Shop&options=fancy", typ: "InvalidRequest", detail: []string{`options value "fancy"`}},
		{name: "options two formats", path: "entities?type=Shop&options=keyValues,concise", detail: []string{"only one of"}},
		{name: "lang empty", path: "entities?type=Shop&lang=", detail: []string{"lang must be one language tag"}},
		{name: "lang twice", path: "entities?type=Shop&lang=en&lang=kk", detail: []string{"lang must be one language tag"}},
		{name: "datasetId not a URI", path: "entities?type=Shop&datasetId=night", detail: []string{`datasetId "night" is not a URI`}},
		{name: "geometryProperty without geo+json", path: "entities?type=Shop&geometryProperty=location", detail: []string{"geometryProperty"}},

		// paging and count (clause 5.5.9, 6.3.10, 6.3.13)
		{name: "limit negative", path: "entities?type=Shop&limit=-1", detail: []string{`limit must be a non-negative integer, not "-1"`}},
		{name: "limit not a number", path: "entities?type=Shop&limit=ten", detail: []string{`limit must be a non-negative integer, not "ten"`}},
		{name: "limit huge", path: "entities?type=Shop&limit=99999999999999999999", detail: []string{"limit must be a non-negative integer"}},
		{name: "limit zero without count", path: "entities?type=Shop&limit=0", detail: []string{"limit=0 is only allowed with count=true"}},
		{name: "limit above maximum", path: "entities?type=Shop&limit=101", status: 403, typ: "TooManyResults", detail: []string{"limit 101 exceeds the maximum of 100"}},
		{name: "offset negative", path: "entities?type=Shop&offset=-3", detail: []string{`offset must be a non-negative integer, not "-3"`}},
		{name: "offset not a number", path: "entities?type=Shop&offset=1.5", detail: []string{`offset must be a non-negative integer, not "1.5"`}},
		{name: "count not boolean", path: "entities?type=Shop&count=yes", detail: []string{`count must be true or false, not "yes"`}},
		{name: "local not boolean", path: "entities?type=Shop&local=1", detail: []string{`local must be true or false`}},

		// ordering (clause 4.23 of v1.9)
		{name: "orderBy bad direction", path: "entities?type=Shop&orderBy=name;up", detail: []string{"orderBy:", `not "up"`, "at offset 5"}},
		{name: "orderBy empty key", path: "entities?type=Shop&orderBy=name,", detail: []string{"orderBy:", "at offset 5"}},
		{name: "orderBy empty", path: "entities?type=Shop&orderBy=", detail: []string{"orderBy:", "empty"}},
		{name: "orderBy junk", path: "entities?type=Shop&orderBy=name desc", detail: []string{"orderBy:", "at offset 5"}},
		{name: "orderBy dist without orderFrom", path: "entities?type=Shop&orderBy=location;dist-asc", detail: []string{"orderFrom", "missing"}},
		{name: "orderBy dist on id", path: "entities?type=Shop&orderBy=id;dist-desc&orderFrom=[1,2]", detail: []string{"needs a GeoProperty"}},
		{name: "orderFrom not JSON", path: "entities?type=Shop&orderBy=location;dist-asc&orderFrom=[1,", detail: []string{"orderFrom: not a JSON array"}},
		{name: "orderGeometry unknown", path: "entities?type=Shop&orderBy=location;dist-asc&orderGeometry=Blob&orderFrom=[1,2]", detail: []string{`orderGeometry: "Blob"`}},
		{name: "collation invalid", path: "entities?type=Shop&orderBy=name&collation=!!nope", detail: []string{"collation:", "BCP 47"}},
		{name: "collation empty", path: "entities?type=Shop&orderBy=name&collation=", detail: []string{"collation: empty"}},

		// linked entities (clause 4.5.23 of v1.8)
		{name: "join unknown", path: "entities?type=Shop&join=deep", detail: []string{`join must be inline, flat or @none, not "deep"`}},
		{name: "joinLevel zero", path: "entities?type=Shop&join=inline&joinLevel=0", detail: []string{"joinLevel must be an integer from 1 to 16"}},
		{name: "joinLevel not a number", path: "entities?type=Shop&join=inline&joinLevel=two", detail: []string{"joinLevel must be an integer"}},
		{name: "joinLevel without join", path: "entities?type=Shop&joinLevel=2", detail: []string{"joinLevel needs join"}},
		{name: "nested pick without join", path: "entities?type=Shop&pick=id,owner{name}", detail: []string{"needs join=inline or join=flat"}},
		{name: "nested omit deeper than joinLevel", path: "entities?type=Shop&join=flat&joinLevel=1&omit=owner{works{name}}", detail: []string{"2 linked entities deep, deeper than joinLevel=1"}},
		{name: "nested pick on retrieve without join", path: "entities/urn:ngsi-ld:Shop:1?pick=owner{name}", detail: []string{"needs join"}},
		{name: "attrs with a linked projection", path: "entities?type=Shop&attrs=owner{name}", detail: []string{"asks for members of linked entities"}},
		{name: "purge attrs with a linked projection", method: "DELETE", path: "entities?type=Shop&attrs=owner{name}", detail: []string{"asks for members of linked entities"}},

		// parameters
		{name: "unknown parameter", path: "entities?type=Shop&colour=red", typ: "InvalidRequest", detail: []string{"colour"}},
		{name: "csf", path: "entities?type=Shop&csf=a==1", status: 422, typ: "OperationNotSupported", detail: []string{"csf"}},
		// A csf that is not syntactically valid is BadRequestData on every
		// query (clauses 5.7.2.4 and 5.7.4.4: "the query, geo-query or context
		// source filter are not syntactically valid"), even though a valid one
		// is OperationNotSupported (ETSI TP 5741_01_05 of v1.9).
		{name: "post csf", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop"}], "csf": "a==1"}`, status: 422, typ: "OperationNotSupported", detail: []string{"csf"}},
		{name: "post csf malformed", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop"}], "csf": "))bad(("}`, detail: []string{"csf: not a valid context source filter"}},
		{name: "post csf not a string", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop"}], "csf": 5}`, detail: []string{"csf must be a string"}},
		{name: "temporal csf", path: "temporal/entities?type=Shop&timerel=after&timeAt=2020-01-01T00:00:00Z&csf=a==1", status: 422, typ: "OperationNotSupported", detail: []string{"csf"}},
		{name: "temporal csf malformed", path: "temporal/entities?type=Shop&timerel=after&timeAt=2020-01-01T00:00:00Z&csf=))bad((", detail: []string{"csf: not a valid context source filter"}},
		{name: "temporal post csf malformed", method: "POST", path: "temporal/entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop"}], "temporalQ": {"timerel": "after", "timeAt": "2020-01-01T00:00:00Z"}, "csf": "))bad(("}`, detail: []string{"csf: not a valid context source filter"}},

		// POST /entityOperations/query (clause 5.2.23, 6.23.3.1)
		{name: "post not a Query", method: "POST", path: "entityOperations/query", body: `{"type": "Subscription"}`, detail: []string{`type "Query"`}},
		{name: "post empty query", method: "POST", path: "entityOperations/query", body: `{"type": "Query"}`, detail: []string{"a query needs entities"}},
		{name: "post entities not array", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": {"type": "Shop"}}`, detail: []string{"entities must be a non-empty array"}},
		{name: "post entities empty", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": []}`, detail: []string{"entities must be a non-empty array"}},
		{name: "post selector not object", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": ["Shop"]}`, detail: []string{"entities[0] must be an object"}},
		{name: "post selector bad type", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop;;"}]}`, detail: []string{"type:", "at offset"}},
		{name: "post selector bad idPattern", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop", "idPattern": "["}]}`, detail: []string{"idPattern"}},
		{name: "post q not string", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "q": 5}`, detail: []string{"q must be a string"}},
		{name: "post q malformed", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "q": "name=="}`, detail: []string{"q:", "at offset 6"}},
		{name: "post scopeQ malformed", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "scopeQ": "Astana"}`, detail: []string{"scopeQ:", "at offset 0"}},
		{name: "post geoQ not object", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "geoQ": "near"}`, detail: []string{"geoQ must be an object"}},
		{name: "post geoQ bad georel", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "geoQ": {"georel": "nearby", "geometry": "Point", "coordinates": [1, 2]}}`, detail: []string{"georel:", "unknown relationship"}},
		{name: "post geoQ open polygon", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "geoQ": {"georel": "within", "geometry": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}}`, detail: []string{"coordinates: invalid Polygon"}},
		{name: "post geoQ without geometry", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "geoQ": {"georel": "within", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}`, detail: []string{"geometry: missing"}},
		{name: "post attrs not array", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "attrs": "name"}`, detail: []string{"attrs must be a non-empty array"}},
		{name: "post attrs bad name", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "attrs": ["na<me"]}`, detail: []string{"attrs holds an invalid attribute name"}},
		{name: "post temporalQ", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop"}], "temporalQ": {"timerel": "before"}}`, detail: []string{"temporalQ belongs to Query Temporal Evolution"}},
		{name: "post attrs empty", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop"}], "attrs": []}`, detail: []string{"attrs must be a non-empty array"}},
		{name: "post selector mixed id array", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop", "id": ["urn:ngsi-ld:Shop:1", 5]}]}`, detail: []string{"entities[0].id[1] must be a URI string"}},
		{name: "post pick not array", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop"}], "pick": 5}`, detail: []string{"pick must be an array"}},
		{name: "post pick twice", method: "POST", path: "entityOperations/query?pick=id", body: `{"type": "Query", "entities": [{"type": "Shop"}], "pick": ["name"]}`, detail: []string{"pick is given both"}},
		{name: "type all with local=false", path: "entities?type=*&local=false", detail: []string{"type=*", "local=false"}},
		{name: "post ordering bad", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop"}], "ordering": {"orderBy": ["name;sideways"]}}`, detail: []string{"orderBy:", "at offset 5"}},
		{name: "post ordering orderBy not strings", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop"}], "ordering": {"orderBy": [1]}}`, detail: []string{"ordering.orderBy[0] must be a string"}},
		{name: "post joinLevel object", method: "POST", path: "entityOperations/query", body: `{"type": "Query", "entities": [{"type": "Shop"}], "join": "inline", "joinLevel": {}}`, detail: []string{"joinLevel must be a string"}},
		{name: "post limit over max", method: "POST", path: "entityOperations/query?limit=1000", body: `{"type": "Query", "entities": [{"type": "Shop"}]}`, status: 403, typ: "TooManyResults", detail: []string{"exceeds the maximum"}},
		{name: "post body not JSON", method: "POST", path: "entityOperations/query", body: `{"type": "Query", `, detail: nil, typ: "InvalidRequest"},

		// purge (DELETE /entities, clause 5.6.21 of v1.9)
		{name: "purge nothing selected", method: "DELETE", path: "entities", detail: []string{"purging entities needs at least one of"}},
		{name: "purge bad q", method: "DELETE", path: "entities?q=name==", detail: []string{"q:", "at offset 6"}},
		{name: "purge bad scopeQ", method: "DELETE", path: "entities?scopeQ=x", detail: []string{"scopeQ:"}},
		{name: "purge bad geo", method: "DELETE", path: "entities?georel=near;maxDistance==-1&geometry=Point&coordinates=[1,2]", detail: []string{"georel:", "positive number"}},
		{name: "purge bad type", method: "DELETE", path: "entities?type=Shop;", detail: []string{"type:"}},
		{name: "purge keep and drop", method: "DELETE", path: "entities?type=Shop&keep=name&drop=location", detail: []string{"keep", "drop"}},
		{name: "purge keep empty", method: "DELETE", path: "entities?type=Shop&keep=", detail: []string{"keep"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = "GET"
			}
			target := srv.URL + "/ngsi-ld/v1/" + escapeQuery(c.path)
			ct := ""
			if c.body != "" {
				ct = "application/json"
			}
			resp, b := do(t, method, target, ct, c.body)
			want := c.status
			if want == 0 {
				want = 400
			}
			if resp.StatusCode != want {
				t.Fatalf("%s %s: status %d, want %d; body %s", method, c.path, resp.StatusCode, want, b)
			}
			if want < 400 {
				return
			}
			var pd struct {
				Type   string `json:"type"`
				Title  string `json:"title"`
				Status int    `json:"status"`
				Detail string `json:"detail"`
			}
			if err := json.Unmarshal(b, &pd); err != nil {
				t.Fatalf("not a ProblemDetails: %v: %s", err, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" && ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			typ := c.typ
			if typ == "" {
				typ = "BadRequestData"
			}
			if pd.Type != "https://uri.etsi.org/ngsi-ld/errors/"+typ || pd.Status != want || pd.Title == "" {
				t.Errorf("problem %+v, want type %s status %d", pd, typ, want)
			}
			for _, d := range c.detail {
				if !strings.Contains(pd.Detail, d) {
					t.Errorf("detail %q does not contain %q", pd.Detail, d)
				}
			}
		})
	}
}

// escapeQuery escapes the query part of p as a client library would, so
// that raw ";", "|", spaces and brackets in the table reach the server as
// they are meant.
func escapeQuery(p string) string {
	path, q, ok := strings.Cut(p, "?")
	if !ok {
		return p
	}
	var parts []string
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		parts = append(parts, k+"="+url.QueryEscape(v))
	}
	return path + "?" + strings.Join(parts, "&")
}
