package mqtt_test

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/mqtt"
	"github.com/qala-city/qala/internal/mqtt/mqtttest"
	"github.com/qala-city/qala/internal/notify"
)

const notification = `{"id":"urn:ngsi-ld:Notification:1","type":"Notification","subscriptionId":"urn:ngsi-ld:Subscription:s1","notifiedAt":"2026-12-05T08:00:00.000Z","data":[{"id":"urn:ngsi-ld:AirQualityObserved:school7","type":"AirQualityObserved","pm25":{"type":"Property","value":41}}]}`

const link = `<https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`

func message(uri string, notifierInfo ...notify.KeyValue) *notify.Message {
	return &notify.Message{
		ID: "urn:ngsi-ld:Notification:1", Tenant: "astana", Subscription: "urn:ngsi-ld:Subscription:s1",
		ContentType: "application/json", Link: link, Body: []byte(notification), Created: time.Now(),
		Endpoint: notify.Endpoint{URI: uri, NotifierInfo: notifierInfo,
			ReceiverInfo: []notify.KeyValue{{Key: "test-receiver-key", Value: "test-receiver-info"}, {Key: "Content-Type", Value: "ignored"}}},
	}
}

// mqttMessage is the MQTT notification message of clause 7.2.
type mqttMessage struct {
	Metadata map[string]string `json:"metadata"`
	Body     json.RawMessage   `json:"body"`
}

// checkPayload checks the message of clause 7.2: a JSON object with
// "metadata" (Content-Type, Link, NGSILD-Tenant, receiverInfo) and "body"
// (the Notification of clause 5.3.1, unchanged).
func checkPayload(t *testing.T, payload []byte) {
	t.Helper()
	var m mqttMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatalf("payload %s: %v", payload, err)
	}
	want := map[string]string{"Content-Type": "application/json", "Link": link, "NGSILD-Tenant": "astana",
		"test-receiver-key": "test-receiver-info"}
	if fmt.Sprint(m.Metadata) != fmt.Sprint(want) {
		t.Fatalf("metadata %v, want %v", m.Metadata, want)
	}
	if string(m.Body) != notification {
		t.Fatalf("body %s, want the notification unchanged", m.Body)
	}
}

// notifierInfo selects the version (default MQTT 5.0) and QoS (default 0),
// clause 7.2; receiverInfo becomes metadata, and MQTT 5.0 user properties.
func TestNotifierVersionsAndQoS(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	sub := mqtttest.Subscribe(t, b.Addr, "ngsild-test-suite/#", mqtttest.SubscriberOptions{Version: mqtt.V311, QoS: 2})
	n := &mqtt.Notifier{}
	defer n.Close()
	versions := map[string]mqtt.Version{"": mqtt.V5, "mqtt3.1.1": mqtt.V311, "mqtt5.0": mqtt.V5}
	for _, vs := range []string{"", "mqtt3.1.1", "mqtt5.0"} {
		for _, qs := range []string{"", "0", "1", "2"} {
			var info []notify.KeyValue
			if vs != "" {
				info = append(info, notify.KeyValue{Key: "MQTT-Version", Value: vs})
			}
			if qs != "" {
				info = append(info, notify.KeyValue{Key: "MQTT-QoS", Value: qs})
			}
			topic := fmt.Sprintf("ngsild-test-suite/%s/qos%s", vs, qs)
			if _, err := n.Send(ctxT(t), message(b.URI("", topic), info...)); err != nil {
				t.Fatalf("version %q QoS %q: %v", vs, qs, err)
			}
			got := sub.Next(t, 5*time.Second)
			if got.Topic != topic {
				t.Fatalf("topic %q, want %q", got.Topic, topic)
			}
			checkPayload(t, got.Payload)
			rec := b.Received()
			last := rec[len(rec)-1].Publish
			wantQoS := byte(0)
			if qs != "" {
				wantQoS = qs[0] - '0'
			}
			if rec[len(rec)-1].Version != versions[vs] || last.QoS != wantQoS {
				t.Fatalf("version %q QoS %q: published with %v QoS %d", vs, qs, rec[len(rec)-1].Version, last.QoS)
			}
			if versions[vs] == mqtt.V5 {
				user := fmt.Sprint(last.Props.User())
				if !strings.Contains(user, "{test-receiver-key test-receiver-info}") || !strings.Contains(user, "{NGSILD-Tenant astana}") ||
					last.Props.String(mqtt.PropContentType) != "application/json" {
					t.Fatalf("MQTT 5.0 properties %+v", last.Props)
				}
			}
		}
	}
	if c := n.Connections(); c != 2 {
		t.Fatalf("%d pooled connections, want 2 (one per version)", c)
	}
}

// User name and password come from the URI's userinfo (clause 7.2).
func TestNotifierCredentials(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{Users: map[string]string{"user_with_password": "p@ss:word"}})
	n := &mqtt.Notifier{}
	defer n.Close()
	for _, v := range []string{"mqtt3.1.1", "mqtt5.0"} {
		info := notify.KeyValue{Key: "MQTT-Version", Value: v}
		ok := b.URI("user_with_password:p%40ss%3Aword", "t")
		if _, err := n.Send(ctxT(t), message(ok, info, notify.KeyValue{Key: "MQTT-QoS", Value: "1"})); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		for _, bad := range []string{b.URI("user_with_password:wrong", "t"), b.URI("user_with_password", "t"), b.URI("", "t")} {
			_, err := n.Send(ctxT(t), message(bad, info))
			var re *mqtt.ReasonError
			if !errors.As(err, &re) || !re.Auth() {
				t.Fatalf("%s %s: %v, want a refusal of the credentials", v, bad, err)
			}
		}
	}
	rec := b.Received()
	if len(rec) != 2 || rec[0].Username != "user_with_password" || rec[1].Username != "user_with_password" {
		t.Fatalf("received %+v", rec)
	}
}

