package mqtt_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/mqtt"
	"github.com/qala-city/qala/internal/mqtt/mqtttest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func strp(s string) *string { return &s }

// Every version and QoS reaches a subscriber through the broker; the QoS
// handshake completes before Publish returns (MQTT 5.0, 4.3).
func TestPublishEveryVersionAndQoS(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	for _, v := range []mqtt.Version{mqtt.V311, mqtt.V5} {
		sub := mqtttest.Subscribe(t, b.Addr, "city/+/air", mqtttest.SubscriberOptions{Version: v, QoS: 2})
		c := mqtt.New(mqtt.Options{Addr: b.Addr, Version: v})
		defer c.Close()
		for qos := byte(0); qos <= 2; qos++ {
			props := mqtt.Properties{{ID: mqtt.PropContentType, Str: "application/json"},
				{ID: mqtt.PropUserProperty, Str: "fiware-service", Val: "astana"}}
			payload := fmt.Sprintf(`{"v":%q,"qos":%d}`, v, qos)
			if err := c.Publish(ctxT(t), "city/school7/air", []byte(payload), qos, props); err != nil {
				t.Fatalf("%v QoS %d: %v", v, qos, err)
			}
			if qos > 0 { // acknowledged: the broker has it already
				got := b.Received()
				if last := got[len(got)-1]; string(last.Publish.Payload) != payload || last.Publish.QoS != qos {
					t.Fatalf("%v QoS %d: broker's last message %q QoS %d", v, qos, last.Publish.Payload, last.Publish.QoS)
				}
			}
			m := sub.Next(t, 5*time.Second)
			if string(m.Payload) != payload || m.QoS != qos || m.Topic != "city/school7/air" {
				t.Fatalf("%v QoS %d: received %s %q QoS %d", v, qos, m.Topic, m.Payload, m.QoS)
			}
			if v == mqtt.V5 {
				if m.Props.String(mqtt.PropContentType) != "application/json" ||
					len(m.Props.User()) != 1 || m.Props.User()[0] != (mqtt.UserProperty{Key: "fiware-service", Value: "astana"}) {
					t.Fatalf("QoS %d: properties %+v", qos, m.Props)
				}
			} else if len(m.Props) != 0 {
				t.Fatalf("MQTT 3.1.1 message with properties %+v", m.Props)
			}
		}
		sub.None(t, 50*time.Millisecond)
	}
}

func TestCredentials(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{Users: map[string]string{"qala": "s3cret"}})
	for _, v := range []mqtt.Version{mqtt.V311, mqtt.V5} {
		bad := mqtt.New(mqtt.Options{Addr: b.Addr, Version: v, Username: strp("qala"), Password: strp("wrong")})
		err := bad.Publish(ctxT(t), "t", []byte("x"), 1, nil)
		var re *mqtt.ReasonError
		if !errors.As(err, &re) || re.Packet != mqtt.CONNACK || !re.Auth() {
			t.Fatalf("%v: wrong password: %v, want a CONNACK refusal for credentials", v, err)
		}
		bad.Close()
		good := mqtt.New(mqtt.Options{Addr: b.Addr, Version: v, Username: strp("qala"), Password: strp("s3cret")})
		if err := good.Publish(ctxT(t), "t", []byte("x"), 1, nil); err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		good.Close()
	}
	if got := b.Received(); len(got) != 2 || got[0].Username != "qala" {
		t.Fatalf("received %+v", got)
	}
}

func TestTLS(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{TLS: true})
	c := mqtt.New(mqtt.Options{Addr: b.Addr, TLS: &tls.Config{RootCAs: b.Pool}})
	defer c.Close()
	if err := c.Publish(ctxT(t), "secure", []byte("x"), 2, nil); err != nil {
		t.Fatal(err)
	}
	untrusting := mqtt.New(mqtt.Options{Addr: b.Addr, TLS: &tls.Config{}})
	defer untrusting.Close()
	if err := untrusting.Publish(ctxT(t), "secure", []byte("x"), 0, nil); err == nil {
		t.Fatal("a self-signed certificate was trusted without its pool")
	}
}

