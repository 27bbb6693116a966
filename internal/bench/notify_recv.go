package bench

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qala-city/qala/internal/jsondec"
)

// The notification suite's receivers: local HTTP listeners that take every
// notification, parse the NGSI-LD Notification (clause 5.3.1 of ETSI GS CIM
// 009: id, type, subscriptionId, notifiedAt, data), drop repeated
// notification ids, and tick off each data item against the plan in a
// ledger: which (subscription, update) pairs arrived, how late, and what
// arrived that the plan does not owe.

// maxNotification bounds the body a receiver reads.
const maxNotification = 16 << 20

// ledger records what the receivers got. Updates [start, start+len(masks))
// are tracked; those from measured on are the measured window (the others
// are the probe). Safe for concurrent use.
type ledger struct {
	plan     *notifyPlan
	start    int64
	measured int64
	masks    []atomic.Uint32 // per tracked update: the slots of its type delivered
	acked    []atomic.Bool   // per tracked update: the write was acknowledged
	perSub   []atomic.Int64  // measured items delivered, per subscription

	subMu    sync.RWMutex
	subIndex map[string]int // subscription id → index in the plan

	ids [64]idShard // notification ids seen

	messages   atomic.Int64 // notifications received (HTTP requests with a parsable body)
	items      atomic.Int64 // data items of those, after dropping repeated ids
	dupIDs     atomic.Int64 // notifications whose id had been received before
	repeated   atomic.Int64 // items for a (subscription, update) already delivered under another id
	unexpected atomic.Int64 // items the plan does not owe (wrong subscription, entity or update)
	before     atomic.Int64 // items for the entity's state before the tracked updates (initial notifications)
	malformed  atomic.Int64 // requests that are not a well-formed Notification of a known subscription
	sample     atomic.Pointer[string]

	delivered [2]atomic.Int64 // new (subscription, update) pairs: [0] probe, [1] measured
	lastRecv  atomic.Int64    // Unix ns of the last measured item delivered
	t0        atomic.Int64    // Unix ns the measured stream started
	seconds   []atomic.Int64  // measured items delivered in each second from t0 (the last one: later)
	latency   []latShard      // end to end, measured items
}

// idShard holds notification ids seen, by a 64-bit hash: a false
// duplicate among the suite's ~10^6 ids has a chance of about 10^-7.
type idShard struct {
	mu   sync.Mutex
	seen map[uint64]struct{}
}

type latShard struct {
	mu sync.Mutex
	h  Histogram
}

var idSeed = maphash.MakeSeed()

// newLedger tracks updates [start, start+n), measured from measured on,
// counting deliveries per second over secs seconds from the measured
// stream's start (see startMeasured).
func newLedger(plan *notifyPlan, start, measured, n int64, shards, secs int) *ledger {
	l := &ledger{plan: plan, start: start, measured: measured, seconds: make([]atomic.Int64, max(1, secs)),
		masks: make([]atomic.Uint32, n), acked: make([]atomic.Bool, n),
		perSub: make([]atomic.Int64, plan.Subs()), subIndex: map[string]int{},
		latency: make([]latShard, max(1, shards))}
	for i := range l.ids {
		l.ids[i].seen = map[uint64]struct{}{}
	}
	return l
}

// startMeasured records when the measured stream starts.
func (l *ledger) startMeasured(t time.Time) { l.t0.Store(t.UnixNano()) }

// perSecond returns the measured items delivered in each whole second from
// the measured stream's start, up to the last second with a delivery.
func (l *ledger) perSecond() []int64 {
	var out []int64
	for i := range l.seconds {
		out = append(out, l.seconds[i].Load())
	}
	for len(out) > 0 && out[len(out)-1] == 0 {
		out = out[:len(out)-1]
	}
	return out
}

// addSub records that the broker calls subscription s of the plan id.
func (l *ledger) addSub(id string, s int) {
	l.subMu.Lock()
	l.subIndex[id] = s
	l.subMu.Unlock()
}

func (l *ledger) sub(id string) (int, bool) {
	l.subMu.RLock()
	s, ok := l.subIndex[id]
	l.subMu.RUnlock()
	return s, ok
}

