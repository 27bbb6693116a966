package mqtttest

import (
	"context"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/mqtt"
)

// Topic filters per MQTT 5.0, 4.7.1 and 4.7.2.
func TestMatch(t *testing.T) {
	cases := []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/b", "a/b/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+/c", "a/b/c", true},
		{"+/+", "/x", true},
		{"+", "/x", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/#", "ab", false},
		{"#", "a/b", true},
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
	}
	for _, c := range cases {
		if got := Match(c.filter, c.topic); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.filter, c.topic, got, c.want)
		}
	}
}

// The broker forwards at the lower of the publish and subscription QoS
// (MQTT 5.0, 3.8.4) and only to matching subscriptions.
func TestForwarding(t *testing.T) {
	b := Start(t, Options{})
	low := Subscribe(t, b.Addr, "city/#", SubscriberOptions{QoS: 1})
	other := Subscribe(t, b.Addr, "town/#", SubscriberOptions{Version: mqtt.V311})
	c := mqtt.New(mqtt.Options{Addr: b.Addr, Version: mqtt.V311})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Publish(ctx, "city/a", []byte("x"), 2, nil); err != nil {
		t.Fatal(err)
	}
	if m := low.Next(t, 5*time.Second); m.QoS != 1 || string(m.Payload) != "x" {
		t.Fatalf("forwarded %+v", m)
	}
	other.None(t, 50*time.Millisecond)
	if n := b.Connections(); n != 3 {
		t.Fatalf("%d connections, want 3", n)
	}
}
