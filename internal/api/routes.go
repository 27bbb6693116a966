package api

// Query parameters of the temporal retrieval operations (clause 6.18.3.2,
// 6.19.3.1).
var temporalParams = []string{"timerel", "timeAt", "endTimeAt", "timeproperty", "lastN", "aggrMethods", "aggrPeriodDuration",
	"attrs", "pick", "omit", "options", "format", "lang", "datasetId", "local"}

// Query parameters shared by the operations that render entities.
var renderParams = []string{"attrs", "pick", "omit", "options", "format", "lang", "datasetId", "geometryProperty", "local", "join", "joinLevel", "containedBy"}

// routes is the one route table of the NGSI-LD API. Every operation Qala
// serves is here; TestRouteTable checks it against the list of NGSI-LD
// operations the product implements.
func (a *API) routes() []*route {
	const v1 = "/ngsi-ld/v1"
	return []*route{
		// Entities (clauses 5.6, 5.7; 6.4, 6.5)
		{method: "POST", pattern: v1 + "/entities", params: []string{"local"}, handler: a.createEntity},
		{method: "GET", pattern: v1 + "/entities", params: append([]string{"id", "idPattern", "type", "q", "scopeQ", "georel", "geometry", "coordinates", "geoproperty", "expandValues", "csf", "count", "limit", "offset", "orderBy", "collation", "orderGeometry", "orderFrom"}, renderParams...), handler: a.queryEntities},
		{method: "GET", pattern: v1 + "/entities/{entityId}", params: append([]string{"type"}, renderParams...), handler: a.retrieveEntity},
		{method: "DELETE", pattern: v1 + "/entities", params: []string{"id", "idPattern", "type", "attrs", "q", "scopeQ", "georel", "geometry", "coordinates", "geoproperty", "expandValues", "keep", "drop", "local"}, handler: a.purgeEntities},
		{method: "DELETE", pattern: v1 + "/entities/{entityId}", params: []string{"type", "local"}, handler: a.deleteEntity},
		{method: "PATCH", pattern: v1 + "/entities/{entityId}", params: []string{"options", "format", "local", "observedAt", "lang"}, handler: a.mergeEntity},
		{method: "PUT", pattern: v1 + "/entities/{entityId}", params: []string{"options", "format", "local", "lang"}, handler: a.replaceEntity},
		// Attributes (clause 5.6.2–5.6.5, 6.6, 6.7)
		{method: "POST", pattern: v1 + "/entities/{entityId}/attrs", params: []string{"options", "format", "local"}, handler: a.appendAttrs},
		{method: "PATCH", pattern: v1 + "/entities/{entityId}/attrs", params: []string{"options", "format", "local"}, handler: a.updateAttrs},
		{method: "PATCH", pattern: v1 + "/entities/{entityId}/attrs/{attrId}", params: []string{"local", "lang"}, handler: a.partialAttrUpdate},
		{method: "PUT", pattern: v1 + "/entities/{entityId}/attrs/{attrId}", params: []string{"local", "lang"}, handler: a.replaceAttr},
		{method: "DELETE", pattern: v1 + "/entities/{entityId}/attrs/{attrId}", params: []string{"datasetId", "deleteAll", "local", "lang"}, handler: a.deleteAttr},
		// Batch operations (clause 5.6.7–5.6.10, 5.6.18; 6.14–6.18)
		{method: "POST", pattern: v1 + "/entityOperations/create", params: []string{"local"}, handler: a.batchCreate},
		{method: "POST", pattern: v1 + "/entityOperations/upsert", params: []string{"options", "local"}, handler: a.batchUpsert},
		{method: "POST", pattern: v1 + "/entityOperations/update", params: []string{"options", "local"}, handler: a.batchUpdate},
		{method: "POST", pattern: v1 + "/entityOperations/delete", params: []string{"local"}, handler: a.batchDelete},
		{method: "POST", pattern: v1 + "/entityOperations/query", params: []string{"expandValues", "count", "limit", "offset", "options", "format", "local", "geometryProperty", "join", "joinLevel", "containedBy", "pick", "omit", "lang"}, handler: a.queryPost},
		{method: "POST", pattern: v1 + "/entityOperations/merge", params: []string{"options", "local"}, handler: a.batchMerge},
		// Temporal evolution of entities (clauses 5.6.11–5.6.16, 5.7.3, 5.7.4; 6.18–6.22, 6.24)
		{method: "POST", pattern: v1 + "/temporal/entities", params: []string{"local"}, handler: a.upsertTemporal},
		{method: "GET", pattern: v1 + "/temporal/entities", params: append([]string{"id", "idPattern", "type", "q", "scopeQ", "georel", "geometry", "coordinates", "geoproperty", "expandValues", "csf", "count", "limit", "offset", "orderBy"}, temporalParams...), handler: a.queryTemporal},
		{method: "GET", pattern: v1 + "/temporal/entities/{entityId}", params: temporalParams, handler: a.retrieveTemporal},
		{method: "DELETE", pattern: v1 + "/temporal/entities/{entityId}", params: []string{"local"}, handler: a.deleteTemporal},
		{method: "POST", pattern: v1 + "/temporal/entities/{entityId}/attrs", params: []string{"local"}, handler: a.appendTemporalAttrs},
		{method: "DELETE", pattern: v1 + "/temporal/entities/{entityId}/attrs/{attrId}", params: []string{"datasetId", "deleteAll", "local"}, handler: a.deleteTemporalAttr},
		{method: "PATCH", pattern: v1 + "/temporal/entities/{entityId}/attrs/{attrId}/{instanceId}", params: []string{"local"}, handler: a.patchTemporalInstance},
		{method: "DELETE", pattern: v1 + "/temporal/entities/{entityId}/attrs/{attrId}/{instanceId}", params: []string{"local"}, handler: a.deleteTemporalInstance},
		{method: "POST", pattern: v1 + "/temporal/entityOperations/query", params: []string{"expandValues", "count", "limit", "offset", "options", "format", "local", "pick", "omit", "lang", "datasetId", "lastN", "aggrMethods", "aggrPeriodDuration"}, handler: a.queryTemporalPost},
		// Discovery (clauses 5.7.5–5.7.10; 6.25–6.28)
		{method: "GET", pattern: v1 + "/types", params: []string{"details", "local"}, handler: a.retrieveTypes},
		{method: "GET", pattern: v1 + "/types/{type}", params: []string{"local"}, handler: a.retrieveType},
		{method: "GET", pattern: v1 + "/attributes", params: []string{"details", "local"}, handler: a.retrieveAttributes},
		{method: "GET", pattern: v1 + "/attributes/{attrId}", params: []string{"local"}, handler: a.retrieveAttribute},
		// Subscriptions (clause 5.8; 6.10, 6.11)
		{method: "POST", pattern: v1 + "/subscriptions", handler: a.createSubscription},
		{method: "GET", pattern: v1 + "/subscriptions", params: []string{"limit", "offset", "count", "options"}, handler: a.querySubscriptions},
		{method: "GET", pattern: v1 + "/subscriptions/{subscriptionId}", params: []string{"options"}, handler: a.retrieveSubscription},
		{method: "PATCH", pattern: v1 + "/subscriptions/{subscriptionId}", handler: a.updateSubscription},
		{method: "DELETE", pattern: v1 + "/subscriptions/{subscriptionId}", handler: a.deleteSubscription},
		// @context management (clause 5.13; 6.30, 6.31)
		{method: "POST", pattern: v1 + "/jsonldContexts", handler: a.addContext},
		{method: "GET", pattern: v1 + "/jsonldContexts", params: []string{"details", "kind"}, handler: a.listContexts},
		{method: "GET", pattern: v1 + "/jsonldContexts/{contextId}", params: []string{"details"}, handler: a.getContext},
		{method: "DELETE", pattern: v1 + "/jsonldContexts/{contextId}", params: []string{"reload"}, handler: a.deleteContext},
		// Source identity (clause 5.15 of v1.8; 6.32)
		{method: "GET", pattern: v1 + "/info/sourceIdentity", handler: a.sourceIdentity},
	}
}
