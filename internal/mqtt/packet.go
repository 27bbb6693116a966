// Package mqtt is Qala's own small MQTT client, enough to publish
// notifications (clause 7 of ETSI GS CIM 009, the MQTT notification binding)
// and to subscribe in tests: a codec for the control packets of MQTT 3.1.1
// and 5.0, and a Client with QoS 0/1/2, keep-alive, reconnect and TLS.
//
// Everything a broker sends is untrusted input: Decode and ReadPacket return
// an error for any malformed packet and never panic (see FuzzDecode).
package mqtt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol level of the CONNECT packet.
type Version byte

// The supported protocol versions.
const (
	V311 Version = 4 // MQTT 3.1.1
	V5   Version = 5 // MQTT 5.0
)

func (v Version) String() string {
	switch v {
	case V311:
		return "mqtt3.1.1"
	case V5:
		return "mqtt5.0"
	}
	return fmt.Sprintf("mqtt(level %d)", byte(v))
}

// Control packet types (fixed header, high nibble).
const (
	CONNECT     byte = 1
	CONNACK     byte = 2
	PUBLISH     byte = 3
	PUBACK      byte = 4
	PUBREC      byte = 5
	PUBREL      byte = 6
	PUBCOMP     byte = 7
	SUBSCRIBE   byte = 8
	SUBACK      byte = 9
	PINGREQ     byte = 12
	PINGRESP    byte = 13
	DISCONNECT  byte = 14
	unsubscribe byte = 10
)

// Packet is one decoded control packet: *Connect, *Connack, *Publish, *Ack,
// *Subscribe, *Suback, *Pingreq, *Pingresp or *Disconnect.
type Packet interface{ Type() byte }

// Connect opens a session (3.1).
type Connect struct {
	Version    Version
	CleanStart bool
	KeepAlive  uint16 // seconds
	ClientID   string
	Username   *string
	Password   *string // binary data
	Will       *Will
	Props      Properties
}

// Will is the CONNECT packet's will message.
type Will struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	Props   Properties
}

// Connack answers a Connect (3.2). Reason is the 3.1.1 return code or the
// 5.0 reason code; 0 is success in both.
type Connack struct {
	SessionPresent bool
	Reason         byte
	Props          Properties
}

// Publish carries an application message (3.3).
type Publish struct {
	Topic    string
	QoS      byte
	Dup      bool
	Retain   bool
	PacketID uint16 // QoS 1 and 2 only
	Props    Properties
	Payload  []byte
}

// Ack is PUBACK, PUBREC, PUBREL or PUBCOMP (3.4-3.7); Reason and Props are
// MQTT 5.0 only.
type Ack struct {
	Kind     byte
	PacketID uint16
	Reason   byte
	Props    Properties
}

// Subscription is one topic filter of a Subscribe with its options byte
// (bits 0-1 maximum QoS; MQTT 5.0 adds no-local, retain-as-published and
// retain handling).
type Subscription struct {
	Filter  string
	Options byte
}

// Subscribe asks for messages matching filters (3.8).
type Subscribe struct {
	PacketID uint16
	Props    Properties
	Subs     []Subscription
}

// Suback answers a Subscribe with one reason code per filter (3.9).
type Suback struct {
	PacketID uint16
	Props    Properties
	Reasons  []byte
}

// Pingreq and Pingresp keep the connection alive (3.12, 3.13).
type (
	Pingreq  struct{}
	Pingresp struct{}
)

// Disconnect ends a connection; Reason and Props are MQTT 5.0 only (3.14).
type Disconnect struct {
	Reason byte
	Props  Properties
}

func (*Connect) Type() byte    { return CONNECT }
func (*Connack) Type() byte    { return CONNACK }
func (*Publish) Type() byte    { return PUBLISH }
func (a *Ack) Type() byte      { return a.Kind }
func (*Subscribe) Type() byte  { return SUBSCRIBE }
func (*Suback) Type() byte     { return SUBACK }
func (*Pingreq) Type() byte    { return PINGREQ }
func (*Pingresp) Type() byte   { return PINGRESP }
func (*Disconnect) Type() byte { return DISCONNECT }

// ErrTooLarge is returned for a packet above the reader's size limit.
var ErrTooLarge = errors.New("mqtt: packet exceeds the maximum packet size")

