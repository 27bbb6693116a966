package mqtt

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Client.
type Options struct {
	Addr     string      // host:port of the broker
	TLS      *tls.Config // non-nil: connect with TLS (mqtts)
	Version  Version     // V311 or V5; 0 means V5
	ClientID string      // "" means a random "qala-…" id
	Username *string
	Password *string
	// KeepAlive is sent in CONNECT; the client pings when idle for half of
	// it and drops a connection silent for 1.5 times it. 0 means 30 s.
	KeepAlive   time.Duration
	DialTimeout time.Duration // TCP, TLS and CONNACK; 0 means 10 s
	// WriteTimeout bounds one packet write; 0 means 10 s.
	WriteTimeout time.Duration
	// MaxInflight bounds unacknowledged QoS 1/2 publishes; the broker's
	// Receive Maximum lowers it. 0 means 64.
	MaxInflight   int
	MaxPacketSize int // largest packet accepted from the broker; 0 means 16 MiB
	// OnMessage receives PUBLISH packets of subscriptions, on the reading
	// goroutine (it must not block for long). A QoS 2 message is passed once
	// per packet identifier until released.
	OnMessage func(*Publish)
}

// Client is an MQTT client connection that reconnects on demand: a Publish
// or Subscribe after the connection was lost dials again. The session is
// clean (CleanStart): QoS 1/2 publishes in flight when a connection drops
// are sent again on the next connection, so a message may be delivered
// twice across a reconnect but is never silently lost while its Publish
// call waits.
type Client struct {
	opts  Options
	slots *sem

	mu       sync.Mutex
	cn       *conn
	dialing  chan struct{} // closed when the dial in progress ends
	closed   bool
	nextID   uint16
	inflight map[uint16]*op
	subs     []Subscription
}

// op is a QoS 1/2 PUBLISH or a SUBSCRIBE awaiting its acknowledgement.
type op struct {
	granted   byte  // SUBSCRIBE: the QoS the SUBACK granted
	abandoned *conn // PUBLISH: the caller gave up while its handshake was open on this connection
	done      chan error
}

func (o *op) finish(err error) {
	select {
	case o.done <- err:
	default:
	}
}

// conn is one network connection and its CONNACK's limits.
type conn struct {
	c         *Client
	nc        net.Conn
	v         Version
	wmu       sync.Mutex
	bw        *bufio.Writer
	dead      chan struct{}
	once      sync.Once
	err       error
	lastWrite atomic.Int64
	lastRead  atomic.Int64
	maxQoS    byte
	maxPacket int
	incoming  map[uint16]bool // QoS 2 packet ids received, not yet released
}

// New returns a client; it connects on the first Publish, Subscribe or
// Connect.
func New(opts Options) *Client {
	if opts.Version == 0 {
		opts.Version = V5
	}
	if opts.ClientID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		opts.ClientID = "qala-" + hex.EncodeToString(b[:])
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 30 * time.Second
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 10 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.MaxInflight <= 0 || opts.MaxInflight > 65535 {
		opts.MaxInflight = 64
	}
	if opts.MaxPacketSize <= 0 {
		opts.MaxPacketSize = 16 << 20
	}
	return &Client{opts: opts, slots: newSem(opts.MaxInflight), inflight: map[uint16]*op{}}
}

// Connect makes sure the client is connected.
func (c *Client) Connect(ctx context.Context) error {
	_, err := c.ensure(ctx)
	return err
}