// A lost connection is replaced on the next Publish.
func TestReconnect(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	c := mqtt.New(mqtt.Options{Addr: b.Addr, Version: mqtt.V311})
	defer c.Close()
	for i := 0; i < 3; i++ {
		if err := c.Publish(ctxT(t), "t", []byte{byte(i)}, 1, nil); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		b.DropConnections()
	}
	if n := len(b.Received()); n != 3 {
		t.Fatalf("broker has %d messages, want 3", n)
	}
}

// A QoS 1/2 publish whose connection drops before the acknowledgement is
// sent again (with DUP) on a new connection: at least once, never lost.
func TestResendAfterConnectionLoss(t *testing.T) {
	for _, qos := range []byte{1, 2} {
		b := mqtttest.Start(t, mqtttest.Options{})
		c := mqtt.New(mqtt.Options{Addr: b.Addr})
		b.DropBeforeAck(1)
		if err := c.Publish(ctxT(t), "t", []byte("once"), qos, nil); err != nil {
			t.Fatalf("QoS %d: %v", qos, err)
		}
		got := b.Received()
		if len(got) != 2 || got[0].Publish.Dup || !got[1].Publish.Dup {
			t.Fatalf("QoS %d: broker got %d copies %+v, want the original then a DUP", qos, len(got), got)
		}
		c.Close()
	}
}

// Concurrent publishes respect the broker's Receive Maximum (MQTT 5.0,
// 4.9): this broker disconnects a client that exceeds it.
func TestReceiveMaximum(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{ReceiveMaximum: 2})
	c := mqtt.New(mqtt.Options{Addr: b.Addr})
	defer c.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- c.Publish(ctxT(t), "t", []byte{byte(i)}, byte(1+i%2), nil)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(b.Received()); n != 40 {
		t.Fatalf("broker has %d messages, want 40 (no resends expected)", n)
	}
}

func TestMaximumQoS(t *testing.T) {
	one := byte(1)
	b := mqtttest.Start(t, mqtttest.Options{MaximumQoS: &one})
	c := mqtt.New(mqtt.Options{Addr: b.Addr})
	defer c.Close()
	var re *mqtt.ReasonError
	if err := c.Publish(ctxT(t), "t", nil, 2, nil); !errors.As(err, &re) || re.Code != 0x9b {
		t.Fatalf("QoS 2 above the broker's maximum: %v", err)
	}
	if err := c.Publish(ctxT(t), "t", nil, 1, nil); err != nil {
		t.Fatal(err)
	}
}

func TestBadTopics(t *testing.T) {
	c := mqtt.New(mqtt.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	for _, topic := range []string{"", "a/#", "a/+/b", "nul\x00"} {
		if err := c.Publish(ctxT(t), topic, nil, 0, nil); err == nil {
			t.Errorf("topic %q accepted", topic)
		}
	}
}

// silentBroker accepts one connection, answers CONNECT, then reads and
// counts packets without ever answering; closed is closed when the client
// closes the connection.
func silentBroker(t *testing.T) (addr string, pings, closed chan struct{}) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	pings, closed = make(chan struct{}, 100), make(chan struct{})
	go func() {
		defer close(closed)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		if _, err := mqtt.ReadPacket(br, mqtt.V5, 1<<20); err != nil {
			return
		}
		b, _ := mqtt.Encode(&mqtt.Connack{}, mqtt.V5)
		nc.Write(b)
		for {
			p, err := mqtt.ReadPacket(br, mqtt.V5, 1<<20)
			if err != nil {
				return
			}
			if _, ok := p.(*mqtt.Pingreq); ok {
				pings <- struct{}{}
			}
		}
	}()
	return ln.Addr().String(), pings, closed
}

