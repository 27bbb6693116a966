package subscription

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/notify"
	"github.com/qala-city/qala/internal/store"
)

// NotificationID is the id of the notification of subscription sub caused
// by the event with that Seq (or, for periodic notifications, by the tick
// at that Unix nanosecond): deterministic, so that a notification rendered
// again after a crash has the id its receiver may have seen already.
func NotificationID(tenant, sub string, seq uint64) string {
	h := sha256.New()
	h.Write([]byte(tenant))
	h.Write([]byte{0})
	h.Write([]byte(sub))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	h.Write(b[:])
	return "urn:ngsi-ld:Notification:" + hex.EncodeToString(h.Sum(nil)[:16])
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

// keeps reports whether attribute a is rendered with o.
func keeps(o *ngsild.RenderOptions, a string) bool {
	if o.Attrs != nil && !slices.Contains(o.Attrs, a) {
		return false
	}
	if o.Pick != nil && !slices.Contains(o.Pick, a) {
		return false
	}
	return !slices.Contains(o.Omit, a)
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

// renderEntity renders the entity of ev as the notification's data shows
// it: the entity after the change, with the attributes the change deleted
// (every attribute, when the entity was deleted, which then carries
// deletedAt) set to the NGSI-LD Null, and with showChanges the previous
// value of each attribute the change touched.
func (c *compiled) renderEntity(ev *store.Event, o ngsild.RenderOptions) ngsild.Doc {
	var d ngsild.Doc
	if ev.After != nil {
		d = ngsild.Render(ev.After, o)
	} else {
		e := *ev.Before
		e.Attrs, e.DeletedAt = nil, ev.Time
		so := o
		so.SysAttrs = true // deletedAt shows; createdAt and modifiedAt only when asked
		d = ngsild.Render(&e, so)
		if !o.SysAttrs {
			d = slices.DeleteFunc(d, func(m ngsild.Member) bool { return m.Key == "createdAt" || m.Key == "modifiedAt" })
		}
	}
	show := c.Notification.ShowChanges && ev.Before != nil
	if show && ev.After != nil && o.Format != ngsild.KeyValues {
		for _, a := range ev.Attrs {
			before, after := ev.Before.Attrs[a], ev.After.Attrs[a]
			if before == nil || after == nil || !keeps(&o, a) {
				continue
			}
			prev, ok := previous(before, o)
			if !ok {
				continue
			}
			name := o.Context.CompactIRI(a)
			for i := range d {
				if d[i].Key != name {
					continue
				}
				if ad, ok := d[i].Value.(ngsild.Doc); ok {
					k := valueKeys[after[0].Type.String()]
					d[i].Value = append(slices.Clone(ad), ngsild.Member{Key: k[1], Value: prev})
				}
			}
		}
	}
	for _, a := range deletedAttrs(ev) {
		if !keeps(&o, a) || !keepsDataset(&o, ev.Before.Attrs[a]) {
			continue
		}
		name := o.Context.CompactIRI(a)
		if o.Format == ngsild.KeyValues {
			d = d.Add(name, ngsild.Null)
			continue
		}
		insts := ev.Before.Attrs[a]
		kind := insts[0].Type.String()
		k := valueKeys[kind]
		ad := ngsild.Doc{{Key: "type", Value: kind}}
		if show {
			if prev, ok := previous(insts, o); ok {
				ad = ad.Add(k[1], prev)
			}
		}
		ad = ad.Add(k[0], ngsild.Null)
		if ds := insts[0].DatasetID; ds != "" && len(insts) == 1 {
			ad = ad.Add("datasetId", ds)
		}
		d = d.Add(name, ad)
	}
	return d
}

func keepsDataset(o *ngsild.RenderOptions, insts []*ngsild.Attr) bool {
	if o.DatasetIDs == nil {
		return true
	}
	for _, a := range insts {
		ds := a.DatasetID
		if ds == "" {
			ds = ngsild.NoneDataset
		}
		if slices.Contains(o.DatasetIDs, ds) {
			return true
		}
	}
	return false
}

// message renders the notification (clause 5.3.1) of entities docs (or,
// for GeoJSON, of the entities es) to c's endpoint.
func (c *compiled) message(id string, seq uint64, now time.Time, docs []ngsild.Doc, es []*ngsild.Entity) *notify.Message {
	ep := c.endpoint()
	body := ngsild.Doc{}
	if ep.Accept == mtLD || ep.Accept == mtGeo {
		body = body.Add("@context", ContextValue(c.nctx))
	}
	body = body.Add("id", id).Add("type", "Notification").Add("subscriptionId", c.ID).Add("notifiedAt", ts(now))
	if ep.Accept == mtGeo {
		o := c.renderOptions()
		body = body.Add("data", ngsild.RenderFeatureCollection(es, o, ngsild.IRILocation))
	} else {
		data := make([]any, len(docs))
		for i, d := range docs {
			data[i] = d
		}
		body = body.Add("data", data)
	}
	b, err := body.AppendJSON(nil)
	if err != nil {
		b = []byte(`{"id":"` + id + `","type":"Notification","subscriptionId":"` + c.ID + `","data":[]}`)
	}
	m := &notify.Message{ID: id, Tenant: c.Tenant, Subscription: c.ID, Endpoint: ep, ContentType: ep.Accept, Body: b, Seq: seq, Created: now}
	if ep.Accept != mtLD {
		m.Link = `<` + c.nctx.LinkURL() + `>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`
	}
	return m
}

// eventMessage renders the notification of ev to c.
func (c *compiled) eventMessage(ev *store.Event, now time.Time) *notify.Message {
	o := c.renderOptions()
	e := ev.After
	if e == nil {
		e = ev.Before
	}
	return c.message(NotificationID(c.Tenant, c.ID, ev.Seq), ev.Seq, now, []ngsild.Doc{c.renderEntity(ev, o)}, []*ngsild.Entity{e})
}

// periodicMessage renders a periodic notification of entities es.
func (c *compiled) periodicMessage(tick time.Time, now time.Time, es []*ngsild.Entity) *notify.Message {
	o := c.renderOptions()
	docs := make([]ngsild.Doc, len(es))
	for i, e := range es {
		docs[i] = ngsild.Render(e, o)
	}
	return c.message(NotificationID(c.Tenant, c.ID, uint64(tick.UnixNano())), 0, now, docs, es)
}
