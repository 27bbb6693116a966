// Package mqtttest is a minimal in-process MQTT broker for Go tests, built
// on the codec of package mqtt: CONNECT with MQTT 3.1.1 and 5.0 (optionally
// with user names and passwords), PUBLISH with QoS 0, 1 and 2, SUBSCRIBE
// with exact, '+' and '#' topic filters, forwarding to subscribers, PINGREQ
// and DISCONNECT, over TCP or TLS on 127.0.0.1. It keeps no sessions and no
// retained messages. It also records every message it accepted, and can
// drop connections to test reconnects.
package mqtttest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/mqtt"
)

// Options configure a Broker.
type Options struct {
	// Users, when non-nil, are the only accepted user name/password pairs.
	Users map[string]string
	TLS   bool // listen with TLS (a fresh self-signed certificate for 127.0.0.1)
	// ReceiveMaximum and MaximumQoS are announced to MQTT 5.0 clients and
	// enforced (0: not announced).
	ReceiveMaximum uint16
	MaximumQoS     *byte
}

// Message is one application message the broker accepted.
type Message struct {
	ClientID string
	Version  mqtt.Version
	Username string
	Publish  mqtt.Publish
}

// Broker is a running test broker.
type Broker struct {
	Addr string         // 127.0.0.1:port
	Pool *x509.CertPool // trusts the TLS certificate (TLS brokers only)

	opts Options
	ln   net.Listener
	wg   sync.WaitGroup

	mu       sync.Mutex
	sessions map[*session]bool
	received []Message
	dropNext int // drop the connection instead of acknowledging the next n QoS>0 publishes
	closed   bool
}

// Start starts a broker on 127.0.0.1 and stops it when the test ends.
func Start(t testing.TB, opts Options) *Broker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &Broker{Addr: ln.Addr().String(), opts: opts, sessions: map[*session]bool{}}
	if opts.TLS {
		cert, pool, err := selfSigned()
		if err != nil {
			t.Fatal(err)
		}
		b.Pool = pool
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	b.ln = ln
	b.wg.Add(1)
	go b.accept()
	t.Cleanup(b.Close)
	return b
}

// URI returns the endpoint URI of topic on this broker, with userinfo
// user[:password] when not empty ("mqtts" for a TLS broker).
func (b *Broker) URI(userinfo, topic string) string {
	scheme := "mqtt"
	if b.opts.TLS {
		scheme = "mqtts"
	}
	if userinfo != "" {
		userinfo += "@"
	}
	return scheme + "://" + userinfo + b.Addr + "/" + topic
}

// Close stops the broker and closes every connection.
func (b *Broker) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	b.ln.Close()
	b.DropConnections()
	b.wg.Wait()
}

// DropConnections closes every client connection, as a broker restart would.
func (b *Broker) DropConnections() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.sessions {
		s.nc.Close()
	}
}

// DropBeforeAck makes the broker accept the next n QoS 1/2 publishes (they
// are recorded and forwarded) and then close the connection instead of
// acknowledging them: the publisher must send them again.
func (b *Broker) DropBeforeAck(n int) {
	b.mu.Lock()
	b.dropNext = n
	b.mu.Unlock()
}

// Received returns the messages accepted so far.
func (b *Broker) Received() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Message(nil), b.received...)
}

// Connections returns the number of open client connections.
func (b *Broker) Connections() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.sessions)
}

func (b *Broker) accept() {
	defer b.wg.Done()
	for {
		nc, err := b.ln.Accept()
		if err != nil {
			return
		}
		s := &session{b: b, nc: nc, bw: bufio.NewWriter(nc), qos2: map[uint16]*mqtt.Publish{}}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			nc.Close()
			return
		}
		b.sessions[s] = true
		b.mu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			s.serve()
			b.mu.Lock()
			delete(b.sessions, s)
			b.mu.Unlock()
			nc.Close()
		}()
	}
}

type session struct {
	b        *Broker
	nc       net.Conn
	v        mqtt.Version
	clientID string
	username string

	wmu    sync.Mutex
	bw     *bufio.Writer
	nextID uint16

	mu   sync.Mutex
	subs []mqtt.Subscription

	qos2     map[uint16]*mqtt.Publish // received QoS 2 messages awaiting PUBREL (reader only)
	inflight int                      // reader only
}

func (s *session) write(p mqtt.Packet) error {
	b, err := mqtt.Encode(p, s.v)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.bw.Write(b); err != nil {
		return err
	}
	return s.bw.Flush()
}

var errAuth = errors.New("bad credentials")

func (s *session) serve() {
	br := bufio.NewReader(s.nc)
	_ = s.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	p, err := mqtt.ReadPacket(br, mqtt.V5, 1<<24)
	if err != nil {
		return
	}
	c, ok := p.(*mqtt.Connect)
	if !ok {
		return
	}
	s.v, s.clientID = c.Version, c.ClientID
	if c.Username != nil {
		s.username = *c.Username
	}
	ack := &mqtt.Connack{}
	if err := s.b.checkAuth(c); err != nil {
		ack.Reason = 4 // bad user name or password (3.1.1)
		if s.v == mqtt.V5 {
			ack.Reason = 0x86
		}
		_ = s.write(ack)
		return
	}
	if s.v == mqtt.V5 {
		if c.ClientID == "" {
			s.clientID = "auto-" + s.nc.RemoteAddr().String()
			ack.Props = append(ack.Props, mqtt.Property{ID: mqtt.PropAssignedClientID, Int: 0, Str: s.clientID})
		}
		if rm := s.b.opts.ReceiveMaximum; rm > 0 {
			ack.Props = append(ack.Props, mqtt.Property{ID: mqtt.PropReceiveMaximum, Int: uint32(rm)})
		}
		if mq := s.b.opts.MaximumQoS; mq != nil {
			ack.Props = append(ack.Props, mqtt.Property{ID: mqtt.PropMaximumQoS, Int: uint32(*mq)})
		}
	}
	if s.write(ack) != nil {
		return
	}
	ka := time.Duration(c.KeepAlive) * time.Second
	for {
		if ka > 0 {
			_ = s.nc.SetReadDeadline(time.Now().Add(ka * 3 / 2))
		} else {
			_ = s.nc.SetReadDeadline(time.Time{})
		}
		p, err := mqtt.ReadPacket(br, s.v, 1<<24)
		if err != nil {
			return
		}
		if !s.handle(p) {
			return
		}
	}
}