// ReadPacket reads one packet of protocol version v from r. A packet whose
// Remaining Length exceeds max bytes is refused before its body is read.
// A CONNECT packet is decoded with the version it names.
func ReadPacket(r *bufio.Reader, v Version, max int) (Packet, error) {
	h, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	var hdr [4]byte
	n := 0
	for {
		c, err := r.ReadByte()
		if err != nil {
			return nil, noEOF(err)
		}
		hdr[n] = c
		n++
		if c&0x80 == 0 || n == 4 {
			break
		}
	}
	length, _, err := decodeVarint(hdr[:n])
	if err != nil {
		return nil, err
	}
	if int(length) > max {
		return nil, ErrTooLarge
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, noEOF(err)
	}
	return decodeBody(h, body, v)
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Decode decodes exactly one packet from b.
func Decode(b []byte, v Version) (Packet, error) {
	if len(b) < 2 {
		return nil, errShort
	}
	length, n, err := decodeVarint(b[1:])
	if err != nil {
		return nil, err
	}
	if int(length) != len(b)-1-n {
		return nil, fmt.Errorf("mqtt: remaining length %d, have %d bytes", length, len(b)-1-n)
	}
	return decodeBody(b[0], b[1+n:], v)
}

func decodeBody(h byte, body []byte, v Version) (Packet, error) {
	typ, flags := h>>4, h&0x0f
	want := byte(0)
	if typ == PUBREL || typ == SUBSCRIBE || typ == unsubscribe {
		want = 2
	}
	if typ != PUBLISH && flags != want {
		return nil, fmt.Errorf("mqtt: packet type %d with reserved flags %#x", typ, flags)
	}
	if typ == CONNECT {
		if len(body) >= 7 {
			v = Version(body[6])
		}
	}
	if v != V311 && v != V5 {
		return nil, fmt.Errorf("mqtt: unsupported protocol level %d", v)
	}
	r := &reader{b: body}
	var p Packet
	switch typ {
	case CONNECT:
		p = decodeConnect(r)
	case CONNACK:
		p = decodeConnack(r, v)
	case PUBLISH:
		p = decodePublish(r, flags, v)
	case PUBACK, PUBREC, PUBREL, PUBCOMP:
		p = decodeAck(r, typ, v)
	case SUBSCRIBE:
		p = decodeSubscribe(r, v)
	case SUBACK:
		p = decodeSuback(r, v)
	case PINGREQ:
		p = &Pingreq{}
	case PINGRESP:
		p = &Pingresp{}
	case DISCONNECT:
		d := &Disconnect{}
		if v == V5 && len(r.b) > 0 {
			d.Reason = r.byte()
			if len(r.b) > 0 {
				d.Props = r.readProps()
			}
		}
		p = d
	default:
		return nil, fmt.Errorf("mqtt: unsupported packet type %d", typ)
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) > 0 {
		return nil, fmt.Errorf("mqtt: %d stray bytes after packet type %d", len(r.b), typ)
	}
	return p, nil
}

func decodeConnect(r *reader) Packet {
	c := &Connect{}
	if name := r.string(); r.err == nil && name != "MQTT" {
		r.fail(fmt.Errorf("mqtt: protocol name %q", name))
	}
	c.Version = Version(r.byte())
	flags := r.byte()
	c.KeepAlive = r.uint16()
	if r.err != nil {
		return nil
	}
	if flags&0x01 != 0 {
		r.fail(errors.New("mqtt: CONNECT reserved flag set"))
		return nil
	}
	c.CleanStart = flags&0x02 != 0
	willQoS := flags >> 3 & 3
	if flags&0x04 == 0 && (willQoS != 0 || flags&0x20 != 0) || willQoS == 3 {
		r.fail(errors.New("mqtt: CONNECT will flags inconsistent"))
		return nil
	}
	if c.Version == V311 && flags&0x80 == 0 && flags&0x40 != 0 {
		r.fail(errors.New("mqtt: CONNECT password without user name"))
		return nil
	}
	if c.Version == V5 {
		c.Props = r.readProps()
	}
	c.ClientID = r.string()
	if flags&0x04 != 0 {
		w := &Will{QoS: willQoS, Retain: flags&0x20 != 0}
		if c.Version == V5 {
			w.Props = r.readProps()
		}
		w.Topic = r.string()
		if r.err == nil {
			if err := checkTopicName(w.Topic, false); err != nil {
				r.fail(err)
			}
		}
		w.Payload = r.binary()
		c.Will = w
	}
	if flags&0x80 != 0 {
		u := r.string()
		c.Username = &u
	}
	if flags&0x40 != 0 {
		p := string(r.binary())
		c.Password = &p
	}
	return c
}

func decodeConnack(r *reader, v Version) Packet {
	c := &Connack{}
	f := r.byte()
	if f&^1 != 0 {
		r.fail(errors.New("mqtt: CONNACK reserved flags set"))
	}
	c.SessionPresent = f&1 != 0
	c.Reason = r.byte()
	if v == V5 {
		c.Props = r.readProps()
	}
	return c
}

func decodePublish(r *reader, flags byte, v Version) Packet {
	p := &Publish{QoS: flags >> 1 & 3, Dup: flags&8 != 0, Retain: flags&1 != 0}
	if p.QoS == 3 {
		r.fail(errors.New("mqtt: PUBLISH with QoS 3"))
		return nil
	}
	if p.QoS == 0 && p.Dup {
		r.fail(errors.New("mqtt: PUBLISH QoS 0 with DUP set"))
		return nil
	}
	p.Topic = r.string()
	if p.QoS > 0 {
		if p.PacketID = r.uint16(); r.err == nil && p.PacketID == 0 {
			r.fail(errors.New("mqtt: PUBLISH with packet identifier 0"))
		}
	}
	if v == V5 {
		p.Props = r.readProps()
	}
	if r.err != nil {
		return nil
	}
	if err := checkTopicName(p.Topic, v == V5 && hasProp(p.Props, PropTopicAlias)); err != nil {
		r.fail(err)
		return nil
	}
	p.Payload = r.b[:len(r.b):len(r.b)]
	r.b = nil
	return p
}

func hasProp(ps Properties, id byte) bool { _, ok := ps.Get(id); return ok }

func checkTopicName(t string, aliased bool) error {
	if t == "" && !aliased {
		return errors.New("mqtt: empty topic name")
	}
	for i := 0; i < len(t); i++ {
		if t[i] == '+' || t[i] == '#' {
			return fmt.Errorf("mqtt: topic name %q has a wildcard", t)
		}
	}
	return nil
}

func decodeAck(r *reader, kind byte, v Version) Packet {
	a := &Ack{Kind: kind, PacketID: r.uint16()}
	if r.err == nil && a.PacketID == 0 {
		r.fail(errors.New("mqtt: acknowledgement of packet identifier 0"))
	}
	if v == V5 && len(r.b) > 0 {
		a.Reason = r.byte()
		if len(r.b) > 0 {
			a.Props = r.readProps()
		}
	}
	return a
}

func decodeSubscribe(r *reader, v Version) Packet {
	s := &Subscribe{PacketID: r.uint16()}
	if r.err == nil && s.PacketID == 0 {
		r.fail(errors.New("mqtt: SUBSCRIBE with packet identifier 0"))
	}
	if v == V5 {
		s.Props = r.readProps()
	}
	for r.err == nil && len(r.b) > 0 {
		sub := Subscription{Filter: r.string(), Options: r.byte()}
		if r.err == nil {
			if err := checkSubscription(sub, v); err != nil {
				r.fail(err)
			}
		}
		s.Subs = append(s.Subs, sub)
	}
	if r.err == nil && len(s.Subs) == 0 {
		r.fail(errors.New("mqtt: SUBSCRIBE without topic filters"))
	}
	return s
}

func checkSubscription(s Subscription, v Version) error {
	reserved := byte(0xfc)
	if v == V5 {
		reserved = 0xc0
	}
	if s.Options&reserved != 0 || s.Options&3 == 3 || s.Options>>4&3 == 3 {
		return fmt.Errorf("mqtt: subscription options %#x", s.Options)
	}
	return CheckFilter(s.Filter)
}

// CheckFilter reports whether f is a valid topic filter: '#' only as the
// last level, '+' only as a whole level (MQTT 5.0, 4.7.1).
func CheckFilter(f string) error {
	if f == "" {
		return errors.New("mqtt: empty topic filter")
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '#':
			if i != len(f)-1 || (i > 0 && f[i-1] != '/') {
				return fmt.Errorf("mqtt: topic filter %q: misplaced '#'", f)
			}
		case '+':
			if (i > 0 && f[i-1] != '/') || (i < len(f)-1 && f[i+1] != '/') {
				return fmt.Errorf("mqtt: topic filter %q: misplaced '+'", f)
			}
		}
	}
	return nil
}

func decodeSuback(r *reader, v Version) Packet {
	s := &Suback{PacketID: r.uint16()}
	if v == V5 {
		s.Props = r.readProps()
	}
	if r.err == nil && len(r.b) == 0 {
		r.fail(errors.New("mqtt: SUBACK without reason codes"))
	}
	s.Reasons = append([]byte(nil), r.b...)
	r.b = nil
	return s
}