// Publish sends payload to topic and returns when the QoS handshake has
// completed: at once for QoS 0, on PUBACK for 1, on PUBCOMP for 2. props
// (MQTT 5.0 only) are sent as the PUBLISH properties. A broker refusal is a
// *ReasonError. If the connection drops before the acknowledgement, the
// message is sent again on a new connection (at most three connections).
func (c *Client) Publish(ctx context.Context, topic string, payload []byte, qos byte, props Properties) error {
	if qos > 2 {
		return fmt.Errorf("mqtt: QoS %d", qos)
	}
	if err := checkTopicName(topic, false); err != nil {
		return err
	}
	if err := checkString(topic); err != nil {
		return err
	}
	if c.opts.Version != V5 {
		props = nil
	}
	p := &Publish{Topic: topic, QoS: qos, Props: props, Payload: payload}
	if qos == 0 {
		cn, err := c.ensure(ctx)
		if err != nil {
			return err
		}
		return cn.write(p)
	}
	// Connect first: the CONNACK's Receive Maximum sets the slots' limit.
	if _, err := c.ensure(ctx); err != nil {
		return err
	}
	if err := c.slots.acquire(ctx); err != nil {
		return err
	}
	defer c.slots.release()
	id, o, err := c.register()
	if err != nil {
		return err
	}
	p.PacketID = id
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		cn, err := c.ensure(ctx)
		if err != nil {
			c.unregister(id)
			return err
		}
		if qos > cn.maxQoS {
			c.unregister(id)
			return &ReasonError{Packet: PUBLISH, Code: 0x9b, Version: cn.v,
				Reason: fmt.Sprintf("the broker's Maximum QoS is %d", cn.maxQoS)}
		}
		p.Dup = attempt > 0
		if err := cn.write(p); err != nil {
			if !cn.isDead() { // refused before sending (e.g. too large): no retry helps
				c.unregister(id)
				return err
			}
			lastErr = err
			continue
		}
		select {
		case err := <-o.done:
			c.unregister(id)
			return err
		case <-cn.dead:
			lastErr = cn.err
		case <-ctx.Done():
			// The broker may still hold the message: keep its packet
			// identifier reserved until the handshake ends or the
			// connection does, so that a new message never reuses an
			// identifier the broker would take for a duplicate
			// (MQTT 5.0, 4.3.3).
			c.mu.Lock()
			o.abandoned = cn
			c.mu.Unlock()
			if cn.isDead() {
				c.unregister(id)
			}
			return ctx.Err()
		}
	}
	c.unregister(id)
	return fmt.Errorf("mqtt: publish to %s: connection lost: %w", topic, lastErr)
}

// Subscribe subscribes to filter with maximum QoS qos and returns the
// granted QoS. The subscription is renewed on every new connection.
func (c *Client) Subscribe(ctx context.Context, filter string, qos byte) (byte, error) {
	sub := Subscription{Filter: filter, Options: qos}
	if err := checkSubscription(sub, c.opts.Version); err != nil {
		return 0, err
	}
	cn, err := c.ensure(ctx)
	if err != nil {
		return 0, err
	}
	granted, err := c.subscribe(ctx, cn, sub)
	if err == nil {
		c.mu.Lock()
		c.subs = append(c.subs, sub)
		c.mu.Unlock()
	}
	return granted, err
}

func (c *Client) subscribe(ctx context.Context, cn *conn, sub Subscription) (byte, error) {
	id, o, err := c.register()
	if err != nil {
		return 0, err
	}
	defer c.unregister(id)
	if err := cn.write(&Subscribe{PacketID: id, Subs: []Subscription{sub}}); err != nil {
		return 0, err
	}
	select {
	case err := <-o.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return o.granted, err
	case <-cn.dead:
		return 0, cn.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (c *Client) register() (uint16, *op, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, nil, ErrClosed
	}
	for {
		c.nextID++
		if c.nextID != 0 && c.inflight[c.nextID] == nil {
			break
		}
	}
	o := &op{done: make(chan error, 1)}
	c.inflight[c.nextID] = o
	return c.nextID, o, nil
}

func (c *Client) unregister(id uint16) {
	c.mu.Lock()
	delete(c.inflight, id)
	c.mu.Unlock()
}

// Close sends DISCONNECT, closes the connection and fails calls in flight.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cn := c.cn
	for _, o := range c.inflight {
		o.finish(ErrClosed)
	}
	c.mu.Unlock()
	if cn != nil {
		_ = cn.write(&Disconnect{})
		cn.kill(ErrClosed)
	}
	return nil
}

