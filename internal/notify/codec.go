package notify

import (
	"encoding/binary"
	"errors"
	"time"
)

// The on-disk encoding of outbox and dead-letter records: a version byte,
// then every field of a Message as uvarint-length-prefixed strings and
// varints, in the order of appendMessage. Dead letters prefix the message
// with the delivery record (attempts, status, last error, time).

const codecVersion = 1

var errCorrupt = errors.New("notify: corrupt record")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendPairs(b []byte, kv []KeyValue) []byte {
	b = binary.AppendUvarint(b, uint64(len(kv)))
	for _, p := range kv {
		b = appendString(b, p.Key)
		b = appendString(b, p.Value)
	}
	return b
}

// appendMessage appends m's encoding to b.
func appendMessage(b []byte, m *Message) []byte {
	b = append(b, codecVersion)
	b = appendString(b, m.ID)
	b = appendString(b, m.Tenant)
	b = appendString(b, m.Subscription)
	b = appendString(b, m.Endpoint.URI)
	b = appendString(b, m.Endpoint.Accept)
	b = appendPairs(b, m.Endpoint.ReceiverInfo)
	b = appendPairs(b, m.Endpoint.NotifierInfo)
	b = binary.AppendVarint(b, int64(m.Endpoint.Timeout))
	b = binary.AppendVarint(b, int64(m.Endpoint.Cooldown))
	b = appendString(b, m.ContentType)
	b = appendString(b, m.Link)
	b = appendString(b, string(m.Body))
	b = binary.AppendUvarint(b, m.Seq)
	var created int64
	if !m.Created.IsZero() {
		created = m.Created.UnixNano()
	}
	return binary.AppendVarint(b, created)
}

// decoder reads a record; the first malformed field sets err and every
// later read returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) pairs() []KeyValue {
	n := d.uvarint()
	if d.err != nil || n == 0 {
		return nil
	}
	if n > uint64(len(d.b))/2 { // every pair takes at least two bytes
		d.err = errCorrupt
		return nil
	}
	kv := make([]KeyValue, 0, n)
	for range n {
		k := d.string()
		v := d.string()
		if d.err != nil {
			return nil
		}
		kv = append(kv, KeyValue{Key: k, Value: v})
	}
	return kv
}

// peekSubscription returns the subscription of an encoded message without
// decoding the rest ("" when malformed).
func peekSubscription(b []byte) string {
	if len(b) == 0 || b[0] != codecVersion {
		return ""
	}
	d := &decoder{b: b[1:]}
	d.bytes() // ID
	d.bytes() // Tenant
	return d.string()
}

// decodeMessage decodes a record made by appendMessage. The Body is copied.
func decodeMessage(b []byte) (*Message, error) {
	if len(b) == 0 || b[0] != codecVersion {
		return nil, errCorrupt
	}
	d := &decoder{b: b[1:]}
	m := &Message{}
	m.ID = d.string()
	m.Tenant = d.string()
	m.Subscription = d.string()
	m.Endpoint.URI = d.string()
	m.Endpoint.Accept = d.string()
	m.Endpoint.ReceiverInfo = d.pairs()
	m.Endpoint.NotifierInfo = d.pairs()
	m.Endpoint.Timeout = time.Duration(d.varint())
	m.Endpoint.Cooldown = time.Duration(d.varint())
	m.ContentType = d.string()
	m.Link = d.string()
	if body := d.bytes(); len(body) > 0 {
		m.Body = append([]byte(nil), body...)
	}
	m.Seq = d.uvarint()
	if c := d.varint(); c != 0 {
		m.Created = time.Unix(0, c)
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, errCorrupt
	}
	return m, nil
}

// deadRecord is a dead letter: a message that exhausted its retries (or was
// refused permanently), with how its delivery went.
type deadRecord struct {
	Attempts int
	Status   int
	Err      string
	At       time.Time // when it was dead-lettered
	Msg      *Message
}

func appendDead(b []byte, r *deadRecord) []byte {
	b = append(b, codecVersion)
	b = binary.AppendUvarint(b, uint64(r.Attempts))
	b = binary.AppendUvarint(b, uint64(r.Status))
	b = appendString(b, r.Err)
	b = binary.AppendVarint(b, r.At.UnixNano())
	return appendMessage(b, r.Msg)
}

func decodeDead(b []byte) (*deadRecord, error) {
	if len(b) == 0 || b[0] != codecVersion {
		return nil, errCorrupt
	}
	d := &decoder{b: b[1:]}
	r := &deadRecord{}
	r.Attempts = int(d.uvarint() & 0xffffffff)
	r.Status = int(d.uvarint() & 0xffff)
	r.Err = d.string()
	r.At = time.Unix(0, d.varint())
	if d.err != nil {
		return nil, d.err
	}
	m, err := decodeMessage(d.b)
	if err != nil {
		return nil, err
	}
	r.Msg = m
	return r, nil
}
