package notify

import (
	"bytes"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/problem"
)

// FuzzParseListQuery: the admin API's query strings never panic, and every
// rejection is a BadRequestData problem.
func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{"", "subscription=urn:a&limit=10&offset=3", "tenant=&all=true", "limit=0", "limit=99999999999999999999",
		"offset=-1", "x=1", "tenant=a&tenant=b", "%zz", "endpoint=http%3A%2F%2Fh%3A1%2Fp", "all=maybe", ";"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseListQuery(raw)
		if err != nil {
			if !problem.Is(err, problem.BadRequestData) {
				t.Fatalf("%q: %v is not BadRequestData", raw, err)
			}
			return
		}
		if q.Limit < 1 || q.Limit > maxListLimit || q.Offset < 0 {
			t.Fatalf("%q: limit %d offset %d", raw, q.Limit, q.Offset)
		}
		m := &deadMeta{URI: q.Endpoint, Endpoint: endpointLabel(q.Endpoint)}
		q.match(m)
	})
}

// FuzzDecode: records read back from the database never panic the decoder,
// and what encodes decodes to the same.
func FuzzDecode(f *testing.F) {
	m := &Message{ID: "urn:n:1", Tenant: "t", Subscription: "urn:s", ContentType: "application/json", Link: "<x>",
		Endpoint: Endpoint{URI: "http://h/p", Accept: "application/json", ReceiverInfo: []KeyValue{{"a", "b"}},
			NotifierInfo: []KeyValue{{"MQTT-QoS", "1"}}, Timeout: time.Second, Cooldown: 2 * time.Second},
		Body: []byte(`{"x":1}`), Seq: 42, Created: time.Unix(0, 12345)}
	f.Add(appendMessage(nil, m))
	f.Add(appendDead(nil, &deadRecord{Attempts: 3, Status: 500, Err: "boom", At: time.Unix(5, 0), Msg: m}))
	f.Add([]byte{})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := decodeMessage(b); err == nil {
			again := appendMessage(nil, m)
			m2, err := decodeMessage(again)
			if err != nil || !bytes.Equal(appendMessage(nil, m2), again) {
				t.Fatalf("message does not round-trip: %v", err)
			}
		}
		if r, err := decodeDead(b); err == nil && r.Msg == nil {
			t.Fatal("dead letter without a message")
		}
	})
}

func TestCodecRoundTrip(t *testing.T) {
	m := &Message{ID: "urn:n:1", Tenant: "t", Subscription: "urn:s", ContentType: "application/ld+json", Link: "<x>",
		Endpoint: Endpoint{URI: "mqtt://h/topic", Accept: "application/geo+json", ReceiverInfo: []KeyValue{{"a", "b"}, {"c", ""}},
			NotifierInfo: []KeyValue{{"MQTT-Version", "mqtt5.0"}}, Timeout: time.Second, Cooldown: 2 * time.Second},
		Body: []byte(`{"x":1}`), Seq: 42, Created: time.Unix(0, 12345)}
	r, err := decodeDead(appendDead(nil, &deadRecord{Attempts: 3, Status: 500, Err: "boom", At: time.Unix(5, 0), Msg: m}))
	if err != nil {
		t.Fatal(err)
	}
	got := r.Msg
	if got.ID != m.ID || got.Tenant != m.Tenant || got.Subscription != m.Subscription || got.ContentType != m.ContentType ||
		got.Link != m.Link || got.Endpoint.URI != m.Endpoint.URI || got.Endpoint.Accept != m.Endpoint.Accept ||
		len(got.Endpoint.ReceiverInfo) != 2 || got.Endpoint.ReceiverInfo[1] != m.Endpoint.ReceiverInfo[1] ||
		got.Endpoint.NotifierInfo[0] != m.Endpoint.NotifierInfo[0] || got.Endpoint.Timeout != time.Second ||
		got.Endpoint.Cooldown != 2*time.Second || string(got.Body) != string(m.Body) || got.Seq != 42 || !got.Created.Equal(m.Created) ||
		r.Attempts != 3 || r.Status != 500 || r.Err != "boom" || !r.At.Equal(time.Unix(5, 0)) {
		t.Errorf("round trip: %+v %+v", r, got)
	}
	for _, uri := range [][2]string{{"http://Example.org/x?y", "http://example.org:80"}, {"https://user:pw@h:8443/", "https://h:8443"},
		{"mqtt://broker/t", "mqtt://broker:1883"}, {"mqtts://[::1]/t", "mqtts://[::1]:8883"}, {"not a uri", "invalid"}, {"", "invalid"}} {
		if got := endpointLabel(uri[0]); got != uri[1] {
			t.Errorf("endpointLabel(%q) = %q, want %q", uri[0], got, uri[1])
		}
	}
}
