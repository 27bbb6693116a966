package mqtt

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/qala-city/qala/internal/notify"
)

// Keys of an Endpoint's notifierInfo for the MQTT binding (clause 7.2 of
// ETSI GS CIM 009) and their values.
const (
	InfoVersion = "MQTT-Version" // "mqtt3.1.1" or "mqtt5.0" (default)
	InfoQoS     = "MQTT-QoS"     // "0" (default), "1" or "2"
)

// Endpoint is a parsed MQTT notification endpoint:
// mqtt[s]://[<username>][:<password>]@<host>[:<port>]/<topic>[/<subtopic>]*
// (clause 7.2), with its notifierInfo settings.
type Endpoint struct {
	TLS      bool
	Addr     string // host:port, the port defaulting to 1883 (mqtt) or 8883 (mqtts)
	Topic    string // the URI's path without its leading '/'
	Username *string
	Password *string
	Version  Version
	QoS      byte
}

// ParseEndpoint parses an MQTT endpoint URI and its notifierInfo. The
// subscription API can use it to refuse a bad endpoint with BadRequestData
// before any notification is due. notifierInfo keys other than MQTT-Version
// and MQTT-QoS are ignored.
func ParseEndpoint(uri string, notifierInfo []notify.KeyValue) (*Endpoint, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("invalid MQTT endpoint URI: %w", err)
	}
	e := &Endpoint{Version: V5}
	switch strings.ToLower(u.Scheme) {
	case "mqtt":
	case "mqtts":
		e.TLS = true
	default:
		return nil, fmt.Errorf("MQTT endpoint URI %q: scheme must be mqtt or mqtts", uri)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("MQTT endpoint URI %q has no host", uri)
	}
	if strings.Contains(uri, "#") {
		return nil, fmt.Errorf("MQTT endpoint URI %q: the topic must not contain '+' or '#'", uri)
	}
	if u.RawQuery != "" || u.ForceQuery {
		return nil, fmt.Errorf("MQTT endpoint URI %q: a query or fragment has no meaning", uri)
	}
	port := u.Port()
	if port == "" {
		port = "1883"
		if e.TLS {
			port = "8883"
		}
	}
	e.Addr = net.JoinHostPort(u.Hostname(), port)
	e.Topic = strings.TrimPrefix(u.Path, "/")
	if e.Topic == "" {
		return nil, fmt.Errorf("MQTT endpoint URI %q has no topic (its path)", uri)
	}
	if err := checkTopicName(e.Topic, false); err != nil {
		return nil, fmt.Errorf("MQTT endpoint URI %q: the topic must not contain '+' or '#'", uri)
	}
	if err := checkString(e.Topic); err != nil {
		return nil, fmt.Errorf("MQTT endpoint URI %q: invalid topic: %w", uri, err)
	}
	if u.User != nil {
		name := u.User.Username()
		e.Username = &name
		if pw, ok := u.User.Password(); ok {
			e.Password = &pw
		}
	}
	for _, kv := range notifierInfo {
		switch kv.Key {
		case InfoVersion:
			switch kv.Value {
			case "mqtt3.1.1":
				e.Version = V311
			case "mqtt5.0":
				e.Version = V5
			default:
				return nil, fmt.Errorf("notifierInfo %s must be mqtt3.1.1 or mqtt5.0, not %q", InfoVersion, kv.Value)
			}
		case InfoQoS:
			switch kv.Value {
			case "0", "1", "2":
				e.QoS = kv.Value[0] - '0'
			default:
				return nil, fmt.Errorf("notifierInfo %s must be 0, 1 or 2, not %q", InfoQoS, kv.Value)
			}
		}
	}
	return e, nil
}

// poolKey identifies a connection: broker, TLS, version and credentials.
func (e *Endpoint) poolKey() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%t|%s|%d|", e.TLS, e.Addr, e.Version)
	if e.Username != nil {
		fmt.Fprintf(&b, "u%q", *e.Username)
	}
	if e.Password != nil {
		fmt.Fprintf(&b, "|p%q", *e.Password)
	}
	return b.String()
}

