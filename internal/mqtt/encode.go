package mqtt

import (
	"errors"
	"fmt"
)

// Encode returns the wire form of p for protocol version v (a Connect uses
// its own Version). It refuses what Decode would refuse: invalid strings,
// out-of-range values and properties in an MQTT 3.1.1 packet.
func Encode(p Packet, v Version) ([]byte, error) {
	if c, ok := p.(*Connect); ok {
		v = c.Version
	}
	if v != V311 && v != V5 {
		return nil, fmt.Errorf("mqtt: unsupported protocol level %d", v)
	}
	var (
		h    = p.Type() << 4
		body []byte
		err  error
	)
	switch p := p.(type) {
	case *Connect:
		body, err = encodeConnect(p)
	case *Connack:
		var f byte
		if p.SessionPresent {
			f = 1
		}
		body = []byte{f, p.Reason}
		body, err = withProps(body, p.Props, v)
	case *Publish:
		h, body, err = encodePublish(p, v)
	case *Ack:
		if p.Kind < PUBACK || p.Kind > PUBCOMP {
			return nil, fmt.Errorf("mqtt: %d is no acknowledgement", p.Kind)
		}
		if p.Kind == PUBREL {
			h |= 2
		}
		if p.PacketID == 0 {
			return nil, errors.New("mqtt: acknowledgement of packet identifier 0")
		}
		body = appendUint16(nil, p.PacketID)
		if v == V5 && (p.Reason != 0 || len(p.Props) > 0) {
			body = append(body, p.Reason)
			if len(p.Props) > 0 {
				body, err = appendProps(body, p.Props)
			}
		} else if v == V311 && (p.Reason != 0 || len(p.Props) > 0) {
			err = errors.New("mqtt: reason codes and properties need MQTT 5.0")
		}
	case *Subscribe:
		h |= 2
		body, err = encodeSubscribe(p, v)
	case *Suback:
		body = appendUint16(nil, p.PacketID)
		if body, err = withProps(body, p.Props, v); err == nil {
			if len(p.Reasons) == 0 {
				err = errors.New("mqtt: SUBACK without reason codes")
			}
			body = append(body, p.Reasons...)
		}
	case *Pingreq, *Pingresp:
	case *Disconnect:
		if v == V5 && (p.Reason != 0 || len(p.Props) > 0) {
			body = append(body, p.Reason)
			if len(p.Props) > 0 {
				body, err = appendProps(body, p.Props)
			}
		} else if v == V311 && (p.Reason != 0 || len(p.Props) > 0) {
			err = errors.New("mqtt: reason codes and properties need MQTT 5.0")
		}
	default:
		return nil, fmt.Errorf("mqtt: cannot encode %T", p)
	}
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(body)+5)
	out = append(out, h)
	if out, err = appendVarint(out, uint32(min(len(body), maxRemaining+1))); err != nil {
		return nil, err
	}
	return append(out, body...), nil
}

// withProps appends ps for MQTT 5.0; in 3.1.1 properties are an error.
func withProps(b []byte, ps Properties, v Version) ([]byte, error) {
	if v == V5 {
		return appendProps(b, ps)
	}
	if len(ps) > 0 {
		return nil, errors.New("mqtt: properties need MQTT 5.0")
	}
	return b, nil
}

func encodeConnect(c *Connect) ([]byte, error) {
	b, _ := appendString(nil, "MQTT")
	b = append(b, byte(c.Version))
	var flags byte
	if c.CleanStart {
		flags |= 0x02
	}
	if w := c.Will; w != nil {
		if w.QoS > 2 {
			return nil, fmt.Errorf("mqtt: will QoS %d", w.QoS)
		}
		flags |= 0x04 | w.QoS<<3
		if w.Retain {
			flags |= 0x20
		}
	}
	if c.Password != nil {
		if c.Version == V311 && c.Username == nil {
			return nil, errors.New("mqtt: MQTT 3.1.1 needs a user name with a password")
		}
		flags |= 0x40
	}
	if c.Username != nil {
		flags |= 0x80
	}
	b = append(b, flags)
	b = appendUint16(b, c.KeepAlive)
	var err error
	if b, err = withProps(b, c.Props, c.Version); err != nil {
		return nil, err
	}
	if b, err = appendString(b, c.ClientID); err != nil {
		return nil, err
	}
	if w := c.Will; w != nil {
		if b, err = withProps(b, w.Props, c.Version); err != nil {
			return nil, err
		}
		if err = checkTopicName(w.Topic, false); err != nil {
			return nil, err
		}
		if b, err = appendString(b, w.Topic); err != nil {
			return nil, err
		}
		if b, err = appendBinary(b, string(w.Payload)); err != nil {
			return nil, err
		}
	}
	if c.Username != nil {
		if b, err = appendString(b, *c.Username); err != nil {
			return nil, err
		}
	}
	if c.Password != nil {
		if b, err = appendBinary(b, *c.Password); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func encodePublish(p *Publish, v Version) (byte, []byte, error) {
	if p.QoS > 2 {
		return 0, nil, fmt.Errorf("mqtt: QoS %d", p.QoS)
	}
	if p.QoS == 0 && (p.Dup || p.PacketID != 0) {
		return 0, nil, errors.New("mqtt: QoS 0 PUBLISH with DUP or a packet identifier")
	}
	if p.QoS > 0 && p.PacketID == 0 {
		return 0, nil, errors.New("mqtt: PUBLISH with packet identifier 0")
	}
	if err := checkTopicName(p.Topic, v == V5 && hasProp(p.Props, PropTopicAlias)); err != nil {
		return 0, nil, err
	}
	h := PUBLISH<<4 | p.QoS<<1
	if p.Dup {
		h |= 8
	}
	if p.Retain {
		h |= 1
	}
	b, err := appendString(make([]byte, 0, len(p.Topic)+len(p.Payload)+64), p.Topic)
	if err != nil {
		return 0, nil, err
	}
	if p.QoS > 0 {
		b = appendUint16(b, p.PacketID)
	}
	if b, err = withProps(b, p.Props, v); err != nil {
		return 0, nil, err
	}
	return h, append(b, p.Payload...), nil
}

func encodeSubscribe(s *Subscribe, v Version) ([]byte, error) {
	if s.PacketID == 0 {
		return nil, errors.New("mqtt: SUBSCRIBE with packet identifier 0")
	}
	if len(s.Subs) == 0 {
		return nil, errors.New("mqtt: SUBSCRIBE without topic filters")
	}
	b, err := withProps(appendUint16(nil, s.PacketID), s.Props, v)
	if err != nil {
		return nil, err
	}
	for _, sub := range s.Subs {
		if err := checkSubscription(sub, v); err != nil {
			return nil, err
		}
		if b, err = appendString(b, sub.Filter); err != nil {
			return nil, err
		}
		b = append(b, sub.Options)
	}
	return b, nil
}
