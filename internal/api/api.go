// Package api is Qala's NGSI-LD HTTP API: one route table (routes.go), handlers
// per resource that return (response, error), and one place (handler.go) where
// errors become ProblemDetails.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/store"
	"github.com/qala-city/qala/internal/subscription"
	"github.com/qala-city/qala/internal/temporal"
)

// Config holds the limits and options of the API.
type Config struct {
	MaxBody      int64         // bytes of a request body (default 8 MiB)
	MaxBatch     int           // entities of one batch operation (default 10,000)
	DefaultLimit int           // page size when limit is not given (default 20)
	MaxLimit     int           // largest limit accepted (default 1,000)
	QueryTimeout time.Duration // longest a query may run before TooComplexQuery (default 10 s)
	// QueryMemory bounds the entities one query may hold, in their stored
	// (encoded) size, before TooComplexQuery (store.Query.MaxBytes); 0 is
	// no bound.
	QueryMemory int
	CORSOrigins []string // allowed origins; empty disables CORS, "*" allows any
	SourceName  string   // name of this broker in /info/sourceIdentity
	Version     string

	// History serves the temporal API (clauses 5.6.11–5.6.16, 5.7.3, 5.7.4);
	// nil answers it with OperationNotSupported.
	History *temporal.Store
	// HistorySync, when set, waits until the history holds every write
	// acknowledged so far (bounded by its context), so that a client reads
	// its own writes in the temporal API.
	HistorySync func(context.Context) error
	// Subscriptions serves the subscription API (clause 5.8); nil answers
	// it with OperationNotSupported.
	Subscriptions *subscription.Registry
	// TemporalLimit is the most instances of one attribute a temporal
	// response holds before it is paginated (206, clause 6.3.10; default
	// 1,000).
	TemporalLimit int
}

// API serves the NGSI-LD API over a store.
type API struct {
	cfg      Config
	store    store.Store
	resolver *jsonld.Resolver
	log      *slog.Logger
	router   *router
	metrics  *metrics
	identity sourceIdentity
}

// New returns the API handler. reg may be nil.
func New(cfg Config, st store.Store, res *jsonld.Resolver, log *slog.Logger, reg prometheus.Registerer) *API {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 8 << 20
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 10000
	}
	if cfg.DefaultLimit <= 0 {
		cfg.DefaultLimit = 20
	}
	if cfg.MaxLimit <= 0 {
		cfg.MaxLimit = 1000
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 10 * time.Second
	}
	if cfg.TemporalLimit <= 0 {
		cfg.TemporalLimit = 1000
	}
	if cfg.SourceName == "" {
		cfg.SourceName = "qala"
	}
	if log == nil {
		log = slog.Default()
	}
	a := &API{cfg: cfg, store: st, resolver: res, log: log, metrics: newMetrics(reg)}
	a.identity = newSourceIdentity(cfg)
	a.router = newRouter(a.routes())
	return a
}

// cors answers CORS preflight requests and sets the CORS headers of allowed
// origins. It reports whether the request was fully answered.
func (a *API) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(a.cfg.CORSOrigins) == 0 {
		return false
	}
	allowed := false
	for _, o := range a.cfg.CORSOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			allowed = true
			break
		}
	}
	if !allowed {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "Location, Link, NGSILD-Results-Count, NGSILD-Tenant, Content-Type")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type, Accept, Link, NGSILD-Tenant, Authorization")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}
