package subscription

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/notify"
	"github.com/qala-city/qala/internal/store"
)

// NotificationID is the id of the notification of subscription sub caused
// by the event with that Seq (or, for periodic notifications, by the tick
// at that Unix nanosecond): deterministic, so that a notification rendered
// again after a crash has the id its receiver may have seen already.
func NotificationID(tenant, sub string, seq uint64) string {
	var buf [256]byte
	in := append(append(append(buf[:0], tenant...), 0), sub...)
	in = binary.BigEndian.AppendUint64(in, seq)
	sum := sha256.Sum256(in)
	const prefix = "urn:ngsi-ld:Notification:"
	var out [len(prefix) + 32]byte
	copy(out[:], prefix)
	hex.Encode(out[len(prefix):], sum[:16])
	return string(out[:])
}

const (
	mtJSON = "application/json"
	mtLD   = "application/ld+json"
	mtGeo  = "application/geo+json"
)

func (c *compiled) renderOptions() ngsild.RenderOptions {
	n := &c.Notification
	o := ngsild.RenderOptions{Context: c.nctx, SysAttrs: n.SysAttrs, Attrs: n.Attributes, Pick: n.Pick, Omit: n.Omit,
		Lang: c.Lang, DatasetIDs: c.DatasetIDs}
	switch n.Format {
	case "concise":
		o.Format = ngsild.Concise
	case "keyValues":
		o.Format = ngsild.KeyValues
	}
	return o
}

// valueKeys are the value member of each attribute kind in the normalized
// representation, and the member showChanges adds for the previous value
// (clause 5.2.14, showChanges).
var valueKeys = map[string][2]string{
	"Property":         {"value", "previousValue"},
	"GeoProperty":      {"value", "previousValue"},
	"Relationship":     {"object", "previousObject"},
	"LanguageProperty": {"languageMap", "previousLanguageMap"},
	"VocabProperty":    {"vocab", "previousVocab"},
	"JsonProperty":     {"json", "previousJson"},
	"ListProperty":     {"valueList", "previousValueList"},
	"ListRelationship": {"objectList", "previousObjectList"},
}

// previous returns the value member of insts rendered with o (normalized).
func previous(insts []*ngsild.Attr, o ngsild.RenderOptions) (any, bool) {
	if len(insts) != 1 {
		return nil, false
	}
	o.Format, o.Attrs, o.Pick, o.Omit, o.SysAttrs = ngsild.Normalized, nil, nil, nil, false
	v, ok := ngsild.RenderAttribute(insts, o)
	d, isDoc := v.(ngsild.Doc)
	if !ok || !isDoc {
		return nil, false
	}
	k := valueKeys[insts[0].Type.String()]
	return d.Get(k[0])
}

// tombstone is the instance a notification shows for an attribute
// instance that was deleted: its value (object, languageMap...) is the
// NGSI-LD Null (clause 4.5.0 of v1.8, 5.8.6); with sysAttrs it carries its
// timestamps and deletedAt.
func tombstone(b *ngsild.Attr, at time.Time, sysAttrs, entityDeleted bool) *ngsild.Attr {
	t := &ngsild.Attr{Type: b.Type, DatasetID: b.DatasetID}
	switch b.Type {
	case ngsild.Relationship, ngsild.ListRelationship:
		t.Object = ngsild.Null
	case ngsild.LanguageProperty:
		t.LanguageMap = map[string]any{ngsild.NoneDataset: ngsild.Null}
	default:
		t.Value = ngsild.Null
	}
	if sysAttrs {
		t.CreatedAt, t.ModifiedAt, t.DeletedAt = b.CreatedAt, b.ModifiedAt, at
	}
	return t
}

