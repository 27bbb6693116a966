package notify

import (
	"encoding/binary"
	"hash/fnv"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// Keys of the notify database:
//
//	'o' hash(8) seq(8) -> message   the outbox, by endpoint then order of arrival
//	'd' seq(8)         -> dead letter (deadRecord), oldest first
//
// hash is FNV-1a 64 of the endpoint key (stable across restarts); seq is a
// dispatcher-wide sequence number, starting above every stored one and at
// least the clock in nanoseconds, so it grows across restarts.
const (
	prefixOutbox byte = 'o'
	prefixDead   byte = 'd'
)

func hashKey(k string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(k))
	return h.Sum64()
}

func outboxKey(hash, seq uint64) []byte {
	k := make([]byte, 17)
	k[0] = prefixOutbox
	binary.BigEndian.PutUint64(k[1:], hash)
	binary.BigEndian.PutUint64(k[9:], seq)
	return k
}

// outboxBounds are the bounds of endpoint hash's outbox from seq on.
func outboxBounds(hash, seq uint64) (lo, hi []byte) {
	lo = outboxKey(hash, seq)
	hi = make([]byte, 9)
	hi[0] = prefixOutbox
	if hash == ^uint64(0) {
		hi[0]++
		return lo, hi[:1]
	}
	binary.BigEndian.PutUint64(hi[1:], hash+1)
	return lo, hi
}

func parseOutboxKey(k []byte) (hash, seq uint64, ok bool) {
	if len(k) != 17 || k[0] != prefixOutbox {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(k[1:]), binary.BigEndian.Uint64(k[9:]), true
}

// loadOutbox creates a queue for every endpoint with messages in the
// outbox, marked as having them all there (spilled), and counts them. It
// returns the largest sequence number seen.
func (d *Dispatcher) loadOutbox() (uint64, error) {
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixOutbox}, UpperBound: []byte{prefixOutbox + 1}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var maxSeq uint64
	var q *queue
	var corrupt int
	for it.First(); it.Valid(); it.Next() {
		hash, seq, ok := parseOutboxKey(it.Key())
		if !ok {
			corrupt++
			continue
		}
		maxSeq = max(maxSeq, seq)
		if q == nil || q.hash != hash {
			v, err := it.ValueAndErr()
			if err != nil {
				return 0, err
			}
			m, err := decodeMessage(v)
			if err != nil {
				// The loader deletes it when it reaches it.
				m = &Message{Endpoint: Endpoint{URI: "invalid:"}}
			}
			q = d.newQueue(hash, m.Endpoint.URI)
			q.spilled = true
			d.queues[hash] = q
		}
		q.stored++
		d.stored.Add(1)
		v, err := it.ValueAndErr()
		if err != nil {
			return 0, err
		}
		d.subDepth(peekSubscription(v)).Add(1)
	}
	if corrupt > 0 {
		d.log.Warn("notification outbox: malformed keys ignored", "count", corrupt)
	}
	return maxSeq, it.Error()
}

// load moves messages of q from the outbox into memory, from q.loadFrom
// on, skipping those already there, until the queue is full or the outbox
// has no more; then the queue is no longer spilled. q.mu is held: an
// Enqueue for q waits meanwhile, and a message whose outbox deletion is
// being written is still in q.present, so nothing is loaded twice.
func (q *queue) load() {
	d := q.d
	lo, hi := outboxBounds(q.hash, q.loadFrom)
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		q.loadErr(err)
		return
	}
	defer it.Close()
	var bad [][]byte
	var badSubs []string
	for it.First(); it.Valid(); it.Next() {
		_, seq, _ := parseOutboxKey(it.Key())
		if _, ok := q.present[seq]; ok {
			continue
		}
		if q.full() {
			q.loadFrom = seq
			return
		}
		v, err := it.ValueAndErr()
		if err != nil {
			q.loadErr(err)
			return
		}
		m, err := decodeMessage(v)
		if err != nil {
			bad = append(bad, append([]byte(nil), it.Key()...))
			badSubs = append(badSubs, peekSubscription(v))
			continue
		}
		q.push(&item{seq: seq, msg: m, enqueued: m.Created, size: len(m.Body), loaded: true})
	}
	if err := it.Error(); err != nil {
		q.loadErr(err)
		return
	}
	q.spilled = false
	if len(bad) > 0 {
		d.log.Error("notification outbox: undecodable messages dropped", "endpoint", q.label, "count", len(bad))
		b := d.db.NewBatch()
		for _, k := range bad {
			b.Delete(k, nil)
		}
		b.Commit(pebble.NoSync)
		b.Close()
		q.stored -= len(bad)
		d.stored.Add(-int64(len(bad)))
		for _, s := range badSubs {
			d.subDepth(s).Add(-1)
		}
	}
}

func (q *queue) loadErr(err error) {
	q.lastErr = "reading the outbox: " + err.Error()
	q.d.log.Error("notification outbox: read failed", "endpoint", q.label, "err", err)
}

// delReq asks the deleter to remove a delivered message from the outbox.
type delReq struct {
	q   *queue
	seq uint64
	sub string // the message's subscription
}

// deleter removes delivered messages from the outbox in batches, without
// fsync (a deletion lost in a crash means one more delivery, which
// at-least-once allows), then forgets them in their queues. On Close it
// writes the last batch with fsync.
func (d *Dispatcher) deleter() {
	defer close(d.delDone)
	reqs := make([]delReq, 0, 1024)
	for r := range d.del {
		reqs = append(reqs[:0], r)
	more:
		for len(reqs) < cap(reqs) {
			select {
			case r, ok := <-d.del:
				if !ok {
					break more
				}
				reqs = append(reqs, r)
			default:
				break more
			}
		}
		b := d.db.NewBatch()
		for _, r := range reqs {
			b.Delete(outboxKey(r.q.hash, r.seq), nil)
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			d.log.Error("notification outbox: delete failed", "err", err)
		}
		b.Close()
		d.forget(reqs)
	}
	d.db.LogData(nil, pebble.Sync)
}

// forget removes delivered or dead-lettered messages from their queues'
// bookkeeping once their outbox records are gone.
func (d *Dispatcher) forget(reqs []delReq) {
	var q *queue
	for _, r := range reqs {
		if r.q != q {
			if q != nil {
				q.mu.Unlock()
			}
			q = r.q
			q.mu.Lock()
		}
		delete(q.present, r.seq)
		q.stored--
		d.subDepth(r.sub).Add(-1)
	}
	if q != nil {
		q.mu.Unlock()
	}
	d.stored.Add(-int64(len(reqs)))
}

// subDepth is the counter of messages of subscription sub in the outbox.
func (d *Dispatcher) subDepth(sub string) *atomic.Int64 {
	if c, ok := d.bySub.Load(sub); ok {
		return c.(*atomic.Int64)
	}
	c, _ := d.bySub.LoadOrStore(sub, new(atomic.Int64))
	return c.(*atomic.Int64)
}
