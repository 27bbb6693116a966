// Package notify delivers notifications: it owns the durable outbox, the
// per-endpoint queues, the HTTP(S) and MQTT transports, retries with backoff,
// dead letters and their admin API, and the delivery metrics.
//
// Package subscription decides what to send (matching change events against
// subscriptions and rendering the Notification payload, clause 5.3.1 of
// ETSI GS CIM 009) and hands each notification to a Sink as a Message. The
// Sink's contract below is what lets the subscription pipeline advance its
// change-log cursor without ever losing a notification.
package notify

import (
	"context"
	"time"
)

// KeyValue is one entry of an Endpoint's receiverInfo or notifierInfo
// (KeyValuePair, clause 5.2.22).
type KeyValue struct {
	Key   string
	Value string
}

// Endpoint is where a notification goes (Endpoint, clause 5.2.15).
type Endpoint struct {
	URI    string // http, https, mqtt or mqtts
	Accept string // application/json (default), application/ld+json or application/geo+json
	// ReceiverInfo becomes HTTP headers, or MQTT 5 user properties / the
	// metadata of an MQTT 3.1.1 message (clause 7.3.2 of the binding).
	ReceiverInfo []KeyValue
	// NotifierInfo configures the notifier, e.g. MQTT-Version (mqtt3.1.1,
	// mqtt5.0) and MQTT-QoS (0, 1, 2).
	NotifierInfo []KeyValue
	Timeout      time.Duration // per attempt; 0 means the dispatcher's default
	Cooldown     time.Duration // after a failure, no attempt to this endpoint before it elapses; 0: default backoff
}

// Message is one notification, rendered and ready to send.
type Message struct {
	ID           string // the Notification's id: receivers deduplicate on it
	Tenant       string // sent as NGSILD-Tenant when not the default tenant
	Subscription string // the subscription's id
	Endpoint     Endpoint
	ContentType  string // of Body
	Link         string // the Link header's value ("" for none)
	Body         []byte // the Notification payload
	// Seq is the change-log sequence number of the event that caused the
	// notification; 0 for notifications not caused by one (timeInterval).
	Seq     uint64
	Created time.Time
}

// Attempt reports one try at delivering a message, for the subscription's
// status (timesSent, timesFailed, lastNotification, lastSuccess,
// lastFailure: clause 5.2.12) and metrics.
type Attempt struct {
	Msg     *Message
	OK      bool
	Err     error // why it failed (nil when OK)
	Status  int   // HTTP status, when there was a response
	At      time.Time
	Latency time.Duration // from Msg.Created to the end of this attempt
	// Final is set on the last attempt of a message: it was delivered, or it
	// exhausted its retries and was moved to the dead letters.
	Final bool
}

// Sink takes notifications for delivery.
type Sink interface {
	// Enqueue takes msgs. It returns nil once every message is either
	// delivered or durable in the outbox, so that the caller may persist a
	// change-log cursor past their Seq: after a crash, whatever was not
	// delivered is sent again (at-least-once; the id lets receivers drop
	// duplicates). It never waits on a slow or dead endpoint for longer than
	// a short bound (about a second per call, not per message): messages
	// that endpoint does not take in time go to the outbox instead, and
	// other endpoints' messages are not held up behind them. It fails only
	// when msgs could not be made durable (closed sink, I/O error, ctx).
	// The Sink may keep msgs: the caller must not modify them afterwards.
	Enqueue(ctx context.Context, msgs []*Message) error
}