// renderEntity renders the entity of ev as the notification's data shows
// it: the entity after the change, with the attribute instances the change
// deleted shown with the NGSI-LD Null (for a deleted entity: its id, type
// and deletedAt, and the attributes deletedInstances lists), and, with
// showChanges, the previous value of each attribute the change touched.
func (c *compiled) renderEntity(ev *store.Event, o ngsild.RenderOptions) ngsild.Doc {
	gone := c.deletedInstances(ev)
	base := ev.After
	if ev.After == nil {
		e := *ev.Before
		e.Attrs, e.DeletedAt = map[string][]*ngsild.Attr{}, ev.Time
		base = &e
	} else if len(gone) > 0 {
		e := *ev.After
		e.Attrs = maps.Clone(ev.After.Attrs)
		base = &e
	}
	for a, insts := range gone {
		for _, b := range insts {
			base.Attrs[a] = append(slices.Clone(base.Attrs[a]), tombstone(b, ev.Time, o.SysAttrs, ev.After == nil))
		}
	}
	d := ngsild.Render(base, o)
	if o.Format == ngsild.KeyValues {
		return d
	}
	show := c.Notification.ShowChanges && ev.Before != nil
	for i := range d {
		ad, ok := d[i].Value.(ngsild.Doc)
		if !ok || d[i].Key == "@context" {
			continue
		}
		if ev.Before == nil {
			break
		}
		a := o.Context.ExpandTerm(d[i].Key)
		before := ev.Before.Attrs[a]
		if len(before) == 0 {
			continue
		}
		var after []*ngsild.Attr
		if ev.After != nil {
			after = ev.After.Attrs[a]
		}
		_, isGone := gone[a]
		if !isGone && !(show && slices.Contains(ev.Attrs, a)) {
			continue
		}
		ad = slices.Clone(ad)
		if show {
			if prev, ok := previous(before, o); ok {
				k := valueKeys[before[0].Type.String()]
				if len(after) == 1 {
					k = valueKeys[after[0].Type.String()]
				}
				ad = append(ad, ngsild.Member{Key: k[1], Value: prev})
			}
		}
		if ev.After == nil && isGone {
			// a deleted entity's LanguageProperty: the bare Null (ETSI TP 046_37)
			for j := range ad {
				if ad[j].Key == "languageMap" {
					ad[j].Value = ngsild.Null
				}
			}
		}
		d[i].Value = ad
	}
	return d
}

// message renders the notification (clause 5.3.1) of entities docs (or,
// for GeoJSON, of the entities es) to c's endpoint.
func (c *compiled) message(id string, seq uint64, now time.Time, docs []ngsild.Doc, es []*ngsild.Entity) *notify.Message {
	return c.envelope(id, seq, now, c.data(docs, es))
}

// data is the data member of c's notifications of docs (or, for GeoJSON,
// of the entities es), as JSON.
func (c *compiled) data(docs []ngsild.Doc, es []*ngsild.Entity) json.RawMessage {
	accept := c.endpoint().Accept
	var v any
	if accept == mtGeo {
		v = ngsild.RenderFeatureCollection(es, c.renderOptions(), ngsild.IRILocation)
	} else {
		data := make([]any, len(docs))
		for i, d := range docs {
			if accept == mtLD {
				// each entity of the data is a JSON-LD document of its own (ETSI TP 046_14, 046_19)
				d = append(ngsild.Doc{{Key: "@context", Value: ContextValue(c.nctx)}}, d...)
			}
			data[i] = d
		}
		v = data
	}
	b, err := ngsild.AppendJSON(nil, v)
	if err != nil {
		return json.RawMessage("[]")
	}
	return b
}

// envelope wraps data in a Notification (clause 5.3.1) to c's endpoint.
func (c *compiled) envelope(id string, seq uint64, now time.Time, data json.RawMessage) *notify.Message {
	e := c.env
	if e == nil {
		e = c.envelopeParts()
	}
	b := make([]byte, 0, len(e.head)+len(id)+len(e.mid)+len(timeFormat)+len(data)+16)
	b = append(b, e.head...)
	b = append(b, id...)
	b = append(b, e.mid...)
	b = now.UTC().AppendFormat(b, timeFormat)
	b = append(b, `","data":`...)
	b = append(b, data...)
	b = append(b, '}')
	return &notify.Message{ID: id, Tenant: c.Tenant, Subscription: c.ID, Endpoint: e.ep, ContentType: e.ep.Accept,
		Link: e.link, Body: b, Seq: seq, Created: now}
}