func TestPublishHonoursContext(t *testing.T) {
	addr, _, _ := silentBroker(t)
	c := mqtt.New(mqtt.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := c.Publish(ctx, "t", []byte("x"), 1, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unacknowledged publish: %v, want the context's deadline", err)
	}
}

// An idle client pings; a broker that never answers is dropped after 1.5
// keep-alive periods (MQTT 5.0, 3.1.2.10).
func TestKeepAlive(t *testing.T) {
	addr, pings, closed := silentBroker(t)
	c := mqtt.New(mqtt.Options{Addr: addr, KeepAlive: time.Second})
	defer c.Close()
	start := time.Now()
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pings:
	case <-time.After(3 * time.Second):
		t.Fatal("no PINGREQ within 3 keep-alive periods")
	}
	select {
	case <-closed:
		if d := time.Since(start); d < 1500*time.Millisecond {
			t.Fatalf("dropped after %v, before 1.5 keep-alive periods", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client kept a silent broker's connection for 5 keep-alive periods")
	}
}

// A QoS 2 publish whose caller gives up still completes its handshake, and
// its packet identifier is not reused meanwhile: the broker would take a
// new message with it for a duplicate and drop it (MQTT 5.0, 4.3.3).
func TestAbandonedQoS2KeepsItsIdentifier(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type event struct {
		kind byte
		id   uint16
	}
	events := make(chan event, 10)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		br := bufio.NewReader(nc)
		send := func(p mqtt.Packet) { b, _ := mqtt.Encode(p, mqtt.V5); nc.Write(b) }
		if _, err := mqtt.ReadPacket(br, mqtt.V5, 1<<20); err != nil {
			return
		}
		send(&mqtt.Connack{})
		for {
			p, err := mqtt.ReadPacket(br, mqtt.V5, 1<<20)
			if err != nil {
				return
			}
			switch p := p.(type) {
			case *mqtt.Publish:
				events <- event{mqtt.PUBLISH, p.PacketID}
				if string(p.Payload) == "slow" {
					time.Sleep(300 * time.Millisecond)
				}
				send(&mqtt.Ack{Kind: mqtt.PUBREC, PacketID: p.PacketID})
			case *mqtt.Ack:
				events <- event{p.Kind, p.PacketID}
				if p.Kind == mqtt.PUBREL {
					send(&mqtt.Ack{Kind: mqtt.PUBCOMP, PacketID: p.PacketID})
				}
			}
		}
	}()
	c := mqtt.New(mqtt.Options{Addr: ln.Addr().String()})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Publish(ctx, "t", []byte("slow"), 2, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow publish: %v", err)
	}
	if err := c.Publish(ctxT(t), "t", []byte("next"), 2, nil); err != nil {
		t.Fatal(err)
	}
	var got []event
	for len(got) < 4 {
		select {
		case e := <-events:
			got = append(got, e)
		case <-time.After(3 * time.Second):
			t.Fatalf("events %v", got)
		}
	}
	first, second := got[0].id, got[1].id
	if got[0].kind != mqtt.PUBLISH || got[1].kind != mqtt.PUBLISH || first == second {
		t.Fatalf("events %v: want two PUBLISH with distinct identifiers", got)
	}
	rel := map[uint16]bool{}
	for _, e := range got[2:] {
		if e.kind == mqtt.PUBREL {
			rel[e.id] = true
		}
	}
	if !rel[first] || !rel[second] {
		t.Fatalf("events %v: want PUBREL for both identifiers", got)
	}
}

// BenchmarkPublish: notifications published per second through the
// in-process broker, sequentially (each waits for its handshake) and from
// 16 goroutines sharing one connection. QALA_MQTT_INTEROP=1 uses Mosquitto.
func BenchmarkPublish(b *testing.B) {
	addr := ""
	if os.Getenv("QALA_MQTT_INTEROP") == "1" {
		addr = "127.0.0.1:1883"
		if a := os.Getenv("QALA_MQTT_ADDR"); a != "" {
			addr = a
		}
	} else {
		addr = mqtttest.Start(b, mqtttest.Options{}).Addr
	}
	payload := []byte(notification)
	for _, v := range []mqtt.Version{mqtt.V311, mqtt.V5} {
		for qos := byte(0); qos <= 2; qos++ {
			for _, par := range []int{1, 16} {
				b.Run(fmt.Sprintf("%v/qos%d/conc%d", v, qos, par), func(b *testing.B) {
					c := mqtt.New(mqtt.Options{Addr: addr, Version: v})
					defer c.Close()
					ctx := context.Background()
					if err := c.Connect(ctx); err != nil {
						b.Fatal(err)
					}
					b.SetBytes(int64(len(payload)))
					b.ResetTimer()
					var wg sync.WaitGroup
					per := b.N/par + 1
					for g := 0; g < par; g++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for i := 0; i < per; i++ {
								if err := c.Publish(ctx, "bench/qala", payload, qos, nil); err != nil {
									b.Error(err)
									return
								}
							}
						}()
					}
					wg.Wait()
				})
			}
		}
	}
}
