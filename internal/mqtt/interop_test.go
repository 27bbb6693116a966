package mqtt_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/mqtt"
	"github.com/qala-city/qala/internal/mqtt/mqtttest"
	"github.com/qala-city/qala/internal/notify"
)

// The interop tier runs against a real Mosquitto (make test-mqtt,
// .ci/mqtt.sh): QALA_MQTT_INTEROP=1, broker at QALA_MQTT_ADDR (default
// 127.0.0.1:1883).
func interopAddr(t *testing.T) string {
	t.Helper()
	if os.Getenv("QALA_MQTT_INTEROP") != "1" {
		t.Skip("interop tier: set QALA_MQTT_INTEROP=1 with Mosquitto at QALA_MQTT_ADDR (make test-mqtt)")
	}
	if a := os.Getenv("QALA_MQTT_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:1883"
}

func randomTopic(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "/" + hex.EncodeToString(b[:])
}

// Our client publishes with MQTT 3.1.1 and 5.0 at QoS 0, 1 and 2 to
// Mosquitto, and our client receives through a subscription.
func TestInteropMosquittoPublishSubscribe(t *testing.T) {
	addr := interopAddr(t)
	for _, v := range []mqtt.Version{mqtt.V311, mqtt.V5} {
		base := randomTopic("qala-interop")
		sub := mqtttest.Subscribe(t, addr, base+"/#", mqtttest.SubscriberOptions{Version: v, QoS: 2})
		c := mqtt.New(mqtt.Options{Addr: addr, Version: v})
		defer c.Close()
		for qos := byte(0); qos <= 2; qos++ {
			topic := fmt.Sprintf("%s/qos%d", base, qos)
			payload := fmt.Sprintf(`{"version":%q,"qos":%d}`, v, qos)
			props := mqtt.Properties{{ID: mqtt.PropContentType, Str: "application/json"},
				{ID: mqtt.PropUserProperty, Str: "NGSILD-Tenant", Val: "astana"}}
			if err := c.Publish(ctxT(t), topic, []byte(payload), qos, props); err != nil {
				t.Fatalf("%v QoS %d: %v", v, qos, err)
			}
			m := sub.Next(t, 5*time.Second)
			if m.Topic != topic || string(m.Payload) != payload || m.QoS != qos {
				t.Fatalf("%v QoS %d: got %s %q QoS %d", v, qos, m.Topic, m.Payload, m.QoS)
			}
			if v == mqtt.V5 && (m.Props.String(mqtt.PropContentType) != "application/json" || len(m.Props.User()) != 1) {
				t.Fatalf("QoS %d: properties lost: %+v", qos, m.Props)
			}
		}
	}
}

// A third-party client, mosquitto_sub, sees what our client publishes,
// with MQTT 5.0 user properties and content type intact.
func TestInteropMosquittoSubWitness(t *testing.T) {
	addr := interopAddr(t)
	if _, err := exec.LookPath("mosquitto_sub"); err != nil {
		t.Skip("mosquitto_sub not installed")
	}
	host, port, _ := strings.Cut(addr, ":")
	base := randomTopic("qala-witness")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "mosquitto_sub", "-h", host, "-p", port, "-V", "mqttv5", "-q", "2",
		"-t", base+"/#", "-F", "%t|%q|%C|%P|%p")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	lines := make(chan string, 64)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	c := mqtt.New(mqtt.Options{Addr: addr})
	defer c.Close()
	// Probe until mosquitto_sub's subscription is in place.
	ready := false
	for i := 0; i < 50 && !ready; i++ {
		if err := c.Publish(ctx, base+"/probe", []byte("probe"), 0, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case <-lines:
			ready = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !ready {
		t.Fatal("mosquitto_sub never received a probe")
	}
	time.Sleep(100 * time.Millisecond)
	for len(lines) > 0 {
		<-lines
	}
	for _, v := range []mqtt.Version{mqtt.V311, mqtt.V5} {
		pc := mqtt.New(mqtt.Options{Addr: addr, Version: v})
		defer pc.Close()
		for qos := byte(0); qos <= 2; qos++ {
			topic := fmt.Sprintf("%s/%s/%d", base, v, qos)
			props := mqtt.Properties{{ID: mqtt.PropContentType, Str: "application/ld+json"},
				{ID: mqtt.PropUserProperty, Str: "k", Val: "v"}}
			if err := pc.Publish(ctx, topic, []byte("n"), qos, props); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("%s|%d|application/ld+json|k:v|n", topic, qos)
			if v == mqtt.V311 {
				want = fmt.Sprintf("%s|%d|||n", topic, qos)
			}
			select {
			case got := <-lines:
				if got != want {
					t.Fatalf("mosquitto_sub printed %q, want %q", got, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%v QoS %d: mosquitto_sub received nothing", v, qos)
			}
		}
	}
}

// The Notifier delivers to Mosquitto with each version and QoS, with a user
// name in the URI (as ETSI TP 058_01_03 does), in the message format of
// clause 7.2, to a subscriber of the other protocol version.
func TestInteropMosquittoNotifier(t *testing.T) {
	addr := interopAddr(t)
	n := &mqtt.Notifier{}
	defer n.Close()
	for _, vs := range []string{"mqtt3.1.1", "mqtt5.0"} {
		subVersion := mqtt.V5
		if vs == "mqtt5.0" {
			subVersion = mqtt.V311
		}
		base := randomTopic("qala-notify")
		sub := mqtttest.Subscribe(t, addr, base+"/#", mqtttest.SubscriberOptions{Version: subVersion, QoS: 1})
		for _, qs := range []string{"0", "1", "2"} {
			uri := fmt.Sprintf("mqtt://qala@%s/%s/%s", addr, base, qs)
			m := message(uri, notify.KeyValue{Key: "MQTT-Version", Value: vs}, notify.KeyValue{Key: "MQTT-QoS", Value: qs})
			if _, err := n.Send(ctxT(t), m); err != nil {
				t.Fatalf("%s QoS %s: %v", vs, qs, err)
			}
			got := sub.Next(t, 5*time.Second)
			if got.Topic != base+"/"+qs {
				t.Fatalf("topic %q", got.Topic)
			}
			checkPayload(t, got.Payload)
		}
	}
}

// mqtts:// with a user name and password against Mosquitto with TLS and a
// password file (.ci/mqtt.sh sets QALA_MQTTS_ADDR, QALA_MQTTS_CA and
// QALA_MQTTS_USER): delivered with the right credentials, refused at
// CONNACK with wrong ones.
func TestInteropMosquittoTLSCredentials(t *testing.T) {
	interopAddr(t)
	addr, caFile, user := os.Getenv("QALA_MQTTS_ADDR"), os.Getenv("QALA_MQTTS_CA"), os.Getenv("QALA_MQTTS_USER")
	if addr == "" || caFile == "" || user == "" {
		t.Skip("no TLS Mosquitto: QALA_MQTTS_ADDR, QALA_MQTTS_CA and QALA_MQTTS_USER (.ci/mqtt.sh sets them)")
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	tlsConf := &tls.Config{RootCAs: pool}
	name, pw, _ := strings.Cut(user, ":")
	base := randomTopic("qala-tls")
	sub := mqtttest.Subscribe(t, addr, base+"/#", mqtttest.SubscriberOptions{QoS: 2, TLS: tlsConf, Username: &name, Password: &pw})
	n := &mqtt.Notifier{TLS: tlsConf}
	defer n.Close()
	for _, vs := range []string{"mqtt3.1.1", "mqtt5.0"} {
		for _, qs := range []string{"0", "1", "2"} {
			uri := fmt.Sprintf("mqtts://%s@%s/%s/%s/%s", user, addr, base, vs, qs)
			m := message(uri, notify.KeyValue{Key: "MQTT-Version", Value: vs}, notify.KeyValue{Key: "MQTT-QoS", Value: qs})
			if _, err := n.Send(ctxT(t), m); err != nil {
				t.Fatalf("%s QoS %s: %v", vs, qs, err)
			}
			checkPayload(t, sub.Next(t, 5*time.Second).Payload)
		}
		bad := message(fmt.Sprintf("mqtts://%s:wrong@%s/%s/x", name, addr, base), notify.KeyValue{Key: "MQTT-Version", Value: vs})
		_, err := n.Send(ctxT(t), bad)
		var re *mqtt.ReasonError
		if !errors.As(err, &re) || !re.Auth() {
			t.Fatalf("%s, wrong password: %v, want a refusal of the credentials", vs, err)
		}
		untrusted := &mqtt.Notifier{}
		if _, err := untrusted.Send(ctxT(t), message(fmt.Sprintf("mqtts://%s@%s/%s/x", user, addr, base))); err == nil {
			t.Fatal("a self-signed certificate was trusted by the system roots")
		}
		untrusted.Close()
	}
	sub.None(t, 100*time.Millisecond)
}
