package notify

import "sync/atomic"

// waiter is an Enqueue call waiting for the messages it holds only in
// memory to be delivered (or persisted).
type waiter struct {
	groups map[*queue][]*item // the held messages by queue
	left   atomic.Int64       // those neither delivered nor durable yet
	done   chan struct{}      // closed when left reaches 0
}

func newWaiter() *waiter {
	w := &waiter{groups: map[*queue][]*item{}, done: make(chan struct{})}
	w.left.Store(1)
	return w
}

// release counts one message as delivered or durable.
func (w *waiter) release() {
	if w.left.Add(-1) == 0 {
		close(w.done)
	}
}

// persist writes the messages of w that are still held only in memory to
// the outbox (one synced batch), so that Enqueue can return before they
// are delivered. Their queues are marked behind: until they catch up, new
// messages are written first.
func (d *Dispatcher) persist(w *waiter) error {
	b := d.db.NewBatch()
	defer b.Close()
	var buf []byte
	taken := make(map[*queue][]*item, len(w.groups))
	for q, its := range w.groups {
		var mine []*item
		q.mu.Lock()
		for _, it := range its {
			if it.w != nil {
				it.writing = true
				mine = append(mine, it)
			}
		}
		if len(mine) > 0 {
			q.behind = true
		}
		q.mu.Unlock()
		for _, it := range mine {
			buf = appendMessage(buf[:0], it.msg)
			b.Set(outboxKey(q.hash, it.seq), buf, nil)
		}
		taken[q] = mine
	}
	err := b.Commit(d.wopts)
	var dels []delReq
	for q, its := range taken {
		q.mu.Lock()
		for _, it := range its {
			it.writing = false
			if err != nil && !it.done {
				continue // still held: delivered later, or sent again after a replay
			}
			if err == nil {
				q.stored++
				d.stored.Add(1)
				d.subDepth(it.msg.Subscription).Add(1)
				if it.done {
					dels = append(dels, delReq{q: q, seq: it.seq, sub: it.msg.Subscription})
				} else {
					q.present[it.seq] = struct{}{}
				}
			}
			it.w.release()
			it.w = nil
		}
		q.mu.Unlock()
	}
	for _, r := range dels {
		d.del <- r
	}
	return err
}