// Message renders the MQTT message of a notification (clause 7.2): a JSON
// object whose "body" is the Notification and whose "metadata" carries what
// HTTP sends as headers: Content-Type, Link (when there is one),
// NGSILD-Tenant (for a non-default tenant) and the receiverInfo pairs. It
// is the payload for both MQTT versions; with MQTT 5.0 the same metadata is
// also sent as user properties, and the content type property names the
// payload's own type (application/json).
func Message(m *notify.Message) (payload []byte, props Properties, err error) {
	if !json.Valid(m.Body) {
		return nil, nil, errors.New("notification body is not JSON")
	}
	type kv struct{ k, v string }
	meta := []kv{{"Content-Type", m.ContentType}}
	if meta[0].v == "" {
		meta[0].v = "application/json"
	}
	if m.Link != "" {
		meta = append(meta, kv{"Link", m.Link})
	}
	if m.Tenant != "" {
		meta = append(meta, kv{"NGSILD-Tenant", m.Tenant})
	}
	seen := map[string]bool{}
	for _, e := range meta {
		seen[strings.ToLower(e.k)] = true
	}
	for _, r := range m.Endpoint.ReceiverInfo {
		if !seen[strings.ToLower(r.Key)] { // receiverInfo does not override the notifier's own metadata
			seen[strings.ToLower(r.Key)] = true
			meta = append(meta, kv{r.Key, r.Value})
		}
	}
	var b strings.Builder
	b.Grow(len(m.Body) + 256)
	b.WriteString(`{"metadata":{`)
	props = Properties{{ID: PropPayloadFormat, Int: 1}, {ID: PropContentType, Str: "application/json"}}
	for i, e := range meta {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		v, _ := json.Marshal(e.v)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
		if checkString(e.k) == nil && checkString(e.v) == nil { // else in the JSON metadata only
			props = append(props, Property{ID: PropUserProperty, Str: e.k, Val: e.v})
		}
	}
	b.WriteString(`},"body":`)
	b.Write(m.Body)
	b.WriteByte('}')
	return []byte(b.String()), props, nil
}

// Notifier is the MQTT transport of notifications: it keeps one
// reconnecting client per broker, version and credentials, and publishes
// each notification to the topic of its endpoint at the QoS notifierInfo
// asks for. It is the notify package's Transport for "mqtt" and "mqtts"
// (notify.Options.Transports); Close may be called more than once.
type Notifier struct {
	// TLS configures mqtts connections (nil: the system roots).
	TLS *tls.Config
	// IdleTimeout closes connections unused for this long (5 min).
	IdleTimeout time.Duration
	// KeepAlive of the connections (30 s).
	KeepAlive time.Duration

	mu        sync.Mutex
	conns     map[string]*pooled
	lastSweep time.Time
	closed    bool
}

type pooled struct {
	c        *Client
	users    int
	lastUsed time.Time
}

// Send publishes m to its endpoint and returns when the QoS handshake has
// completed (status is always 0: MQTT has no status code; a broker's
// refusal is a *ReasonError).
func (n *Notifier) Send(ctx context.Context, m *notify.Message) (status int, err error) {
	e, err := ParseEndpoint(m.Endpoint.URI, m.Endpoint.NotifierInfo)
	if err != nil {
		return 0, n.permanent(err)
	}
	payload, props, err := Message(m)
	if err != nil {
		return 0, n.permanent(err)
	}
	p, err := n.acquire(e)
	if err != nil {
		return 0, err
	}
	defer n.release(p)
	if err := p.c.Publish(ctx, e.Topic, payload, e.QoS, props); err != nil {
		err = fmt.Errorf("MQTT notification to %s (%s, QoS %d): %w", e.Addr, e.Version, e.QoS, err)
		var re *ReasonError
		if errors.As(err, &re) && (re.Code == 0x95 || re.Code == 0x9b) { // too large, QoS not supported
			err = n.permanent(err)
		}
		return 0, err
	}
	return 0, nil
}

// permanent marks errors no retry can fix (a malformed endpoint or body, a
// message the broker can never take): the Dispatcher dead-letters them at
// once.
func (n *Notifier) permanent(err error) error { return notify.Permanent(err) }

var _ notify.Transport = (*Notifier)(nil)

func (n *Notifier) acquire(e *Endpoint) (*pooled, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if n.conns == nil {
		n.conns = map[string]*pooled{}
	}
	now := time.Now()
	idle := n.IdleTimeout
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	if now.Sub(n.lastSweep) > idle/4 {
		n.lastSweep = now
		for k, p := range n.conns {
			if p.users == 0 && now.Sub(p.lastUsed) > idle {
				p.c.Close()
				delete(n.conns, k)
			}
		}
	}
	key := e.poolKey()
	p := n.conns[key]
	if p == nil {
		opts := Options{Addr: e.Addr, Version: e.Version, Username: e.Username, Password: e.Password, KeepAlive: n.KeepAlive}
		if e.TLS {
			opts.TLS = n.TLS
			if opts.TLS == nil {
				opts.TLS = &tls.Config{}
			}
		}
		p = &pooled{c: New(opts)}
		n.conns[key] = p
	}
	p.users++
	p.lastUsed = now
	return p, nil
}

func (n *Notifier) release(p *pooled) {
	n.mu.Lock()
	p.users--
	p.lastUsed = time.Now()
	n.mu.Unlock()
}

// Connections returns the number of pooled clients.
func (n *Notifier) Connections() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.conns)
}

// Close disconnects every pooled client.
func (n *Notifier) Close() error {
	n.mu.Lock()
	n.closed = true
	conns := n.conns
	n.conns = nil
	n.mu.Unlock()
	for _, p := range conns {
		p.c.Close()
	}
	return nil
}
