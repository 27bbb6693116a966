package notify_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/mqtt"
	"github.com/qala-city/qala/internal/mqtt/mqtttest"
	"github.com/qala-city/qala/internal/notify"
)

// openMQTT opens a Dispatcher with the MQTT binding's transport for mqtt
// and mqtts URIs, as the server wires it.
func openMQTT(t *testing.T, o notify.Options) *notify.Dispatcher {
	t.Helper()
	n := &mqtt.Notifier{TLS: o.TLS}
	o.Transports = map[string]notify.Transport{"mqtt": n, "mqtts": n}
	o.Dir = t.TempDir()
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := notify.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func mqttMessage(uri, id string, info ...notify.KeyValue) *notify.Message {
	return &notify.Message{ID: id, Tenant: "astana", Subscription: "urn:ngsi-ld:Subscription:m", ContentType: "application/json",
		Body: []byte(`{"id":"` + id + `","type":"Notification","data":[]}`), Created: time.Now(),
		Endpoint: notify.Endpoint{URI: uri, NotifierInfo: info, ReceiverInfo: []notify.KeyValue{{Key: "k", Value: "v"}}}}
}

// TestMQTTDelivery sends notifications through the Dispatcher to an
// in-process broker with MQTT 3.1.1 and 5.0 at QoS 0, 1 and 2 as
// notifierInfo selects (clause 7.2 of the MQTT binding), plus mqtts.
func TestMQTTDelivery(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	sub := mqtttest.Subscribe(t, b.Addr, "city/#", mqtttest.SubscriberOptions{QoS: 2})
	d := openMQTT(t, notify.Options{})
	want := map[string]bool{}
	var ms []*notify.Message
	for _, v := range []string{"mqtt3.1.1", "mqtt5.0"} {
		for _, q := range []string{"0", "1", "2"} {
			id := fmt.Sprintf("urn:ngsi-ld:Notification:%s-%s", v, q)
			want[id] = true
			ms = append(ms, mqttMessage(b.URI("", "city/"+v+"/"+q), id,
				notify.KeyValue{Key: "MQTT-Version", Value: v}, notify.KeyValue{Key: "MQTT-QoS", Value: q}))
		}
	}
	if err := d.Enqueue(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	for range ms {
		p := sub.Next(t, 5*time.Second)
		var m struct {
			Metadata map[string]string
			Body     struct{ ID string }
		}
		if err := json.Unmarshal(p.Payload, &m); err != nil {
			t.Fatal(err)
		}
		if !want[m.Body.ID] || m.Metadata["NGSILD-Tenant"] != "astana" || m.Metadata["k"] != "v" {
			t.Errorf("message on %s: %s", p.Topic, p.Payload)
		}
		delete(want, m.Body.ID)
	}

	tb := mqtttest.Start(t, mqtttest.Options{TLS: true})
	tsub := mqtttest.Subscribe(t, tb.Addr, "secure/#", mqtttest.SubscriberOptions{TLS: tlsConfig(tb)})
	ds := openMQTT(t, notify.Options{TLS: tlsConfig(tb)})
	if err := ds.Enqueue(context.Background(), []*notify.Message{mqttMessage(tb.URI("", "secure/x"), "urn:ngsi-ld:Notification:tls",
		notify.KeyValue{Key: "MQTT-QoS", Value: "1"})}); err != nil {
		t.Fatal(err)
	}
	if p := tsub.Next(t, 5*time.Second); p.Topic != "secure/x" {
		t.Errorf("mqtts topic %q", p.Topic)
	}
}

// TestMQTTRetryAndDeadLetter: a broker that drops the connection before
// acknowledging a QoS 1 publish gets it again; an endpoint no retry can fix
// (no topic) is dead-lettered after one attempt.
func TestMQTTRetryAndDeadLetter(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	sub := mqtttest.Subscribe(t, b.Addr, "retry/#", mqtttest.SubscriberOptions{QoS: 1})
	var mu sync.Mutex
	var attempts []notify.Attempt
	d := openMQTT(t, notify.Options{BackoffBase: 10 * time.Millisecond, OnAttempt: func(a notify.Attempt) {
		mu.Lock()
		attempts = append(attempts, a)
		mu.Unlock()
	}})
	b.DropBeforeAck(1)
	bad := mqttMessage("mqtt://"+b.Addr, "urn:ngsi-ld:Notification:bad")
	if err := d.Enqueue(context.Background(), []*notify.Message{
		mqttMessage(b.URI("", "retry/a"), "urn:ngsi-ld:Notification:r", notify.KeyValue{Key: "MQTT-QoS", Value: "1"}), bad}); err != nil {
		t.Fatal(err)
	}
	p := sub.Next(t, 5*time.Second)
	if p.Topic != "retry/a" {
		t.Fatalf("topic %q", p.Topic)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		var ok, dead bool
		for _, a := range attempts {
			if a.Msg.ID == "urn:ngsi-ld:Notification:r" && a.OK && a.Final {
				ok = true
			}
			if a.Msg.ID == bad.ID && !a.OK && a.Final && notify.IsPermanent(a.Err) {
				dead = true
			}
		}
		mu.Unlock()
		if ok && dead {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("attempts %+v", attempts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func tlsConfig(b *mqtttest.Broker) *tls.Config { return &tls.Config{RootCAs: b.Pool} }

// TestMQTTMosquittoInterop delivers through the Dispatcher to the real
// Mosquitto (interop tier: QALA_MQTT_INTEROP=1, broker at QALA_MQTT_ADDR,
// default 127.0.0.1:1883), both versions, QoS 1 and 2.
func TestMQTTMosquittoInterop(t *testing.T) {
	if os.Getenv("QALA_MQTT_INTEROP") != "1" {
		t.Skip("interop tier: set QALA_MQTT_INTEROP=1 with Mosquitto at QALA_MQTT_ADDR (make test-mqtt)")
	}
	addr := os.Getenv("QALA_MQTT_ADDR")
	if addr == "" {
		addr = "127.0.0.1:1883"
	}
	base := fmt.Sprintf("qala-notify-interop/%d", time.Now().UnixNano())
	sub := mqtttest.Subscribe(t, addr, base+"/#", mqtttest.SubscriberOptions{QoS: 2})
	d := openMQTT(t, notify.Options{})
	var ms []*notify.Message
	for _, v := range []string{"mqtt3.1.1", "mqtt5.0"} {
		for _, q := range []string{"1", "2"} {
			ms = append(ms, mqttMessage("mqtt://"+addr+"/"+base+"/"+v+"/"+q, "urn:ngsi-ld:Notification:"+v+"-"+q,
				notify.KeyValue{Key: "MQTT-Version", Value: v}, notify.KeyValue{Key: "MQTT-QoS", Value: q}))
		}
	}
	if err := d.Enqueue(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for range ms {
		got[sub.Next(t, 10*time.Second).Topic] = true
	}
	for _, m := range ms {
		if !got[m.Endpoint.URI[len("mqtt://"+addr+"/"):]] {
			t.Errorf("nothing on the topic of %s", m.Endpoint.URI)
		}
	}
}
