// Package subscription holds NGSI-LD subscriptions (clause 5.2.12 and 5.8 of
// ETSI GS CIM 009): their parsing and validation, their persistence (a pebble
// database, per tenant), their status, the index that finds the
// subscriptions a change event may concern, the matching of change events
// (store.Event) against them, the rendering of the Notification payload
// (clause 5.3.1), and the pipeline that hands notifications to a notify.Sink
// as a durable consumer of the store's change log.
//
// Everything is held in expanded form, like entities: attribute names and
// entity types are IRIs; they are compacted with a context only when a
// subscription or a notification is rendered.
package subscription

import (
	"regexp"
	"time"

	"github.com/qala-city/qala/internal/jsonld"

	"github.com/qala-city/qala/internal/notify"
	"github.com/qala-city/qala/internal/query"
)

// The notification triggers (clause 5.2.12, notificationTrigger).
const (
	TrigEntityCreated    = "entityCreated"
	TrigEntityUpdated    = "entityUpdated"
	TrigEntityDeleted    = "entityDeleted"
	TrigAttributeCreated = "attributeCreated"
	TrigAttributeUpdated = "attributeUpdated"
	TrigAttributeDeleted = "attributeDeleted"
)

// defaultTriggers apply when a subscription names none (clause 5.2.12).
var defaultTriggers = []string{TrigAttributeCreated, TrigAttributeUpdated}

var allTriggers = []string{TrigEntityCreated, TrigEntityUpdated, TrigEntityDeleted,
	TrigAttributeCreated, TrigAttributeUpdated, TrigAttributeDeleted}

// Subscription statuses (clause 5.2.12, status) and notification statuses
// (clause 5.2.14, status).
const (
	StatusActive  = "active"
	StatusPaused  = "paused"
	StatusExpired = "expired"
	StatusFailed  = "failed"

	NotifOK     = "ok"
	NotifFailed = "failed"
)

// EntitySel is one EntitySelector (clause 5.2.33): id, idPattern and a type
// selection, as written (the type is expanded with the subscription's
// context when compiled).
type EntitySel struct {
	ID        string `json:"id,omitempty"`
	IDPattern string `json:"idPattern,omitempty"`
	Type      string `json:"type,omitempty"`
}

// GeoQ is a subscription's geoQ (clause 5.2.13), as written.
type GeoQ struct {
	Geometry    string `json:"geometry"`
	Coordinates any    `json:"coordinates"` // a JSON array or its string form
	GeoRel      string `json:"georel"`
	GeoProperty string `json:"geoproperty,omitempty"`
}

// KeyValue is a KeyValuePair (clause 5.2.22).
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Endpoint is a notification endpoint (clause 5.2.15).
type Endpoint struct {
	URI          string     `json:"uri"`
	Accept       string     `json:"accept,omitempty"`
	Timeout      float64    `json:"timeout,omitempty"`  // milliseconds
	Cooldown     float64    `json:"cooldown,omitempty"` // milliseconds
	ReceiverInfo []KeyValue `json:"receiverInfo,omitempty"`
	NotifierInfo []KeyValue `json:"notifierInfo,omitempty"`
}

// Notification is NotificationParams (clause 5.2.14) without its status
// members, which live in Status.
type Notification struct {
	Attributes  []string `json:"attributes,omitempty"` // expanded
	Format      string   `json:"format,omitempty"`     // normalized (default), concise, keyValues
	SysAttrs    bool     `json:"sysAttrs,omitempty"`
	ShowChanges bool     `json:"showChanges,omitempty"`
	Pick        []string `json:"pick,omitempty"` // id, type, scope or expanded attribute names
	Omit        []string `json:"omit,omitempty"`
	Join        string   `json:"join,omitempty"` // flat, inline or @none
	JoinLevel   int      `json:"joinLevel,omitempty"`
	Endpoint    Endpoint `json:"endpoint"`
}