// ensure returns the live connection, dialling one if there is none; one
// dial at a time, shared by concurrent callers.
func (c *Client) ensure(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		if c.cn != nil && !c.cn.isDead() {
			cn := c.cn
			c.mu.Unlock()
			return cn, nil
		}
		if w := c.dialing; w != nil {
			c.mu.Unlock()
			select {
			case <-w:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		w := make(chan struct{})
		c.dialing = w
		subs := append([]Subscription(nil), c.subs...)
		c.mu.Unlock()

		cn, err := c.dial(ctx)
		c.mu.Lock()
		c.dialing = nil
		close(w)
		if err == nil && c.closed {
			cn.kill(ErrClosed)
			err = ErrClosed
		}
		if err == nil {
			c.cn = cn
		}
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		for _, s := range subs { // renew the subscriptions of the lost session
			if _, err := c.subscribe(ctx, cn, s); err != nil {
				return nil, fmt.Errorf("mqtt: renewing subscription %q: %w", s.Filter, err)
			}
		}
		return cn, nil
	}
}

func (c *Client) dial(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	if c.opts.TLS != nil {
		cfg := c.opts.TLS.Clone()
		if cfg.ServerName == "" {
			host, _, _ := net.SplitHostPort(c.opts.Addr)
			cfg.ServerName = host
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("mqtt: TLS with %s: %w", c.opts.Addr, err)
		}
		nc = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	cn := &conn{c: c, nc: nc, v: c.opts.Version, bw: bufio.NewWriter(nc), dead: make(chan struct{}),
		maxQoS: 2, maxPacket: maxRemaining + 5, incoming: map[uint16]bool{}}
	connect := &Connect{Version: c.opts.Version, CleanStart: true, ClientID: c.opts.ClientID,
		KeepAlive: uint16(min(c.opts.KeepAlive/time.Second, 65535)), Username: c.opts.Username, Password: c.opts.Password}
	if connect.Version == V5 {
		connect.Props = Properties{{ID: PropMaximumPacketSize, Int: uint32(min(c.opts.MaxPacketSize, maxRemaining))}}
	}
	br := bufio.NewReader(nc)
	ack, err := func() (*Connack, error) {
		if err := cn.write(connect); err != nil {
			return nil, err
		}
		p, err := ReadPacket(br, cn.v, c.opts.MaxPacketSize)
		if err != nil {
			return nil, fmt.Errorf("mqtt: reading CONNACK from %s: %w", c.opts.Addr, err)
		}
		ack, ok := p.(*Connack)
		if !ok {
			return nil, fmt.Errorf("mqtt: %s sent %s instead of CONNACK", c.opts.Addr, packetName(p.Type()))
		}
		return ack, nil
	}()
	if err != nil {
		nc.Close()
		return nil, err
	}
	if ack.Reason != 0 {
		nc.Close()
		return nil, &ReasonError{Packet: CONNACK, Code: ack.Reason, Version: cn.v, Reason: ack.Props.String(PropReasonString)}
	}
	_ = nc.SetDeadline(time.Time{})
	keepAlive := c.opts.KeepAlive
	if cn.v == V5 {
		cn.maxQoS = byte(ack.Props.Int(PropMaximumQoS, 2))
		cn.maxPacket = int(ack.Props.Int(PropMaximumPacketSize, uint32(cn.maxPacket)))
		c.slots.setLimit(min(c.opts.MaxInflight, int(ack.Props.Int(PropReceiveMaximum, 65535))))
		if ka, ok := ack.Props.Get(PropServerKeepAlive); ok {
			keepAlive = time.Duration(ka.Int) * time.Second
		}
	}
	now := time.Now().UnixNano()
	cn.lastRead.Store(now)
	cn.lastWrite.Store(now)
	go cn.readLoop(br)
	if keepAlive > 0 {
		go cn.keepAlive(keepAlive)
	}
	return cn, nil
}

func (cn *conn) isDead() bool {
	select {
	case <-cn.dead:
		return true
	default:
		return false
	}
}

func (cn *conn) kill(err error) {
	cn.once.Do(func() {
		cn.err = err
		close(cn.dead)
		cn.nc.Close()
	})
}

func (cn *conn) write(p Packet) error {
	b, err := Encode(p, cn.v)
	if err != nil {
		return err
	}
	if len(b) > cn.maxPacket {
		return &ReasonError{Packet: p.Type(), Code: 0x95, Version: cn.v,
			Reason: fmt.Sprintf("%d bytes, the broker's Maximum Packet Size is %d", len(b), cn.maxPacket)}
	}
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	if cn.isDead() {
		return fmt.Errorf("mqtt: connection lost: %w", cn.err)
	}
	_ = cn.nc.SetWriteDeadline(time.Now().Add(cn.c.opts.WriteTimeout))
	if _, err = cn.bw.Write(b); err == nil {
		err = cn.bw.Flush()
	}
	if err != nil {
		cn.kill(err)
		return fmt.Errorf("mqtt: write: %w", err)
	}
	cn.lastWrite.Store(time.Now().UnixNano())
	return nil
}

func (cn *conn) keepAlive(ka time.Duration) {
	t := time.NewTicker(ka / 4)
	defer t.Stop()
	for {
		select {
		case <-cn.dead:
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		if time.Duration(now-cn.lastRead.Load()) > ka*3/2 {
			cn.kill(errors.New("mqtt: keep-alive timeout: the broker is silent"))
			return
		}
		if time.Duration(now-cn.lastWrite.Load()) >= ka/2 || time.Duration(now-cn.lastRead.Load()) >= ka/2 {
			_ = cn.write(&Pingreq{})
		}
	}
}

func (cn *conn) readLoop(br *bufio.Reader) {
	c := cn.c
	for {
		p, err := ReadPacket(br, cn.v, c.opts.MaxPacketSize)
		if err == nil {
			cn.lastRead.Store(time.Now().UnixNano())
			err = cn.handle(p)
		}
		if err != nil {
			cn.kill(err)
			c.mu.Lock()
			for id, o := range c.inflight {
				if o.abandoned == cn { // the session, and with it the handshake, is gone
					delete(c.inflight, id)
				}
			}
			c.mu.Unlock()
			return
		}
	}
}

func (cn *conn) handle(p Packet) error {
	c := cn.c
	switch p := p.(type) {
	case *Publish:
		switch p.QoS {
		case 0:
			cn.deliver(p)
		case 1:
			cn.deliver(p)
			return cn.write(&Ack{Kind: PUBACK, PacketID: p.PacketID})
		case 2:
			if !cn.incoming[p.PacketID] {
				cn.incoming[p.PacketID] = true
				cn.deliver(p)
			}
			return cn.write(&Ack{Kind: PUBREC, PacketID: p.PacketID})
		}
	case *Ack:
		if p.Kind == PUBREL {
			delete(cn.incoming, p.PacketID)
			return cn.write(&Ack{Kind: PUBCOMP, PacketID: p.PacketID})
		}
		c.mu.Lock()
		o := c.inflight[p.PacketID]
		abandoned := o != nil && o.abandoned != nil
		if abandoned && (p.Kind != PUBREC || p.Reason >= 0x80) {
			delete(c.inflight, p.PacketID) // the abandoned handshake is over
		}
		c.mu.Unlock()
		switch {
		case o == nil:
			return nil
		case p.Reason >= 0x80:
			o.finish(&ReasonError{Packet: p.Kind, Code: p.Reason, Version: cn.v, Reason: p.Props.String(PropReasonString)})
		case p.Kind == PUBREC:
			return cn.write(&Ack{Kind: PUBREL, PacketID: p.PacketID})
		default:
			o.finish(nil)
		}
	case *Suback:
		c.mu.Lock()
		o := c.inflight[p.PacketID]
		if o != nil && p.Reasons[0] < 0x80 {
			o.granted = p.Reasons[0]
		}
		c.mu.Unlock()
		switch {
		case o == nil:
		case p.Reasons[0] >= 0x80:
			o.finish(&ReasonError{Packet: SUBACK, Code: p.Reasons[0], Version: cn.v, Reason: p.Props.String(PropReasonString)})
		default:
			o.finish(nil)
		}
	case *Pingresp:
	case *Disconnect:
		return &ReasonError{Packet: DISCONNECT, Code: p.Reason, Version: cn.v, Reason: p.Props.String(PropReasonString)}
	default:
		return fmt.Errorf("mqtt: unexpected %s from the broker", packetName(p.Type()))
	}
	return nil
}

func (cn *conn) deliver(p *Publish) {
	if f := cn.c.opts.OnMessage; f != nil {
		f(p)
	}
}

// sem is a counting semaphore whose limit can change.
type sem struct {
	mu    sync.Mutex
	n     int
	limit int
	wake  chan struct{}
}

func newSem(limit int) *sem { return &sem{limit: limit} }

func (s *sem) acquire(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.n < s.limit {
			s.n++
			s.mu.Unlock()
			return nil
		}
		if s.wake == nil {
			s.wake = make(chan struct{})
		}
		w := s.wake
		s.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *sem) release() { s.mu.Lock(); s.n--; s.signal(); s.mu.Unlock() }

func (s *sem) setLimit(n int) { s.mu.Lock(); s.limit = max(n, 1); s.signal(); s.mu.Unlock() }

func (s *sem) signal() {
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
}
