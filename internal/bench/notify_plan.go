package bench

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// The notification suite's plan: which entities and subscriptions exist,
// what every update writes, and so which notifications the broker owes —
// computed exactly from the plan, never from what arrives.
//
// Entities are spread over Types entity types (entity e has type e mod
// Types). Every type has notifySlots subscriptions, one per slot below; an
// update of an entity changes speed, seq and sentAt (never status), so the
// slots that fire are exactly those whose kind matches the update's speed.
// speed alternates between [0,50) and [50,100) on consecutive updates of an
// entity, so it always changes, and exactly 5 of the 10 q-split slots match:
// every update matches notifyMatch = 10 subscriptions, and 5 decoys of its
// type never fire.

// notifySlots is the number of subscriptions of each entity type.
const notifySlots = 20

// notifyMatch is the number of subscriptions every update matches.
const notifyMatch = 10

// notifyType is the prefix of the suite's entity types.
const notifyType = "NotifyProbe"

// slotKind says what a subscription slot selects.
type slotKind struct {
	watched []string // watchedAttributes; nil for none
	q       string   // "" for none
	// match says whether an update that changes speed, seq and sentAt to
	// speed fires the subscription.
	match func(speed int) bool
}

func always(int) bool { return true }
func never(int) bool  { return false }
func low(s int) bool  { return s < 50 }
func high(s int) bool { return s >= 50 }

// slotKinds are the subscriptions of each type, by slot.
var slotKinds = [notifySlots]slotKind{
	{watched: []string{"speed"}, match: always},
	{watched: []string{"speed"}, match: always},
	{watched: []string{"speed", "status"}, match: always},
	{match: always}, // any attribute
	{q: "speed>=0", match: always},
	{q: "speed<50", watched: []string{"speed"}, match: low},
	{q: "speed<50", match: low},
	{q: "speed<50", match: low},
	{q: "speed<50", match: low},
	{q: "speed<50", match: low},
	{q: "speed>=50", watched: []string{"sentAt"}, match: high},
	{q: "speed>=50", match: high},
	{q: "speed>=50", match: high},
	{q: "speed>=50", match: high},
	{q: "speed>=50", match: high},
	{watched: []string{"status"}, match: never}, // decoys: status never changes
	{watched: []string{"status"}, match: never},
	{watched: []string{"status"}, match: never},
	{q: "speed<0", match: never},
	{q: `speed>=0;status=="down"`, match: never},
}

// notifyPlan is the fixed part of one run of the suite.
type notifyPlan struct {
	RunID     string
	Types     int      // entity types; Types × notifySlots subscriptions
	Entities  int      // entities, spread over the types
	Receivers []string // endpoint URIs, subscriptions spread over them
}

// Subs returns the number of subscriptions.
func (p *notifyPlan) Subs() int { return p.Types * notifySlots }

func (p *notifyPlan) typeName(t int) string { return fmt.Sprintf("%s%03d", notifyType, t) }

// entityID names entity e.
func (p *notifyPlan) entityID(e int) string {
	return "urn:ngsi-ld:" + notifyType + ":" + p.RunID + "-" + strconv.Itoa(e)
}

// subID names subscription s (type s / notifySlots, slot s % notifySlots).
func (p *notifyPlan) subID(s int) string {
	return "urn:ngsi-ld:Subscription:" + p.RunID + "-" + strconv.Itoa(s)
}

// entityOf returns the entity update seq writes.
func (p *notifyPlan) entityOf(seq int64) int { return int(seq % int64(p.Entities)) }

// typeOf returns the type of entity e.
func (p *notifyPlan) typeOf(e int) int { return e % p.Types }

// speed returns the speed update seq writes: in [0,50) on even rounds of
// its entity and [50,100) on odd ones, so consecutive updates of an entity
// always change it.
func (p *notifyPlan) speed(seq int64) int {
	round := seq / int64(p.Entities)
	return int(round%2)*50 + int(mix(uint64(seq))%50)
}

// matchMask returns the slots of its type that update seq fires, one bit
// per slot.
func (p *notifyPlan) matchMask(seq int64) uint32 {
	sp := p.speed(seq)
	var m uint32
	for k, kind := range slotKinds {
		if kind.match(sp) {
			m |= 1 << k
		}
	}
	return m
}

