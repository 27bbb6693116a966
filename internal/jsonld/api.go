// Package jsonld resolves NGSI-LD @contexts into immutable term maps, offline for
// the embedded core and Smart Data Models contexts, and expands and compacts
// terms by map lookup. It also keeps the hosted contexts of the
// /ngsi-ld/v1/jsonldContexts API (clause 5.13).
//
// A context (list) is processed once, with the JSON-LD 1.1 context processing
// rules, into a Context; Resolve caches Contexts by URL or by a hash of the
// canonical JSON of an inline context. The default core context is applied
// last, as NGSI-LD requires, with the JSON-LD 1.1 rules: it overrides earlier
// (unprotected) definitions of its terms, for instance the "description" of
// the FIWARE tutorial contexts, while a user context that redefines a core
// term after the core (e.g. ["<core URL>", {"location": "..."}]) breaks the
// core's @protected and is BadRequestData. A broker has one core: a core
// context URL of any version inside a user context stands for the default
// core.
//
// The exported API in this file and in resolver.go is the contract other
// packages build against.
package jsonld

import "time"

// Core context URLs.
const (
	CoreV13         = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.3.jsonld"
	CoreV16         = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld"
	CoreV17         = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld"
	CoreV18         = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
	CoreV19         = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"
	CoreVersionless = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
)

// ContextRel is the Link relation of a JSON-LD context (JSON-LD 1.1, 6.1).
const ContextRel = "http://www.w3.org/ns/json-ld#context"

// HostedPath is the path under which hosted contexts are served; a hosted
// context's URL is Config.BaseURL + HostedPath + localId.
const HostedPath = "/ngsi-ld/v1/jsonldContexts/"

// Kinds of contexts held by a Resolver (clause 5.13).
const (
	KindHosted            = "Hosted"
	KindCached            = "Cached"
	KindImplicitlyCreated = "ImplicitlyCreated"
)

// Config configures a Resolver.
type Config struct {
	DefaultCore    string        // core context URL applied by default (CoreV18 when empty)
	FetchTimeout   time.Duration // per remote fetch (default 5 s)
	MaxContextSize int64         // bytes of one remote context (default 1 MiB)
	AllowPrivate   bool          // allow fetching loopback and private addresses
	CacheSize      int           // remote contexts kept (default 1000); also bounds resolved and implicit contexts
	Dir            string        // where hosted contexts persist; "" keeps them in memory
	// BaseURL is prefixed to hosted context URLs, e.g. "http://127.0.0.1:1026".
	BaseURL string
}

// ContextInfo describes a context held by the Resolver (clause 5.13, the
// jsonldContexts API with details=true).
type ContextInfo struct {
	URL          string    `json:"URL"`
	LocalID      string    `json:"localId"`
	Kind         string    `json:"kind"` // "Hosted", "Cached", "ImplicitlyCreated"
	CreatedAt    time.Time `json:"createdAt"`
	LastUsage    time.Time `json:"lastUsage,omitzero"`
	NumberOfHits int       `json:"numberOfHits"`
	ExtraInfo    any       `json:"extraInfo,omitempty"`
}