func TestNotifierTLS(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{TLS: true})
	n := &mqtt.Notifier{TLS: &tls.Config{RootCAs: b.Pool}}
	defer n.Close()
	uri := b.URI("", "secure/topic")
	if !strings.HasPrefix(uri, "mqtts://") {
		t.Fatal(uri)
	}
	if _, err := n.Send(ctxT(t), message(uri, notify.KeyValue{Key: "MQTT-QoS", Value: "2"})); err != nil {
		t.Fatal(err)
	}
	checkPayload(t, b.Received()[0].Publish.Payload)
}

func TestNotifierRefusesBadEndpoints(t *testing.T) {
	n := &mqtt.Notifier{}
	defer n.Close()
	bad := []*notify.Message{
		message("mqtt://127.0.0.1:1/"),
		message("mqtt://127.0.0.1:1/a/#"),
		message("mqtt:///topic"),
		message("http://127.0.0.1:1/topic"),
		message("mqtt://127.0.0.1:1/t", notify.KeyValue{Key: "MQTT-Version", Value: "mqtt3.1"}),
		message("mqtt://127.0.0.1:1/t", notify.KeyValue{Key: "MQTT-QoS", Value: "3"}),
	}
	notJSON := message("mqtt://127.0.0.1:1/t")
	notJSON.Body = []byte("{")
	bad = append(bad, notJSON)
	for _, m := range bad {
		if _, err := n.Send(ctxT(t), m); err == nil || !notify.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", m.Endpoint.URI, err)
		}
	}
	if n.Connections() != 0 {
		t.Fatal("a connection was opened for a bad endpoint")
	}
}

func TestParseEndpoint(t *testing.T) {
	e, err := mqtt.ParseEndpoint("mqtts://u:p%2Fw@broker.example:9883/city/air/pm25",
		[]notify.KeyValue{{Key: "MQTT-Version", Value: "mqtt3.1.1"}, {Key: "MQTT-QoS", Value: "2"}, {Key: "other", Value: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if !e.TLS || e.Addr != "broker.example:9883" || e.Topic != "city/air/pm25" || *e.Username != "u" || *e.Password != "p/w" ||
		e.Version != mqtt.V311 || e.QoS != 2 {
		t.Fatalf("%+v", e)
	}
	for uri, addr := range map[string]string{"mqtt://h/t": "h:1883", "mqtts://h/t": "h:8883", "mqtt://[::1]/t": "[::1]:1883"} {
		e, err := mqtt.ParseEndpoint(uri, nil)
		if err != nil || e.Addr != addr || e.Version != mqtt.V5 || e.QoS != 0 || e.Username != nil {
			t.Fatalf("%s: %+v %v", uri, e, err)
		}
	}
	if e, _ := mqtt.ParseEndpoint("mqtt://user@h/t", nil); e.Username == nil || *e.Username != "user" || e.Password != nil {
		t.Fatalf("user without password: %+v", e)
	}
}

// FuzzParseEndpoint: endpoint URIs come from subscriptions (user input);
// parsing never panics, and an accepted endpoint has a valid topic name.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"mqtt://h/t", "mqtts://u:p@h:1/a/b", "mqtt://[::1]:1883/x", "mqtt://h/a/#", "mqtt://h/%00", "mqtt://u@h/t?q"} {
		f.Add(s, "mqtt5.0", "1")
	}
	f.Fuzz(func(t *testing.T, uri, version, qos string) {
		e, err := mqtt.ParseEndpoint(uri, []notify.KeyValue{{Key: "MQTT-Version", Value: version}, {Key: "MQTT-QoS", Value: qos}})
		if err != nil {
			return
		}
		if e.QoS > 2 || (e.Version != mqtt.V311 && e.Version != mqtt.V5) || e.Addr == "" {
			t.Fatalf("accepted %q as %+v", uri, e)
		}
		if _, err := mqtt.Encode(&mqtt.Publish{Topic: e.Topic}, e.Version); err != nil {
			t.Fatalf("accepted %q with topic %q that cannot be published: %v", uri, e.Topic, err)
		}
	})
}

// A receiverInfo pair that is no valid MQTT string (here a NUL) stays in the
// JSON metadata but is left out of the MQTT 5.0 user properties, instead of
// making the notification unsendable.
func TestNotifierOddReceiverInfo(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	n := &mqtt.Notifier{}
	defer n.Close()
	m := message(b.URI("", "t"), notify.KeyValue{Key: "MQTT-QoS", Value: "1"})
	m.Endpoint.ReceiverInfo = append(m.Endpoint.ReceiverInfo, notify.KeyValue{Key: "nul", Value: "a\x00b"})
	if _, err := n.Send(ctxT(t), m); err != nil {
		t.Fatal(err)
	}
	got := b.Received()[0].Publish
	var msg mqttMessage
	if err := json.Unmarshal(got.Payload, &msg); err != nil || msg.Metadata["nul"] != "a\x00b" {
		t.Fatalf("metadata %v, %v", msg.Metadata, err)
	}
	for _, u := range got.Props.User() {
		if u.Key == "nul" {
			t.Fatalf("user property %+v sent", u)
		}
	}
}