// expected returns the notifications updates [from, to) are owed: one per
// update and subscription that matches it.
func (p *notifyPlan) expected(from, to int64) int64 {
	var n int64
	for seq := from; seq < to; seq++ {
		n += int64(bits.OnesCount32(p.matchMask(seq)))
	}
	return n
}

// expectedPerSub returns, for each subscription, the notifications updates
// [from, to) owe it.
func (p *notifyPlan) expectedPerSub(from, to int64) []int64 {
	out := make([]int64, p.Subs())
	for seq := from; seq < to; seq++ {
		t := p.typeOf(p.entityOf(seq))
		m := p.matchMask(seq)
		for m != 0 {
			k := bits.TrailingZeros32(m)
			m &^= 1 << k
			out[t*notifySlots+k]++
		}
	}
	return out
}

// appendEntities renders entities [from, to) in their initial state as a
// batch body: speed -1, seq -1, sentAt 0, status "ok".
func (p *notifyPlan) appendEntities(dst []byte, from, to int) []byte {
	dst = append(dst, '[')
	for e := from; e < to; e++ {
		if e > from {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"id":"`...)
		dst = append(dst, p.entityID(e)...)
		dst = append(dst, `","type":"`...)
		dst = append(dst, p.typeName(p.typeOf(e))...)
		dst = append(dst, `","speed":{"type":"Property","value":-1},"seq":{"type":"Property","value":-1},`+
			`"sentAt":{"type":"Property","value":0},"status":{"type":"Property","value":"ok"}}`...)
	}
	return append(dst, ']')
}

// appendPatch renders the attributes update seq writes; sentAt is the send
// time in Unix microseconds.
func (p *notifyPlan) appendPatch(dst []byte, seq, sentAt int64) []byte {
	dst = append(dst, '{')
	return append(p.appendAttrs(dst, seq, sentAt), '}')
}

// appendAttrs renders the members of appendPatch.
func (p *notifyPlan) appendAttrs(dst []byte, seq, sentAt int64) []byte {
	dst = append(dst, `"speed":{"type":"Property","value":`...)
	dst = strconv.AppendInt(dst, int64(p.speed(seq)), 10)
	dst = append(dst, `},"seq":{"type":"Property","value":`...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `},"sentAt":{"type":"Property","value":`...)
	dst = strconv.AppendInt(dst, sentAt, 10)
	return append(dst, '}')
}

// appendBatchUpdate renders updates [from, to) as an entityOperations/update
// body (each entity with its type and the patched attributes).
func (p *notifyPlan) appendBatchUpdate(dst []byte, from, to, sentAt int64) []byte {
	dst = append(dst, '[')
	for seq := from; seq < to; seq++ {
		if seq > from {
			dst = append(dst, ',')
		}
		e := p.entityOf(seq)
		dst = append(dst, `{"id":"`...)
		dst = append(dst, p.entityID(e)...)
		dst = append(dst, `","type":"`...)
		dst = append(dst, p.typeName(p.typeOf(e))...)
		dst = append(dst, `",`...)
		dst = p.appendAttrs(dst, seq, sentAt)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendSubscription renders subscription s.
func (p *notifyPlan) appendSubscription(dst []byte, s int) []byte {
	t, kind := s/notifySlots, slotKinds[s%notifySlots]
	dst = append(dst, `{"id":"`...)
	dst = append(dst, p.subID(s)...)
	dst = append(dst, `","type":"Subscription","entities":[{"type":"`...)
	dst = append(dst, p.typeName(t)...)
	dst = append(dst, `"}]`...)
	if kind.watched != nil {
		dst = append(dst, `,"watchedAttributes":["`...)
		dst = append(dst, strings.Join(kind.watched, `","`)...)
		dst = append(dst, `"]`...)
	}
	if kind.q != "" {
		dst = append(dst, `,"q":`...)
		dst = strconv.AppendQuote(dst, kind.q)
	}
	dst = append(dst, `,"notification":{"format":"normalized","endpoint":{"uri":"`...)
	dst = append(dst, p.Receivers[s%len(p.Receivers)]...)
	return append(dst, `","accept":"application/json"}}}`...)
}
