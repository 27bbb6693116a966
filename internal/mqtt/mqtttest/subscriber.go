package mqtttest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/mqtt"
)

// Subscriber receives the messages of one topic filter, for tests.
type Subscriber struct {
	C        *mqtt.Client
	msgs     chan *mqtt.Publish
	filter   string
	overflow atomic.Bool // more than 1024 unread messages arrived
}

// SubscriberOptions configure Subscribe; zero values mean MQTT 5.0, QoS 2,
// no credentials and no TLS.
type SubscriberOptions struct {
	Version  mqtt.Version
	QoS      byte
	Username *string
	Password *string
	TLS      *tls.Config
}

// Subscribe connects to the broker at addr and subscribes to filter; the
// client is closed when the test ends.
func Subscribe(t testing.TB, addr, filter string, o SubscriberOptions) *Subscriber {
	t.Helper()
	if o.Version == 0 {
		o.Version = mqtt.V5
	}
	s := &Subscriber{msgs: make(chan *mqtt.Publish, 1024), filter: filter}
	s.C = mqtt.New(mqtt.Options{Addr: addr, Version: o.Version, Username: o.Username, Password: o.Password,
		TLS: o.TLS, OnMessage: func(p *mqtt.Publish) {
			select {
			case s.msgs <- p:
			default:
				s.overflow.Store(true)
			}
		}})
	t.Cleanup(func() { s.C.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.C.Subscribe(ctx, filter, o.QoS); err != nil {
		t.Fatalf("mqtttest: subscribe to %q at %s: %v", filter, addr, err)
	}
	return s
}

// Next returns the next message, failing the test after timeout.
func (s *Subscriber) Next(t testing.TB, timeout time.Duration) *mqtt.Publish {
	t.Helper()
	s.checkOverflow(t)
	select {
	case p := <-s.msgs:
		return p
	case <-time.After(timeout):
		t.Fatalf("mqtttest: no message on %q within %v", s.filter, timeout)
		return nil
	}
}

// None fails the test if a message arrives within d.
func (s *Subscriber) None(t testing.TB, d time.Duration) {
	t.Helper()
	s.checkOverflow(t)
	select {
	case p := <-s.msgs:
		t.Fatalf("mqtttest: unexpected message on %q: %s %q", s.filter, p.Topic, p.Payload)
	case <-time.After(d):
	}
}

func (s *Subscriber) checkOverflow(t testing.TB) {
	t.Helper()
	if s.overflow.Load() {
		t.Fatalf("mqtttest: subscriber of %q: more than 1024 unread messages, some dropped", s.filter)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mqtttest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
