package mqtt

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func strp(s string) *string { return &s }

// samples are valid packets of every type this package speaks, per version.
func samples(v Version) []Packet {
	var props, ackProps Properties
	if v == V5 {
		props = Properties{
			{ID: PropPayloadFormat, Int: 1},
			{ID: PropContentType, Str: "application/json"},
			{ID: PropUserProperty, Str: "NGSILD-Tenant", Val: "city"},
			{ID: PropUserProperty, Str: "X-Auth", Val: "t"},
			{ID: PropMessageExpiry, Int: 60},
			{ID: PropCorrelationData, Str: "\x00\xff"},
		}
		ackProps = Properties{{ID: PropReasonString, Str: "quota"}}
	}
	var conProps, connackProps Properties
	if v == V5 {
		conProps = Properties{{ID: PropSessionExpiry, Int: 0}, {ID: PropReceiveMaximum, Int: 20}}
		connackProps = Properties{{ID: PropMaximumQoS, Int: 1}, {ID: PropAssignedClientID, Str: "auto-1"}, {ID: PropTopicAliasMaximum, Int: 10}}
	}
	ps := []Packet{
		&Connect{Version: v, CleanStart: true, KeepAlive: 30, ClientID: "qala-1", Props: conProps},
		&Connect{Version: v, KeepAlive: 0, ClientID: "", Username: strp("u"), Password: strp("p\x00w"),
			Will: &Will{Topic: "a/b", Payload: []byte("bye"), QoS: 1, Retain: true, Props: props[:0:0]}},
		&Connack{SessionPresent: true, Reason: 0, Props: connackProps},
		&Connack{Reason: 5},
		&Publish{Topic: "ngsild/notify", QoS: 0, Props: props, Payload: []byte(`{"a":1}`)},
		&Publish{Topic: "t", QoS: 1, PacketID: 7, Dup: true, Retain: true, Payload: []byte{}},
		&Publish{Topic: "t/ü", QoS: 2, PacketID: 65535, Props: props, Payload: []byte("x")},
		&Ack{Kind: PUBACK, PacketID: 1},
		&Ack{Kind: PUBREC, PacketID: 2},
		&Ack{Kind: PUBREL, PacketID: 3},
		&Ack{Kind: PUBCOMP, PacketID: 4},
		&Subscribe{PacketID: 9, Subs: []Subscription{{Filter: "a/+/c", Options: 1}, {Filter: "#", Options: 2}}},
		&Suback{PacketID: 9, Reasons: []byte{1, 2, 0x80}},
		&Pingreq{}, &Pingresp{}, &Disconnect{},
	}
	if v == V5 {
		ps = append(ps,
			&Ack{Kind: PUBACK, PacketID: 5, Reason: 0x10},
			&Ack{Kind: PUBREC, PacketID: 6, Reason: 0x87, Props: ackProps},
			&Disconnect{Reason: 0x8e, Props: ackProps},
			&Subscribe{PacketID: 3, Props: Properties{{ID: PropSubscriptionID, Int: 300}}, Subs: []Subscription{{Filter: "x", Options: 0x2d}}},
			&Publish{Topic: "", QoS: 0, Props: Properties{{ID: PropTopicAlias, Int: 3}}},
		)
	}
	return ps
}

var eq = cmpopts.EquateEmpty()

func TestRoundTrip(t *testing.T) {
	for _, v := range []Version{V311, V5} {
		for _, p := range samples(v) {
			b, err := Encode(p, v)
			if err != nil {
				t.Fatalf("%v: encode %#v: %v", v, p, err)
			}
			got, err := Decode(b, v)
			if err != nil {
				t.Fatalf("%v: decode %T % x: %v", v, p, b, err)
			}
			if d := cmp.Diff(p, got, eq); d != "" {
				t.Errorf("%v %T round trip (-want +got):\n%s", v, p, d)
			}
			got2, err := ReadPacket(bufio.NewReader(bytes.NewReader(b)), v, 1<<20)
			if err != nil || cmp.Diff(p, got2, eq) != "" {
				t.Errorf("%v %T: ReadPacket = %#v, %v", v, p, got2, err)
			}
		}
	}
}

// Known wire forms (MQTT 3.1.1 and 5.0 specifications, clauses 3.x).
func TestWireForms(t *testing.T) {
	cases := []struct {
		v    Version
		p    Packet
		want string
	}{
		{V311, &Pingreq{}, "c000"},
		{V311, &Disconnect{}, "e000"},
		{V311, &Ack{Kind: PUBREL, PacketID: 0x0102}, "62020102"},
		{V5, &Ack{Kind: PUBACK, PacketID: 1, Reason: 0x10}, "4003000110"},
		{V311, &Connect{Version: V311, CleanStart: true, KeepAlive: 60, ClientID: "c"},
			"100d00044d5154540402003c000163"},
		{V5, &Connect{Version: V5, CleanStart: true, KeepAlive: 60, ClientID: "c"},
			"100e00044d5154540502003c00000163"},
		{V311, &Publish{Topic: "a/b", QoS: 1, PacketID: 10, Payload: []byte("hi")},
			"32090003612f62000a6869"},
		{V5, &Publish{Topic: "a", QoS: 0, Props: Properties{{ID: PropUserProperty, Str: "k", Val: "v"}}, Payload: []byte("x")},
			"300c000161072600016b00017678"},
	}
	for _, c := range cases {
		b, err := Encode(c.p, c.v)
		if err != nil {
			t.Fatalf("%T: %v", c.p, err)
		}
		if got := bytesHex(b); got != c.want {
			t.Errorf("%v %T = %s, want %s", c.v, c.p, got, c.want)
		}
	}
}

