package subscription

import (
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
)

const timeFormat = "2006-01-02T15:04:05.000000Z"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

// View is a subscription as Retrieve Subscription shows it.
type View struct {
	Sub    Subscription
	Status Status
	// sctx is the subscription's own context (to read its type selections).
	sctx *jsonld.Context
}

// Render renders v as the Subscription data type (clause 5.2.12), its
// attribute names and types compacted with ctx, status members computed at
// now. sysAttrs adds createdAt and modifiedAt.
func (v *View) Render(ctx *jsonld.Context, now time.Time, sysAttrs bool, includeContext any) ngsild.Doc {
	s := &v.Sub
	d := make(ngsild.Doc, 0, 24)
	if includeContext != nil {
		d = d.Add("@context", includeContext)
	}
	d = d.Add("id", s.ID).Add("type", "Subscription")
	if s.Name != "" {
		d = d.Add("subscriptionName", s.Name)
	}
	if s.Description != "" {
		d = d.Add("description", s.Description)
	}
	if len(s.Entities) > 0 {
		es := make([]any, len(s.Entities))
		for i, e := range s.Entities {
			m := ngsild.Doc{}
			if e.ID != "" {
				m = m.Add("id", e.ID)
			}
			if e.IDPattern != "" {
				m = m.Add("idPattern", e.IDPattern)
			}
			m = m.Add("type", v.compactType(e.Type, ctx))
			es[i] = m
		}
		d = d.Add("entities", es)
	}
	if len(s.Watched) > 0 {
		d = d.Add("watchedAttributes", compactList(s.Watched, ctx))
	}
	trig := s.Triggers
	if len(trig) == 0 {
		trig = defaultTriggers
	}
	d = d.Add("notificationTrigger", anyList(trig))
	if s.TimeInterval > 0 {
		d = d.Add("timeInterval", s.TimeInterval)
	}
	if s.Q != "" {
		d = d.Add("q", s.Q)
	}
	if g := s.GeoQ; g != nil {
		gd := ngsild.Doc{{Key: "geometry", Value: g.Geometry}, {Key: "coordinates", Value: g.Coordinates}, {Key: "georel", Value: g.GeoRel}}
		if g.GeoProperty != "" {
			gd = gd.Add("geoproperty", g.GeoProperty)
		}
		d = d.Add("geoQ", gd)
	}
	if s.ScopeQ != "" {
		d = d.Add("scopeQ", s.ScopeQ)
	}
	if s.CSF != "" {
		d = d.Add("csf", s.CSF)
	}
	if s.Lang != "" {
		d = d.Add("lang", s.Lang)
	}
	if len(s.DatasetIDs) > 0 {
		d = d.Add("datasetId", anyList(s.DatasetIDs))
	}
	if s.Active != nil {
		d = d.Add("isActive", *s.Active)
	}
	if !s.ExpiresAt.IsZero() {
		d = d.Add("expiresAt", s.ExpiresAt.UTC().Format(time.RFC3339Nano))
	}
	if s.Throttling > 0 {
		d = d.Add("throttling", s.Throttling)
	}
	if s.JSONLDCtx != "" {
		d = d.Add("jsonldContext", s.JSONLDCtx)
	}
	d = d.Add("notification", v.renderNotification(ctx))
	d = d.Add("status", statusOf(s, &v.Status, now))
	if sysAttrs {
		d = d.Add("createdAt", ts(s.CreatedAt)).Add("modifiedAt", ts(s.ModifiedAt))
	}
	return d
}

// statusOf is the subscription's status at now (clause 5.2.12): expired
// once expiresAt has passed, paused while isActive is false, failed while
// the last delivery attempt failed (notification.status "failed", clause
// 5.2.14; the subscription keeps notifying and becomes active again with
// the next successful delivery), active otherwise.
func statusOf(s *Subscription, st *Status, now time.Time) string {
	switch {
	case !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt):
		return StatusExpired
	case !s.IsActive():
		return StatusPaused
	case st != nil && st.Failed:
		return StatusFailed
	}
	return StatusActive
}

func (v *View) renderNotification(ctx *jsonld.Context) ngsild.Doc {
	n := &v.Sub.Notification
	st := &v.Status
	d := ngsild.Doc{}
	if len(n.Attributes) > 0 {
		d = d.Add("attributes", compactList(n.Attributes, ctx))
	}
	if n.Format != "" {
		d = d.Add("format", n.Format)
	}
	if n.SysAttrs {
		d = d.Add("sysAttrs", true)
	}
	if n.ShowChanges {
		d = d.Add("showChanges", true)
	}
	if n.Pick != nil {
		d = d.Add("pick", compactMembers(n.Pick, ctx))
	}
	if n.Omit != nil {
		d = d.Add("omit", compactMembers(n.Omit, ctx))
	}
	if n.Join != "" {
		d = d.Add("join", n.Join)
	}
	if n.JoinLevel > 0 {
		d = d.Add("joinLevel", n.JoinLevel)
	}
	e := &n.Endpoint
	ed := ngsild.Doc{{Key: "uri", Value: e.URI}}
	ed = ed.Add("accept", v.Sub.endpoint().Accept)
	if e.Timeout > 0 {
		ed = ed.Add("timeout", e.Timeout)
	}
	if e.Cooldown > 0 {
		ed = ed.Add("cooldown", e.Cooldown)
	}
	if len(e.ReceiverInfo) > 0 {
		ed = ed.Add("receiverInfo", kvList(e.ReceiverInfo))
	}
	if len(e.NotifierInfo) > 0 {
		ed = ed.Add("notifierInfo", kvList(e.NotifierInfo))
	}
	d = d.Add("endpoint", ed)
	if st.TimesSent > 0 || st.TimesFailed > 0 {
		if st.Failed {
			d = d.Add("status", NotifFailed)
		} else {
			d = d.Add("status", NotifOK)
		}
	}
	if st.TimesSent > 0 {
		d = d.Add("timesSent", st.TimesSent)
	}
	if st.TimesFailed > 0 {
		d = d.Add("timesFailed", st.TimesFailed)
	}
	if !st.LastNotification.IsZero() {
		d = d.Add("lastNotification", ts(st.LastNotification))
	}
	if !st.LastSuccess.IsZero() {
		d = d.Add("lastSuccess", ts(st.LastSuccess))
	}
	if !st.LastFailure.IsZero() {
		d = d.Add("lastFailure", ts(st.LastFailure))
	}
	return d
}

// compactType compacts a type selection written as one name; expressions
// are shown as written.
func (v *View) compactType(t string, ctx *jsonld.Context) string {
	if v.sctx == nil || !plainName(t) {
		return t
	}
	return ctx.CompactType(v.sctx.ExpandTerm(t))
}

func plainName(t string) bool {
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case ',', ';', '|', '(', ')', '*':
			return false
		}
	}
	return true
}

func compactList(iris []string, ctx *jsonld.Context) []any {
	out := make([]any, len(iris))
	for i, s := range iris {
		out[i] = ctx.CompactIRI(s)
	}
	return out
}

func compactMembers(ms []string, ctx *jsonld.Context) []any {
	out := make([]any, len(ms))
	for i, s := range ms {
		switch s {
		case "id", "type", "scope":
			out[i] = s
		default:
			out[i] = ctx.CompactIRI(s)
		}
	}
	return out
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func kvList(kvs []KeyValue) []any {
	out := make([]any, len(kvs))
	for i, kv := range kvs {
		out[i] = ngsild.Doc{{Key: "key", Value: kv.Key}, {Key: "value", Value: kv.Value}}
	}
	return out
}
