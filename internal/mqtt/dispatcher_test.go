package mqtt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/mqtt"
	"github.com/qala-city/qala/internal/mqtt/mqtttest"
	"github.com/qala-city/qala/internal/notify"
)

func openDispatcher(t *testing.T, o notify.Options) *notify.Dispatcher {
	t.Helper()
	n := &mqtt.Notifier{}
	o.Dir, o.NoSync = t.TempDir(), true
	o.Transports = map[string]notify.Transport{"mqtt": n, "mqtts": n}
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if o.BackoffBase == 0 {
		o.BackoffBase = 20 * time.Millisecond
	}
	d, err := notify.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// distinctIDs counts the distinct notification ids the broker accepted.
func distinctIDs(b *mqtttest.Broker) int {
	ids := map[string]bool{}
	for _, r := range b.Received() {
		var m struct{ Body struct{ ID string } }
		if json.Unmarshal(r.Publish.Payload, &m) == nil {
			ids[m.Body.ID] = true
		}
	}
	return len(ids)
}

// The Dispatcher delivers MQTT notifications through the Notifier at least
// once while the broker drops every connection several times.
func TestDispatcherOverMQTT(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	d := openDispatcher(t, notify.Options{})
	const N = 300
	var msgs []*notify.Message
	for i := 0; i < N; i++ {
		m := message(b.URI("", "city/notify"),
			notify.KeyValue{Key: "MQTT-QoS", Value: fmt.Sprint(1 + i%2)},
			notify.KeyValue{Key: "MQTT-Version", Value: []string{"mqtt3.1.1", "mqtt5.0"}[i%2]})
		m.ID = fmt.Sprintf("urn:ngsi-ld:Notification:%d", i)
		m.Seq = uint64(i + 1)
		m.Body = []byte(fmt.Sprintf(`{"id":%q,"type":"Notification"}`, m.ID))
		msgs = append(msgs, m)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 5; i++ {
			time.Sleep(20 * time.Millisecond)
			b.DropConnections()
		}
	}()
	if err := d.Enqueue(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	<-done
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && distinctIDs(b) < N {
		time.Sleep(50 * time.Millisecond)
	}
	if got := distinctIDs(b); got != N {
		t.Fatalf("broker has %d distinct notifications of %d", got, N)
	}
	t.Logf("%d publishes for %d notifications", len(b.Received()), N)
}

// A malformed MQTT endpoint is dead-lettered after one attempt (no retry
// can fix it); a broker that is down is retried; neither holds up a healthy
// broker's notifications.
func TestDispatcherMQTTFailures(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	var mu sync.Mutex
	attempts := map[string][]notify.Attempt{}
	d := openDispatcher(t, notify.Options{MaxRetries: 2, OnAttempt: func(a notify.Attempt) {
		mu.Lock()
		attempts[a.Msg.ID] = append(attempts[a.Msg.ID], a)
		mu.Unlock()
	}})
	bad := message("mqtt://" + b.Addr + "/a/+")
	bad.ID = "bad"
	dead := message("mqtt://" + down + "/t")
	dead.ID = "down"
	var good []*notify.Message
	for i := 0; i < 20; i++ {
		m := message(b.URI("", "ok"), notify.KeyValue{Key: "MQTT-QoS", Value: "1"})
		m.ID = fmt.Sprint("good-", i)
		m.Body = []byte(fmt.Sprintf(`{"id":%q}`, m.ID))
		good = append(good, m)
	}
	if err := d.Enqueue(context.Background(), append([]*notify.Message{bad, dead}, good...)); err != nil {
		t.Fatal(err)
	}
	final := func(id string) (n int, ok bool) {
		mu.Lock()
		defer mu.Unlock()
		as := attempts[id]
		return len(as), len(as) > 0 && as[len(as)-1].Final
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, b1 := final("bad")
		_, b2 := final("down")
		if b1 && b2 && distinctIDs(b) == 20 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n, ok := final("bad"); !ok || n != 1 {
		t.Errorf("malformed endpoint: %d attempts (final %v), want 1 final", n, ok)
	}
	if n, ok := final("down"); !ok || n != 3 {
		t.Errorf("broker down: %d attempts (final %v), want 3 (1 + MaxRetries 2)", n, ok)
	}
	if got := distinctIDs(b); got != 20 {
		t.Errorf("healthy broker has %d of 20", got)
	}
}
