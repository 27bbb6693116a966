package mqtt

import (
	"errors"
	"fmt"
)

// MQTT 5.0 property identifiers (MQTT 5.0, clause 2.2.2.2).
const (
	PropPayloadFormat        byte = 0x01
	PropMessageExpiry        byte = 0x02
	PropContentType          byte = 0x03
	PropResponseTopic        byte = 0x08
	PropCorrelationData      byte = 0x09
	PropSubscriptionID       byte = 0x0B
	PropSessionExpiry        byte = 0x11
	PropAssignedClientID     byte = 0x12
	PropServerKeepAlive      byte = 0x13
	PropAuthMethod           byte = 0x15
	PropAuthData             byte = 0x16
	PropRequestProblemInfo   byte = 0x17
	PropWillDelay            byte = 0x18
	PropRequestResponseInfo  byte = 0x19
	PropResponseInfo         byte = 0x1A
	PropServerReference      byte = 0x1C
	PropReasonString         byte = 0x1F
	PropReceiveMaximum       byte = 0x21
	PropTopicAliasMaximum    byte = 0x22
	PropTopicAlias           byte = 0x23
	PropMaximumQoS           byte = 0x24
	PropRetainAvailable      byte = 0x25
	PropUserProperty         byte = 0x26
	PropMaximumPacketSize    byte = 0x27
	PropWildcardSubAvailable byte = 0x28
	PropSubIDAvailable       byte = 0x29
	PropSharedSubAvailable   byte = 0x2A
)

// The wire types of property values.
const (
	ptByte = iota + 1
	ptTwo
	ptFour
	ptVarint
	ptString
	ptBinary
	ptPair
)

var propTypes = map[byte]int{
	PropPayloadFormat: ptByte, PropMessageExpiry: ptFour, PropContentType: ptString,
	PropResponseTopic: ptString, PropCorrelationData: ptBinary, PropSubscriptionID: ptVarint,
	PropSessionExpiry: ptFour, PropAssignedClientID: ptString, PropServerKeepAlive: ptTwo,
	PropAuthMethod: ptString, PropAuthData: ptBinary, PropRequestProblemInfo: ptByte,
	PropWillDelay: ptFour, PropRequestResponseInfo: ptByte, PropResponseInfo: ptString,
	PropServerReference: ptString, PropReasonString: ptString, PropReceiveMaximum: ptTwo,
	PropTopicAliasMaximum: ptTwo, PropTopicAlias: ptTwo, PropMaximumQoS: ptByte,
	PropRetainAvailable: ptByte, PropUserProperty: ptPair, PropMaximumPacketSize: ptFour,
	PropWildcardSubAvailable: ptByte, PropSubIDAvailable: ptByte, PropSharedSubAvailable: ptByte,
}

// Property is one MQTT 5.0 property. Int holds byte, two-byte, four-byte and
// variable byte integer values; Str holds strings, binary data and the name
// of a user property; Val holds a user property's value.
type Property struct {
	ID  byte
	Int uint32
	Str string
	Val string
}

// Properties is an ordered list of properties, as on the wire. Only user
// properties and subscription identifiers may repeat (MQTT 5.0, 2.2.2.2).
type Properties []Property

// UserProperty is one name/value pair of user properties.
type UserProperty struct{ Key, Value string }

// Get returns the first property with id.
func (ps Properties) Get(id byte) (Property, bool) {
	for _, p := range ps {
		if p.ID == id {
			return p, true
		}
	}
	return Property{}, false
}

// Int returns the integer value of property id, or def when absent.
func (ps Properties) Int(id byte, def uint32) uint32 {
	if p, ok := ps.Get(id); ok {
		return p.Int
	}
	return def
}

// String returns the string value of property id ("" when absent).
func (ps Properties) String(id byte) string {
	p, _ := ps.Get(id)
	return p.Str
}

// User returns the user properties in order.
func (ps Properties) User() []UserProperty {
	var out []UserProperty
	for _, p := range ps {
		if p.ID == PropUserProperty {
			out = append(out, UserProperty{p.Str, p.Val})
		}
	}
	return out
}

func appendProps(b []byte, ps Properties) ([]byte, error) {
	var body []byte
	seen := map[byte]bool{}
	for _, p := range ps {
		t, ok := propTypes[p.ID]
		if !ok {
			return nil, fmt.Errorf("mqtt: unknown property 0x%02x", p.ID)
		}
		if seen[p.ID] && p.ID != PropUserProperty && p.ID != PropSubscriptionID {
			return nil, fmt.Errorf("mqtt: property 0x%02x repeated", p.ID)
		}
		seen[p.ID] = true
		body = append(body, p.ID)
		var err error
		switch t {
		case ptByte:
			if p.Int > 0xff {
				return nil, fmt.Errorf("mqtt: property 0x%02x: %d out of range", p.ID, p.Int)
			}
			body = append(body, byte(p.Int))
		case ptTwo:
			if p.Int > 0xffff {
				return nil, fmt.Errorf("mqtt: property 0x%02x: %d out of range", p.ID, p.Int)
			}
			body = append(body, byte(p.Int>>8), byte(p.Int))
		case ptFour:
			body = append(body, byte(p.Int>>24), byte(p.Int>>16), byte(p.Int>>8), byte(p.Int))
		case ptVarint:
			body, err = appendVarint(body, p.Int)
		case ptString:
			body, err = appendString(body, p.Str)
		case ptBinary:
			body, err = appendBinary(body, p.Str)
		case ptPair:
			if body, err = appendString(body, p.Str); err == nil {
				body, err = appendString(body, p.Val)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	b, err := appendVarint(b, uint32(len(body)))
	if err != nil {
		return nil, err
	}
	return append(b, body...), nil
}

var errProps = errors.New("mqtt: malformed properties")

// readProps reads a property length and the properties it covers.
func (r *reader) readProps() Properties {
	n := r.varint()
	if r.err != nil {
		return nil
	}
	if int(n) > len(r.b) {
		r.fail(errProps)
		return nil
	}
	sub := &reader{b: r.b[:n]}
	r.b = r.b[n:]
	var ps Properties
	seen := map[byte]bool{}
	for len(sub.b) > 0 && sub.err == nil {
		id := sub.byte()
		t, ok := propTypes[id]
		if !ok {
			r.fail(fmt.Errorf("mqtt: unknown property 0x%02x", id))
			return nil
		}
		if seen[id] && id != PropUserProperty && id != PropSubscriptionID {
			r.fail(fmt.Errorf("mqtt: property 0x%02x repeated", id))
			return nil
		}
		seen[id] = true
		p := Property{ID: id}
		switch t {
		case ptByte:
			p.Int = uint32(sub.byte())
		case ptTwo:
			p.Int = uint32(sub.uint16())
		case ptFour:
			p.Int = sub.uint32()
		case ptVarint:
			p.Int = sub.varint()
		case ptString:
			p.Str = sub.string()
		case ptBinary:
			p.Str = string(sub.binary())
		case ptPair:
			p.Str = sub.string()
			p.Val = sub.string()
		}
		ps = append(ps, p)
	}
	if sub.err != nil {
		r.fail(sub.err)
		return nil
	}
	return ps
}