// envParts is what every notification of a subscription shares besides
// its id, time and data: the body is head, id, mid, notifiedAt, data.
type envParts struct {
	ep   notify.Endpoint
	link string
	head []byte // {"@context":…,"id":"   ({"id":" without @context)
	mid  []byte // ","type":"Notification","subscriptionId":…,"notifiedAt":"
}

// envelopeParts prepares c's envParts (c.env once c is compiled).
func (c *compiled) envelopeParts() *envParts {
	e := &envParts{ep: c.endpoint(), head: []byte("{")}
	if e.ep.Accept == mtLD || e.ep.Accept == mtGeo {
		if v, err := ngsild.AppendJSON(nil, ContextValue(c.nctx)); err == nil {
			e.head = append(append(append(e.head, `"@context":`...), v...), ',')
		}
	}
	if e.ep.Accept != mtLD {
		e.link = `<` + LinkURL(c.nctx) + `>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`
	}
	e.head = append(e.head, `"id":"`...)
	sub, _ := ngsild.AppendJSON(nil, c.ID)
	e.mid = append([]byte(`","type":"Notification","subscriptionId":`), sub...)
	e.mid = append(e.mid, `,"notifiedAt":"`...)
	return e
}

// renderKey identifies the data of one event's notification as rendered
// for subscriptions with the same representation: they share it.
type renderKey struct {
	ev   *store.Event
	nctx *jsonld.Context
	sig  string
}

// eventMessage renders the notification of ev to c; get reads the
// entities a join asks for (nil: no join). cache (may be nil) holds the
// data already rendered for this event by subscriptions with the same
// representation (fan-out: many subscriptions, one rendering).
func (c *compiled) eventMessage(ev *store.Event, now time.Time, get Getter, cache map[renderKey]json.RawMessage) *notify.Message {
	id := NotificationID(c.Tenant, c.ID, ev.Seq)
	key := renderKey{ev, c.nctx, c.sig}
	if d, ok := cache[key]; ok {
		return c.envelope(id, ev.Seq, now, d)
	}
	o := c.renderOptions()
	e := ev.After
	if e == nil {
		e = ev.Before
	}
	docs := []ngsild.Doc{c.renderEntity(ev, o)}
	if get != nil && ev.After != nil {
		switch c.Notification.Join {
		case "flat":
			docs = c.flat(docs, ev.After, o, get)
		case "inline":
			docs[0] = c.inline(docs[0], ev.After, o, get, 0, map[string]bool{})
		}
	}
	d := c.data(docs, []*ngsild.Entity{e})
	if cache != nil {
		cache[key] = d
	}
	return c.envelope(id, ev.Seq, now, d)
}

// periodicMessage renders a periodic notification of entities es.
func (c *compiled) periodicMessage(tick time.Time, now time.Time, es []*ngsild.Entity, get Getter) *notify.Message {
	o := c.renderOptions()
	docs := make([]ngsild.Doc, len(es))
	for i, e := range es {
		docs[i] = ngsild.Render(e, o)
		if get != nil && c.Notification.Join == "inline" {
			docs[i] = c.inline(docs[i], e, o, get, 0, map[string]bool{})
		}
	}
	if get != nil && c.Notification.Join == "flat" {
		for _, e := range es {
			docs = c.flat(docs, e, o, get)
		}
	}
	return c.message(NotificationID(c.Tenant, c.ID, uint64(tick.UnixNano())), 0, now, docs, es)
}

// renderSig sums up what shapes the data of c's notifications besides its
// context: subscriptions with equal signatures and contexts render an
// event alike.
func renderSig(s *Subscription) string {
	n := &s.Notification
	return fmt.Sprintf("%s|%t|%t|%s|%d|%q|%q|%q|%q|%q|%q|%s", n.Format, n.SysAttrs, n.ShowChanges, n.Join, n.JoinLevel,
		s.Lang, n.Attributes, n.Pick, n.Omit, s.DatasetIDs, s.Watched, s.endpoint().Accept)
}