func (b *Broker) checkAuth(c *mqtt.Connect) error {
	if b.opts.Users == nil {
		return nil
	}
	if c.Username == nil || c.Password == nil {
		return errAuth
	}
	if pw, ok := b.opts.Users[*c.Username]; !ok || pw != *c.Password {
		return errAuth
	}
	return nil
}

// handle answers one packet; false ends the connection.
func (s *session) handle(p mqtt.Packet) bool {
	switch p := p.(type) {
	case *mqtt.Publish:
		return s.publish(p)
	case *mqtt.Ack:
		switch p.Kind {
		case mqtt.PUBREL:
			if m := s.qos2[p.PacketID]; m != nil {
				delete(s.qos2, p.PacketID)
				s.inflight--
				s.b.accept1(s, m)
			}
			return s.write(&mqtt.Ack{Kind: mqtt.PUBCOMP, PacketID: p.PacketID}) == nil
		case mqtt.PUBREC:
			return s.write(&mqtt.Ack{Kind: mqtt.PUBREL, PacketID: p.PacketID}) == nil
		}
		return true // PUBACK, PUBCOMP of forwarded messages
	case *mqtt.Subscribe:
		reasons := make([]byte, len(p.Subs))
		s.mu.Lock()
		for i, sub := range p.Subs {
			q := sub.Options & 3
			if mq := s.b.opts.MaximumQoS; mq != nil && q > *mq {
				q = *mq
			}
			reasons[i] = q
			s.subs = append(s.subs, mqtt.Subscription{Filter: sub.Filter, Options: q})
		}
		s.mu.Unlock()
		return s.write(&mqtt.Suback{PacketID: p.PacketID, Reasons: reasons}) == nil
	case *mqtt.Pingreq:
		return s.write(&mqtt.Pingresp{}) == nil
	case *mqtt.Disconnect:
		return false
	}
	return false // anything else is a protocol error
}

func (s *session) publish(p *mqtt.Publish) bool {
	if mq := s.b.opts.MaximumQoS; mq != nil && p.QoS > *mq {
		return false
	}
	if p.QoS > 0 {
		if rm := s.b.opts.ReceiveMaximum; rm > 0 && s.inflight >= int(rm) && s.v == mqtt.V5 {
			_ = s.write(&mqtt.Disconnect{Reason: 0x93})
			return false
		}
		s.b.mu.Lock()
		drop := s.b.dropNext > 0
		if drop {
			s.b.dropNext--
		}
		s.b.mu.Unlock()
		if drop {
			s.b.accept1(s, p)
			return false
		}
	}
	switch p.QoS {
	case 0:
		s.b.accept1(s, p)
	case 1:
		s.b.accept1(s, p)
		return s.write(&mqtt.Ack{Kind: mqtt.PUBACK, PacketID: p.PacketID}) == nil
	case 2:
		// Delivered on PUBREL, so that a client that does not finish the
		// handshake delivers nothing.
		if s.qos2[p.PacketID] == nil {
			s.qos2[p.PacketID] = p
			s.inflight++
		}
		return s.write(&mqtt.Ack{Kind: mqtt.PUBREC, PacketID: p.PacketID}) == nil
	}
	return true
}

// accept1 records m and forwards it to every matching subscription.
func (b *Broker) accept1(from *session, m *mqtt.Publish) {
	b.mu.Lock()
	b.received = append(b.received, Message{ClientID: from.clientID, Version: from.v, Username: from.username, Publish: *m})
	var to []*session
	for s := range b.sessions {
		to = append(to, s)
	}
	b.mu.Unlock()
	for _, s := range to {
		s.mu.Lock()
		qos, ok := byte(0), false
		for _, sub := range s.subs {
			if Match(sub.Filter, m.Topic) {
				qos, ok = max(qos, sub.Options&3), true
			}
		}
		s.mu.Unlock()
		if !ok {
			continue
		}
		out := &mqtt.Publish{Topic: m.Topic, QoS: min(qos, m.QoS), Payload: m.Payload}
		if s.v == mqtt.V5 {
			for _, pr := range m.Props {
				if pr.ID != mqtt.PropTopicAlias && pr.ID != mqtt.PropSubscriptionID {
					out.Props = append(out.Props, pr)
				}
			}
		}
		if out.QoS > 0 {
			s.wmu.Lock()
			s.nextID++
			if s.nextID == 0 {
				s.nextID = 1
			}
			out.PacketID = s.nextID
			s.wmu.Unlock()
		}
		_ = s.write(out)
	}
}

// Match reports whether topic name matches topic filter (MQTT 5.0, 4.7):
// '+' matches one level, a trailing '#' the parent and any number of
// levels; wildcards at the first level do not match topics starting '$'.
func Match(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	fl, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, f := range fl {
		if f == "#" {
			return true
		}
		if i >= len(tl) {
			return false
		}
		if f != "+" && f != tl[i] {
			return false
		}
	}
	return len(fl) == len(tl)
}