// ack marks update seq as acknowledged by the broker.
func (l *ledger) ack(seq int64) {
	if i := seq - l.start; i >= 0 && i < int64(len(l.acked)) {
		l.acked[i].Store(true)
	}
}

// owed returns the notifications the acknowledged updates of [from, to)
// are owed.
func (l *ledger) owed(from, to int64) int64 {
	var n int64
	for seq := max(from, l.start); seq < to && seq-l.start < int64(len(l.acked)); seq++ {
		if l.acked[seq-l.start].Load() {
			n += int64(popcount(l.plan.matchMask(seq)))
		}
	}
	return n
}

// tally returns, over the tracked updates of [from, to), the owed
// notifications that were delivered and those delivered for updates whose
// write was not acknowledged (a write that failed or timed out may still
// have been applied). Call it once the receivers are quiet or closed.
func (l *ledger) tally(from, to int64) (delivered, unacked int64) {
	for seq := max(from, l.start); seq < to && seq-l.start < int64(len(l.masks)); seq++ {
		n := int64(popcount(l.masks[seq-l.start].Load()))
		if l.acked[seq-l.start].Load() {
			delivered += n
		} else {
			unacked += n
		}
	}
	return delivered, unacked
}

// owedPerSub is owed per subscription, for the measured window.
func (l *ledger) owedPerSub() []int64 {
	out := make([]int64, l.plan.Subs())
	for seq := l.measured; seq-l.start < int64(len(l.acked)); seq++ {
		if !l.acked[seq-l.start].Load() {
			continue
		}
		t := l.plan.typeOf(l.plan.entityOf(seq))
		for k, m := 0, l.plan.matchMask(seq); m != 0; k, m = k+1, m>>1 {
			if m&1 != 0 {
				out[t*notifySlots+k]++
			}
		}
	}
	return out
}

func popcount(m uint32) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

func (l *ledger) bad(format string, args ...any) {
	l.malformed.Add(1)
	if l.sample.Load() == nil {
		s := fmt.Sprintf(format, args...)
		l.sample.CompareAndSwap(nil, &s)
	}
}