func bytesHex(b []byte) string {
	const hexd = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(hexd[c>>4])
		sb.WriteByte(hexd[c&15])
	}
	return sb.String()
}

// Malformed input a broker might send is refused with an error.
func TestDecodeRefuses(t *testing.T) {
	bad := []struct {
		v    Version
		name string
		b    []byte
	}{
		{V311, "empty", nil},
		{V311, "length beyond data", []byte{0x20, 0x05, 0, 0}},
		{V311, "five-byte varint", []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{V311, "non-minimal varint", []byte{0xc0, 0x80, 0x00}},
		{V311, "PUBLISH QoS 3", []byte{0x36, 0x04, 0, 1, 'a', 0}},
		{V311, "PUBLISH wildcard topic", []byte{0x30, 0x03, 0, 1, '#'}},
		{V311, "PUBLISH id 0", []byte{0x32, 0x05, 0, 1, 'a', 0, 0}},
		{V311, "PUBLISH bad UTF-8", []byte{0x30, 0x03, 0, 1, 0xff}},
		{V311, "PUBLISH NUL in topic", []byte{0x30, 0x03, 0, 1, 0}},
		{V311, "PUBREL flags", []byte{0x60, 0x02, 0, 1}},
		{V311, "PUBACK extra byte in 3.1.1", []byte{0x40, 0x03, 0, 1, 0}},
		{V5, "property length beyond packet", []byte{0x40, 0x04, 0, 1, 0, 9}},
		{V5, "unknown property", []byte{0x40, 0x05, 0, 1, 0, 1, 0x7f}},
		{V5, "repeated content type", []byte{0x30, 0x0c, 0, 1, 'a', 8, 3, 0, 1, 'x', 3, 0, 1, 'y'}},
		{V311, "CONNACK reserved flags", []byte{0x20, 0x02, 0x02, 0}},
		{V311, "SUBACK without codes", []byte{0x90, 0x02, 0, 1}},
		{V311, "unknown type 15", []byte{0xf0, 0x00}},
		{V311, "CONNECT level 3", []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 3, 2, 0, 60, 0, 0}},
		{V311, "SUBSCRIBE misplaced #", []byte{0x82, 0x07, 0, 1, 0, 2, '#', 'a', 0}},
	}
	for _, c := range bad {
		if p, err := Decode(c.b, c.v); err == nil {
			t.Errorf("%s: decoded %#v, want an error", c.name, p)
		}
	}
	if _, err := ReadPacket(bufio.NewReader(bytes.NewReader([]byte{0x30, 0xff, 0x7f})), V5, 1024); err != ErrTooLarge {
		t.Errorf("oversized packet: %v, want ErrTooLarge", err)
	}
}

func TestCheckFilter(t *testing.T) {
	for _, f := range []string{"a", "a/b", "+", "#", "a/+/c", "a/#", "+/+", "/"} {
		if err := CheckFilter(f); err != nil {
			t.Errorf("%q: %v", f, err)
		}
	}
	for _, f := range []string{"", "a#", "a/#/b", "a+", "+a/b", "a/b+"} {
		if CheckFilter(f) == nil {
			t.Errorf("%q accepted", f)
		}
	}
}

// FuzzDecode: decoding broker input never panics, and whatever decodes
// encodes back to a packet that decodes to the same value.
func FuzzDecode(f *testing.F) {
	for _, v := range []Version{V311, V5} {
		for _, p := range samples(v) {
			b, _ := Encode(p, v)
			f.Add(b, v == V5)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, v5 bool) {
		v := V311
		if v5 {
			v = V5
		}
		p, err := Decode(b, v)
		if err != nil {
			return
		}
		if c, ok := p.(*Connect); ok {
			v = c.Version
		}
		b2, err := Encode(p, v)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", p, err)
		}
		p2, err := Decode(b2, v)
		if err != nil {
			t.Fatalf("re-encoded % x does not decode: %v", b2, err)
		}
		if d := cmp.Diff(p, p2, eq); d != "" {
			t.Fatalf("round trip differs:\n%s", d)
		}
		if _, err := ReadPacket(bufio.NewReader(bytes.NewReader(b)), v, len(b)); err != nil {
			t.Fatalf("Decode accepted what ReadPacket refuses: %v", err)
		}
	})
}
