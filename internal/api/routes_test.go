package api

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// operations lists the NGSI-LD operations (clause 6 of GS CIM 009 v1.8) that
// Qala serves. The route table must hold exactly these: a route without an
// operation, or an operation without a route, fails.
var operations = []string{
	"POST /ngsi-ld/v1/entities",                                                   // 6.4.3.1 Create Entity
	"GET /ngsi-ld/v1/entities",                                                    // 6.4.3.2 Query Entities
	"GET /ngsi-ld/v1/entities/{entityId}",                                         // 6.5.3.1 Retrieve Entity
	"DELETE /ngsi-ld/v1/entities/{entityId}",                                      // 6.5.3.2 Delete Entity
	"DELETE /ngsi-ld/v1/entities",                                                 // 6.4.3.3 Purge Entities (v1.9)
	"PATCH /ngsi-ld/v1/entities/{entityId}",                                       // 6.5.3.4 Merge Entity
	"PUT /ngsi-ld/v1/entities/{entityId}",                                         // 6.5.3.3 Replace Entity
	"POST /ngsi-ld/v1/entities/{entityId}/attrs",                                  // 6.6.3.1 Append Entity Attributes
	"PATCH /ngsi-ld/v1/entities/{entityId}/attrs",                                 // 6.6.3.2 Update Entity Attributes
	"PATCH /ngsi-ld/v1/entities/{entityId}/attrs/{attrId}",                        // 6.7.3.1 Partial Attribute Update
	"PUT /ngsi-ld/v1/entities/{entityId}/attrs/{attrId}",                          // 6.7.3.3 Replace Attribute
	"DELETE /ngsi-ld/v1/entities/{entityId}/attrs/{attrId}",                       // 6.7.3.2 Delete Entity Attribute
	"POST /ngsi-ld/v1/entityOperations/create",                                    // 6.14 Batch Entity Creation
	"POST /ngsi-ld/v1/entityOperations/upsert",                                    // 6.15 Batch Entity Upsert
	"POST /ngsi-ld/v1/entityOperations/update",                                    // 6.16 Batch Entity Update
	"POST /ngsi-ld/v1/entityOperations/delete",                                    // 6.17 Batch Entity Delete
	"POST /ngsi-ld/v1/entityOperations/merge",                                     // 6.31 Batch Entity Merge
	"POST /ngsi-ld/v1/entityOperations/query",                                     // 6.23 Query Entities via POST
	"POST /ngsi-ld/v1/jsonldContexts",                                             // 6.30.3.1 Add @context
	"GET /ngsi-ld/v1/jsonldContexts",                                              // 6.30.3.2 List @contexts
	"GET /ngsi-ld/v1/jsonldContexts/{contextId}",                                  // 6.31.3.1 Serve @context
	"DELETE /ngsi-ld/v1/jsonldContexts/{contextId}",                               // 6.31.3.2 Delete @context
	"GET /ngsi-ld/v1/info/sourceIdentity",                                         // 6.32 Retrieve Source Identity
	"POST /ngsi-ld/v1/temporal/entities",                                          // 6.18.3.1 Create or Update Temporal Evolution
	"GET /ngsi-ld/v1/temporal/entities",                                           // 6.18.3.2 Query Temporal Evolution of Entities
	"GET /ngsi-ld/v1/temporal/entities/{entityId}",                                // 6.19.3.1 Retrieve Temporal Evolution of an Entity
	"DELETE /ngsi-ld/v1/temporal/entities/{entityId}",                             // 6.19.3.2 Delete Temporal Evolution of an Entity
	"POST /ngsi-ld/v1/temporal/entities/{entityId}/attrs",                         // 6.20.3.1 Add Attributes to Temporal Evolution
	"DELETE /ngsi-ld/v1/temporal/entities/{entityId}/attrs/{attrId}",              // 6.21.3.1 Delete Attribute from Temporal Evolution
	"PATCH /ngsi-ld/v1/temporal/entities/{entityId}/attrs/{attrId}/{instanceId}",  // 6.22.3.1 Modify Attribute Instance
	"DELETE /ngsi-ld/v1/temporal/entities/{entityId}/attrs/{attrId}/{instanceId}", // 6.22.3.2 Delete Attribute Instance
	"POST /ngsi-ld/v1/temporal/entityOperations/query",                            // 6.24.3.1 Query Temporal Evolution via POST
	"POST /ngsi-ld/v1/subscriptions",                                              // 6.10.3.1 Create Subscription
	"GET /ngsi-ld/v1/subscriptions",                                               // 6.10.3.2 Query Subscriptions
	"GET /ngsi-ld/v1/subscriptions/{subscriptionId}",                              // 6.11.3.1 Retrieve Subscription
	"PATCH /ngsi-ld/v1/subscriptions/{subscriptionId}",                            // 6.11.3.2 Update Subscription
	"DELETE /ngsi-ld/v1/subscriptions/{subscriptionId}",                           // 6.11.3.3 Delete Subscription
	"GET /ngsi-ld/v1/types",                                                       // 6.25.3.1 Retrieve Available Entity Types
	"GET /ngsi-ld/v1/types/{type}",                                                // 6.26.3.1 Retrieve Available Entity Type Information
	"GET /ngsi-ld/v1/attributes",                                                  // 6.27.3.1 Retrieve Available Attributes
	"GET /ngsi-ld/v1/attributes/{attrId}",                                         // 6.28.3.1 Retrieve Available Attribute Information
}

func TestRouteTable(t *testing.T) {
	a := &API{}
	var got []string
	seen := map[string]bool{}
	for _, r := range a.routes() {
		k := r.method + " " + r.pattern
		if seen[k] {
			t.Errorf("route %s is registered twice", k)
		}
		seen[k] = true
		got = append(got, k)
		if r.handler == nil {
			t.Errorf("route %s has no handler", k)
		}
	}
	want := append([]string(nil), operations...)
	sort.Strings(got)
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("route table differs from the NGSI-LD operations (-want +got):\n%s", d)
	}
}