// firstID reports whether id is seen for the first time.
func (l *ledger) firstID(id string) bool {
	h := maphash.String(idSeed, id)
	sh := &l.ids[h%uint64(len(l.ids))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.seen[h]; ok {
		return false
	}
	sh.seen[h] = struct{}{}
	return true
}

// wireNotification is the part of a Notification the ledger reads.
type wireNotification struct {
	ID, Type, SubscriptionID, NotifiedAt string
	Data                                 []any // nil if missing or not an array
}

// parseNotification reads a Notification with the project's fast JSON
// decoder (the receivers parse tens of thousands a second on the machine
// that runs the broker).
func parseNotification(body []byte) (*wireNotification, error) {
	v, err := jsondec.Decode(body)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	n := &wireNotification{ID: str("id"), Type: str("type"), SubscriptionID: str("subscriptionId"), NotifiedAt: str("notifiedAt")}
	n.Data, _ = m["data"].([]any)
	return n, nil
}

// attrInt reads an integer attribute in any notification format: a
// Property {"value": n} (normalized, concise) or a bare n (keyValues).
func attrInt(v any) (int64, error) {
	if p, ok := v.(map[string]any); ok {
		v = p["value"]
	}
	f, ok := v.(float64)
	if !ok {
		return 0, fmt.Errorf("%v is not a number", v)
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("%v is not an integer", f)
	}
	return int64(f), nil
}

// record ticks off one notification body received at now by receiver
// shard.
func (l *ledger) record(body []byte, now time.Time, shard int) {
	n, err := parseNotification(body)
	if err != nil {
		l.bad("not JSON: %v: %.200s", err, body)
		return
	}
	if n.Type != "Notification" || n.ID == "" || n.NotifiedAt == "" || n.Data == nil {
		l.bad("not a Notification (type %q, id %q, notifiedAt %q, data %v): %.200s", n.Type, n.ID, n.NotifiedAt, n.Data != nil, body)
		return
	}
	s, ok := l.sub(n.SubscriptionID)
	if !ok {
		l.bad("unknown subscriptionId %q", n.SubscriptionID)
		return
	}
	l.messages.Add(1)
	if !l.firstID(n.ID) {
		l.dupIDs.Add(1)
		return
	}
	t, k := s/notifySlots, s%notifySlots
	for _, d := range n.Data {
		l.items.Add(1)
		e, _ := d.(map[string]any)
		id, _ := e["id"].(string)
		seq, err := attrInt(e["seq"])
		if err != nil {
			l.bad("entity %q: seq: %v", id, err)
			continue
		}
		i := seq - l.start
		switch {
		case seq < 0 || (i < 0 && id == l.plan.entityID(l.plan.entityOf(seq))):
			l.before.Add(1)
			continue
		case i < 0 || i >= int64(len(l.masks)) || id != l.plan.entityID(l.plan.entityOf(seq)):
			l.unexpected.Add(1)
			continue
		}
		bit := uint32(1) << k
		if l.plan.typeOf(l.plan.entityOf(seq)) != t || l.plan.matchMask(seq)&bit == 0 {
			l.unexpected.Add(1)
			continue
		}
		if l.masks[i].Or(bit)&bit != 0 {
			l.repeated.Add(1)
			continue
		}
		if seq < l.measured {
			l.delivered[0].Add(1)
			continue
		}
		l.delivered[1].Add(1)
		l.perSub[s].Add(1)
		if sent, err := attrInt(e["sentAt"]); err == nil {
			sh := &l.latency[shard%len(l.latency)]
			sh.mu.Lock()
			sh.h.Record(now.Sub(time.UnixMicro(sent)))
			sh.mu.Unlock()
		}
		ns := now.UnixNano()
		if t0 := l.t0.Load(); t0 > 0 && len(l.seconds) > 0 {
			sec := min(max(0, (ns-t0)/int64(time.Second)), int64(len(l.seconds)-1))
			l.seconds[sec].Add(1)
		}
		for {
			last := l.lastRecv.Load()
			if ns <= last || l.lastRecv.CompareAndSwap(last, ns) {
				break
			}
		}
	}
}

// latencies merges the end-to-end latencies of measured items.
func (l *ledger) latencies() *Histogram {
	var h Histogram
	for i := range l.latency {
		sh := &l.latency[i]
		sh.mu.Lock()
		h.Merge(&sh.h)
		sh.mu.Unlock()
	}
	return &h
}

// receivers are the HTTP listeners notifications go to.
type receivers struct {
	URIs  []string
	Conns atomic.Int64 // connections the broker opened to the receivers
	srvs  []*http.Server
	lean  []*leanServer
	wg    sync.WaitGroup
}

// startReceivers starts n listeners on 127.0.0.1 that record into l (which
// may be set later through the returned setter: until then notifications
// are answered and dropped).
func startReceivers(n int, l *atomic.Pointer[ledger]) (*receivers, error) {
	r := &receivers{}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("receiver: %w", err)
		}
		srv := &http.Server{Handler: receiverHandler(l, i), ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: time.Minute, IdleTimeout: 5 * time.Minute, MaxHeaderBytes: 64 << 10,
			ConnState: func(_ net.Conn, st http.ConnState) {
				if st == http.StateNew {
					r.Conns.Add(1)
				}
			}}
		r.srvs = append(r.srvs, srv)
		r.URIs = append(r.URIs, "http://"+ln.Addr().String()+"/notify")
		r.wg.Go(func() { srv.Serve(ln) })
	}
	return r, nil
}

func receiverHandler(lp *atomic.Pointer[ledger], shard int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, maxNotification+1))
		now := time.Now()
		l := lp.Load()
		switch {
		case l == nil:
		case req.Method != http.MethodPost || req.URL.Path != "/notify":
			l.bad("%s %s", req.Method, req.URL.Path)
			http.Error(w, "POST /notify only", http.StatusMethodNotAllowed)
			return
		case err != nil:
			l.bad("reading a notification: %v", err)
		case len(body) > maxNotification:
			l.bad("notification over %d bytes", maxNotification)
		default:
			l.record(body, now, shard)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Close stops the listeners and waits for their handlers.
func (r *receivers) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range r.srvs {
		if s.Shutdown(ctx) != nil {
			s.Close()
		}
	}
	for _, s := range r.lean {
		s.close()
	}
	r.wg.Wait()
}