// Subscription is the stored part of a subscription: what the client set.
type Subscription struct {
	ID          string      `json:"id"`
	Tenant      string      `json:"tenant,omitempty"`
	Name        string      `json:"subscriptionName,omitempty"`
	Description string      `json:"description,omitempty"`
	Entities    []EntitySel `json:"entities,omitempty"`
	Watched     []string    `json:"watchedAttributes,omitempty"` // expanded
	Triggers    []string    `json:"notificationTrigger,omitempty"`
	Q           string      `json:"q,omitempty"`
	GeoQ        *GeoQ       `json:"geoQ,omitempty"`
	ScopeQ      string      `json:"scopeQ,omitempty"`
	CSF         string      `json:"csf,omitempty"`
	Lang        string      `json:"lang,omitempty"`
	DatasetIDs  []string    `json:"datasetId,omitempty"`
	// Active is isActive; nil means the default (true).
	Active       *bool        `json:"isActive,omitempty"`
	ExpiresAt    time.Time    `json:"expiresAt,omitzero"`
	Throttling   float64      `json:"throttling,omitempty"`   // seconds
	TimeInterval float64      `json:"timeInterval,omitempty"` // seconds
	JSONLDCtx    string       `json:"jsonldContext,omitempty"`
	Notification Notification `json:"notification"`
	// Context is the @context the subscription was written with (a URL, an
	// array or an object, as jsonld.Resolver.Resolve takes it); q, the
	// entity types and geoQ.geoproperty are read with it.
	Context    any       `json:"@context,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	ModifiedAt time.Time `json:"modifiedAt"`
}

// IsActive reports the isActive member (default true).
func (s *Subscription) IsActive() bool { return s.Active == nil || *s.Active }

// Status is the part of a subscription the broker maintains (clause
// 5.2.12 and 5.2.14): counters and timestamps of notifications.
type Status struct {
	TimesSent        int64     `json:"timesSent,omitempty"`
	TimesFailed      int64     `json:"timesFailed,omitempty"`
	LastNotification time.Time `json:"lastNotification,omitzero"`
	LastSuccess      time.Time `json:"lastSuccess,omitzero"`
	LastFailure      time.Time `json:"lastFailure,omitzero"`
	// Failed is set when the last delivery failed (notification.status).
	Failed bool `json:"failed,omitempty"`
}

// compiled is a subscription made ready for matching.
type compiled struct {
	Subscription
	sels    []selector
	q       query.Expr
	scope   *query.ScopeNode
	geo     *query.GeoQuery
	trig    uint8 // bit set of triggers
	watched map[string]bool
	ctx     *jsonld.Context // the subscription's context (Context)
	nctx    *jsonld.Context // notifications are compacted with it: jsonldContext, else ctx
	index   indexKey        // where the subscription sits in its tenant's index
	sig     string          // renderSig
	env     *envParts       // of its notifications

	// guarded by the Registry's mutex
	status   Status
	dirty    bool
	lastSent time.Time // throttling: the event time of the last notification
	nextDue  time.Time // timeInterval: when the next periodic notification is due
	mark     uint64    // the stamp of the last candidates call that offered it
}

type selector struct {
	id      string
	pattern *regexp.Regexp
	types   *query.TypeExpr
}

// endpoint returns the notify.Endpoint of the subscription.
func (s *Subscription) endpoint() notify.Endpoint {
	e := s.Notification.Endpoint
	out := notify.Endpoint{URI: e.URI, Accept: e.Accept,
		Timeout:  time.Duration(e.Timeout * float64(time.Millisecond)),
		Cooldown: time.Duration(e.Cooldown * float64(time.Millisecond))}
	if out.Accept == "" {
		out.Accept = "application/json"
	}
	for _, kv := range e.ReceiverInfo {
		out.ReceiverInfo = append(out.ReceiverInfo, notify.KeyValue{Key: kv.Key, Value: kv.Value})
	}
	for _, kv := range e.NotifierInfo {
		out.NotifierInfo = append(out.NotifierInfo, notify.KeyValue{Key: kv.Key, Value: kv.Value})
	}
	return out
}

func trigBit(t string) uint8 {
	for i, x := range allTriggers {
		if x == t {
			return 1 << i
		}
	}
	return 0
}
