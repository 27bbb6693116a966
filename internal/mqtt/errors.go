package mqtt

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by a Client after Close.
var ErrClosed = errors.New("mqtt: client closed")

// ReasonError is a refusal by the broker: a CONNACK, PUBACK, PUBREC,
// PUBCOMP, SUBACK or DISCONNECT with a failure code (0x80 and above in MQTT
// 5.0; a non-zero return code in a 3.1.1 CONNACK).
type ReasonError struct {
	Packet  byte // CONNACK, PUBACK, ...
	Code    byte // the reason code or 3.1.1 return code
	Version Version
	Reason  string // the MQTT 5.0 Reason String, if the broker sent one
}

func (e *ReasonError) Error() string {
	s := fmt.Sprintf("mqtt: %s refused: %s (0x%02x)", packetName(e.Packet), e.Name(), e.Code)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Name is the specification's name of the code.
func (e *ReasonError) Name() string {
	if e.Version == V311 && e.Packet == CONNACK {
		switch e.Code {
		case 1:
			return "unacceptable protocol version"
		case 2:
			return "identifier rejected"
		case 3:
			return "server unavailable"
		case 4:
			return "bad user name or password"
		case 5:
			return "not authorized"
		}
		return "unknown return code"
	}
	if n, ok := reasonNames[e.Code]; ok {
		return n
	}
	return "unknown reason"
}

// Auth reports whether the broker refused the credentials or authorization.
func (e *ReasonError) Auth() bool {
	if e.Version == V311 && e.Packet == CONNACK {
		return e.Code == 4 || e.Code == 5
	}
	return e.Code == 0x86 || e.Code == 0x87
}

var reasonNames = map[byte]string{
	0x80: "unspecified error", 0x81: "malformed packet", 0x82: "protocol error",
	0x83: "implementation specific error", 0x84: "unsupported protocol version",
	0x85: "client identifier not valid", 0x86: "bad user name or password",
	0x87: "not authorized", 0x88: "server unavailable", 0x89: "server busy",
	0x8a: "banned", 0x8b: "server shutting down", 0x8c: "bad authentication method",
	0x8d: "keep alive timeout", 0x8e: "session taken over", 0x8f: "topic filter invalid",
	0x90: "topic name invalid", 0x91: "packet identifier in use",
	0x92: "packet identifier not found", 0x93: "receive maximum exceeded",
	0x94: "topic alias invalid", 0x95: "packet too large", 0x96: "message rate too high",
	0x97: "quota exceeded", 0x98: "administrative action", 0x99: "payload format invalid",
	0x9a: "retain not supported", 0x9b: "QoS not supported", 0x9c: "use another server",
	0x9d: "server moved", 0x9e: "shared subscriptions not supported",
	0x9f: "connection rate exceeded", 0xa0: "maximum connect time",
	0xa1: "subscription identifiers not supported", 0xa2: "wildcard subscriptions not supported",
}

func packetName(t byte) string {
	names := [...]string{"", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL",
		"PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"}
	if int(t) < len(names) && names[t] != "" {
		return names[t]
	}
	return fmt.Sprintf("packet type %d", t)
}
