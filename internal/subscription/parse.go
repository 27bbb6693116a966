package subscription

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/query"
)

// ContextValue returns the value under which ctx is kept with a
// subscription (Subscription.Context): its source document, or its URL.
func ContextValue(ctx *jsonld.Context) any {
	switch s := ctx.Source().(type) {
	case nil:
		return ctx.LinkURL()
	case []any:
		if len(s) == 1 {
			if u, ok := s[0].(string); ok {
				return u // ["url"] is "url"
			}
		}
	}
	return ctx.Source()
}

// LinkURL is the URL of ctx for a Link header: the URL it was given as,
// else the broker's URL for it.
func LinkURL(ctx *jsonld.Context) string {
	if u, ok := ContextValue(ctx).(string); ok {
		return u
	}
	return ctx.LinkURL()
}

// Parse reads the body of Create Subscription (clause 5.8.1): doc is the
// decoded JSON object (without the request's @context, which is ctx), now
// stamps createdAt and modifiedAt. It checks every member against clause
// 5.2.12 and returns BadRequestData problems that name the member.
func Parse(doc map[string]any, ctx *jsonld.Context, now time.Time) (*Subscription, error) {
	s := &Subscription{Context: ContextValue(ctx), CreatedAt: now, ModifiedAt: now}
	t, ok := doc["type"]
	if !ok {
		return nil, problem.BadData("type is missing: a subscription has type \"Subscription\"")
	}
	if t != "Subscription" {
		return nil, problem.BadData("type must be \"Subscription\", not %s", show(t))
	}
	if _, ok := doc["notification"]; !ok {
		return nil, problem.BadData("notification is missing (clause 5.2.12)")
	}
	for _, k := range sortedKeys(doc) {
		v := doc[k]
		if v == nil {
			return nil, problem.BadData("%s must not be null", k)
		}
		if err := setMember(s, k, v, ctx, now); err != nil {
			return nil, err
		}
	}
	if _, ok := doc["id"]; !ok {
		s.ID = NewID()
	}
	if err := Validate(s, ctx, now); err != nil {
		return nil, err
	}
	return s, nil
}

// NewID returns a fresh subscription id.
func NewID() string {
	var b [12]byte
	rand.Read(b[:])
	return "urn:ngsi-ld:Subscription:" + hex.EncodeToString(b[:])
}

// Patch applies the fragment of Update Subscription (clause 5.8.2) to a copy
// of s: every member given replaces the one of s, null removes it. The
// result is validated as a whole.
func Patch(s *Subscription, doc map[string]any, ctx *jsonld.Context, now time.Time) (*Subscription, error) {
	if len(doc) == 0 {
		return nil, problem.BadData("the fragment is empty")
	}
	n := *s
	n.ModifiedAt = now
	if t, ok := doc["type"]; ok && t != "Subscription" {
		return nil, problem.BadData("type must be \"Subscription\", not %s", show(t))
	}
	if id, ok := doc["id"]; ok && id != s.ID {
		return nil, problem.BadData("id in the fragment (%s) differs from the subscription's (%s)", show(id), s.ID)
	}
	for _, k := range sortedKeys(doc) {
		if k == "id" || k == "type" {
			continue
		}
		v := doc[k]
		if v == nil {
			if err := clearMember(&n, k); err != nil {
				return nil, err
			}
			continue
		}
		switch k {
		case "q", "entities", "geoQ":
			// read with the fragment's context from now on
			n.Context = ContextValue(ctx)
		}
		if err := setMember(&n, k, v, ctx, now); err != nil {
			return nil, err
		}
	}
	if err := Validate(&n, ctx, now); err != nil {
		return nil, err
	}
	return &n, nil
}

// Validate checks the constraints between members (clause 5.2.12, 5.8.1)
// and that q, scopeQ, geoQ and the type selections parse.
func Validate(s *Subscription, ctx *jsonld.Context, now time.Time) error {
	if len(s.Entities) == 0 && len(s.Watched) == 0 {
		return problem.BadData("a subscription needs entities or watchedAttributes (clause 5.2.12)")
	}
	if s.TimeInterval > 0 && len(s.Watched) > 0 {
		return problem.BadData("timeInterval and watchedAttributes must not be used together (clause 5.2.12)")
	}
	if s.TimeInterval > 0 && s.Throttling > 0 {
		return problem.BadData("timeInterval and throttling must not be used together (clause 5.2.12)")
	}
	if s.TimeInterval > 0 && len(s.Entities) == 0 {
		return problem.BadData("a periodic subscription (timeInterval) needs entities")
	}
	if s.Notification.Endpoint.URI == "" {
		return problem.BadData("notification.endpoint.uri is missing (clause 5.2.15)")
	}
	n := s.Notification
	if len(n.Attributes) > 0 && (n.Pick != nil || n.Omit != nil) {
		return problem.BadData("notification.attributes must not be used together with pick or omit")
	}
	if n.ShowChanges && n.Format == "keyValues" {
		return problem.BadData("notification.showChanges cannot be used with the keyValues format, which has no room for previous values (clause 5.2.14 of v1.9)")
	}
	if n.Pick != nil && n.Omit != nil {
		for _, p := range n.Pick {
			if slices.Contains(n.Omit, p) {
				return problem.BadData("notification: %q is both picked and omitted", p)
			}
		}
		return problem.BadData("notification: pick and omit must not be used together")
	}
	_, err := compile(s, ctx)
	return err
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func show(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil || b.Len() > 80 {
		return "that value"
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// clearMember removes an optional member (PATCH with null).
func clearMember(s *Subscription, k string) error {
	switch k {
	case "subscriptionName":
		s.Name = ""
	case "description":
		s.Description = ""
	case "entities":
		s.Entities = nil
	case "watchedAttributes":
		s.Watched = nil
	case "notificationTrigger":
		s.Triggers = nil
	case "q":
		s.Q = ""
	case "geoQ":
		s.GeoQ = nil
	case "scopeQ":
		s.ScopeQ = ""
	case "csf":
		s.CSF = ""
	case "lang":
		s.Lang = ""
	case "datasetId":
		s.DatasetIDs = nil
	case "isActive":
		s.Active = nil
	case "expiresAt":
		s.ExpiresAt = time.Time{}
	case "throttling":
		s.Throttling = 0
	case "timeInterval":
		s.TimeInterval = 0
	case "jsonldContext":
		s.JSONLDCtx = ""
	case "notification":
		return problem.BadData("notification is mandatory and cannot be removed")
	case "@context":
	default:
		if readOnly[k] {
			return problem.BadData("%s is set by the broker", k)
		}
		return problem.BadData("%s is not a member of a subscription (clause 5.2.12)", k)
	}
	return nil
}

// readOnly are the members the broker maintains; a client may send them
// back (as GET returned them) and they are ignored.
var readOnly = map[string]bool{"status": true, "createdAt": true, "modifiedAt": true,
	"timesSent": true, "timesFailed": true, "lastNotification": true, "lastSuccess": true, "lastFailure": true}

func setMember(s *Subscription, k string, v any, ctx *jsonld.Context, now time.Time) error {
	var err error
	switch k {
	case "@context", "type":
	case "id":
		str, ok := v.(string)
		if !ok || !isURI(str) {
			return problem.BadData("id must be a URI, not %s", show(v))
		}
		s.ID = str
	case "subscriptionName":
		s.Name, err = str(k, v)
	case "description":
		s.Description, err = str(k, v)
	case "entities":
		s.Entities, err = parseEntities(v)
	case "watchedAttributes":
		s.Watched, err = termList(k, v, ctx)
	case "notificationTrigger":
		s.Triggers, err = parseTriggers(v)
	case "q":
		s.Q, err = nonEmpty(k, v)
	case "scopeQ":
		s.ScopeQ, err = nonEmpty(k, v)
	case "csf":
		s.CSF, err = nonEmpty(k, v)
	case "lang":
		s.Lang, err = nonEmpty(k, v)
	case "geoQ":
		s.GeoQ, err = parseGeoQ(v)
	case "datasetId":
		s.DatasetIDs, err = parseDatasets(v)
	case "isActive":
		b, ok := v.(bool)
		if !ok {
			return problem.BadData("isActive must be true or false, not %s", show(v))
		}
		s.Active = &b
	case "expiresAt":
		str, ok := v.(string)
		t, perr := time.Parse(time.RFC3339Nano, str)
		if !ok || perr != nil {
			return problem.BadData("expiresAt must be a DateTime (e.g. 2030-01-01T00:00:00Z), not %s", show(v))
		}
		if !t.After(now) {
			return problem.BadData("expiresAt %s is not in the future (clause 5.8.1)", str)
		}
		s.ExpiresAt = t.UTC()
	case "throttling":
		s.Throttling, err = positive(k, v)
	case "timeInterval":
		s.TimeInterval, err = positive(k, v)
	case "jsonldContext":
		str, ok := v.(string)
		if !ok || !isURI(str) {
			return problem.BadData("jsonldContext must be the URI of a JSON-LD context, not %s", show(v))
		}
		s.JSONLDCtx = str
	case "notification":
		s.Notification, err = parseNotification(v, ctx)
	default:
		if readOnly[k] {
			return nil
		}
		return problem.BadData("%s is not a member of a subscription (clause 5.2.12)", k)
	}
	return err
}

func str(k string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", problem.BadData("%s must be a string, not %s", k, show(v))
	}
	return s, nil
}

func nonEmpty(k string, v any) (string, error) {
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" {
		return "", problem.BadData("%s must be a non-empty string, not %s", k, show(v))
	}
	return s, nil
}

func positive(k string, v any) (float64, error) {
	f, ok := v.(float64)
	if !ok || !(f > 0) || math.IsInf(f, 0) || f > 1e9 {
		return 0, problem.BadData("%s must be a positive number of seconds, not %s", k, show(v))
	}
	return f, nil
}

func parseEntities(v any) ([]EntitySel, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, problem.BadData("entities must be a non-empty array of entity selectors")
	}
	out := make([]EntitySel, 0, len(arr))
	for i, x := range arr {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, problem.BadData("entities[%d] must be an object", i)
		}
		var e EntitySel
		for k, val := range m {
			s, ok := val.(string)
			if !ok || s == "" {
				return nil, problem.BadData("entities[%d].%s must be a non-empty string", i, k)
			}
			switch k {
			case "id":
				if !isURI(s) {
					return nil, problem.BadData("entities[%d].id %q is not a URI", i, s)
				}
				e.ID = s
			case "idPattern":
				if _, err := regexp.Compile(s); err != nil {
					return nil, problem.BadData("entities[%d].idPattern is not a valid regular expression: %v", i, err)
				}
				e.IDPattern = s
			case "type":
				e.Type = s
			default:
				return nil, problem.BadData("entities[%d]: %s is not a member of an entity selector (id, idPattern, type)", i, k)
			}
		}
		if e.Type == "" {
			return nil, problem.BadData("entities[%d].type is missing (clause 5.2.33)", i)
		}
		out = append(out, e)
	}
	return out, nil
}

func termList(k string, v any, ctx *jsonld.Context) ([]string, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, problem.BadData("%s must be a non-empty array of attribute names", k)
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, ok := x.(string)
		if !ok || !validName(s) {
			return nil, problem.BadData("%s: %s is not a valid attribute name", k, show(x))
		}
		e := ctx.ExpandTerm(s)
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func parseTriggers(v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, problem.BadData("notificationTrigger must be a non-empty array of %s", strings.Join(allTriggers, ", "))
	}
	var out []string
	for _, x := range arr {
		s, _ := x.(string)
		if trigBit(s) == 0 {
			return nil, problem.BadData("notificationTrigger: %s is not one of %s", show(x), strings.Join(allTriggers, ", "))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func parseGeoQ(v any) (*GeoQ, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, problem.BadData("geoQ must be an object with geometry, coordinates and georel (clause 5.2.13)")
	}
	g := &GeoQ{}
	for k, val := range m {
		switch k {
		case "geometry", "georel", "geoproperty":
			s, ok := val.(string)
			if !ok || s == "" {
				return nil, problem.BadData("geoQ.%s must be a non-empty string", k)
			}
			switch k {
			case "geometry":
				g.Geometry = s
			case "georel":
				g.GeoRel = s
			default:
				g.GeoProperty = s
			}
		case "coordinates":
			switch val.(type) {
			case []any, string:
				g.Coordinates = val
			default:
				return nil, problem.BadData("geoQ.coordinates must be an array (or its JSON text)")
			}
		default:
			return nil, problem.BadData("geoQ: %s is not a member of a geo-query (clause 5.2.13)", k)
		}
	}
	if g.Geometry == "" || g.GeoRel == "" || g.Coordinates == nil {
		return nil, problem.BadData("geoQ needs geometry, coordinates and georel (clause 5.2.13)")
	}
	return g, nil
}

func (g *GeoQ) coordText() string {
	if s, ok := g.Coordinates.(string); ok {
		return s
	}
	b, _ := json.Marshal(g.Coordinates)
	return string(b)
}

func parseDatasets(v any) ([]string, error) {
	var arr []any
	switch x := v.(type) {
	case string:
		arr = []any{x}
	case []any:
		arr = x
	}
	if len(arr) == 0 {
		return nil, problem.BadData("datasetId must be a URI or a non-empty array of URIs")
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, ok := x.(string)
		if !ok || (s != "@none" && !isURI(s)) {
			return nil, problem.BadData("datasetId: %s is not a URI", show(x))
		}
		out = append(out, s)
	}
	return out, nil
}

// compile parses what needs a context (entity types, q, scopeQ, geoQ) and
// prepares a subscription for matching.
func compile(s *Subscription, ctx *jsonld.Context) (*compiled, error) {
	c := &compiled{Subscription: *s, sig: renderSig(s)}
	for i, e := range s.Entities {
		sel := selector{id: e.ID}
		if e.IDPattern != "" {
			re, err := regexp.Compile(e.IDPattern)
			if err != nil {
				return nil, problem.BadData("entities[%d].idPattern: %v", i, err)
			}
			sel.pattern = re
		}
		t, err := query.ParseTypes(e.Type, ctx)
		if err != nil {
			return nil, prefix("entities["+strconv.Itoa(i)+"].", err)
		}
		sel.types = t
		c.sels = append(c.sels, sel)
	}
	var err error
	if s.Q != "" {
		if c.q, err = query.ParseQ(unescapeQ(s.Q), ctx); err != nil {
			return nil, err
		}
	}
	if s.ScopeQ != "" {
		if c.scope, err = query.ParseScopeQ(s.ScopeQ); err != nil {
			return nil, err
		}
	}
	if s.CSF != "" {
		if _, err = query.ParseQ(s.CSF, ctx); err != nil {
			return nil, prefix("csf: ", err)
		}
	}
	if g := s.GeoQ; g != nil {
		if c.geo, err = query.ParseGeoQuery(g.GeoRel, g.Geometry, g.coordText(), g.GeoProperty, ctx); err != nil {
			return nil, prefix("geoQ: ", err)
		}
	}
	trig := s.Triggers
	if len(trig) == 0 {
		trig = defaultTriggers
	}
	for _, t := range trig {
		c.trig |= trigBit(t)
	}
	if len(s.Watched) > 0 {
		c.watched = make(map[string]bool, len(s.Watched))
		for _, w := range s.Watched {
			c.watched[w] = true
		}
	}
	return c, nil
}

// unescapeQ decodes percent-escapes in a subscription's q, which clients
// copy from URLs (clause 4.9 percent-encodes q in a query string; ETSI TP
// 046_05 sends name=="Eiffel%20Tower"). A q that is not validly escaped is
// taken as written.
func unescapeQ(q string) string {
	if !strings.Contains(q, "%") {
		return q
	}
	if u, err := url.PathUnescape(q); err == nil {
		return u
	}
	return q
}

func prefix(p string, err error) error {
	if pe := problem.As(err); pe != nil {
		return problem.New(pe.Type, "%s%s", p, pe.Detail)
	}
	return err
}

// isURI reports whether s is an absolute URI by the rule of entity ids
// (ngsild.ValidateURI).
func isURI(s string) bool { return ngsild.ValidateURI("", s) == nil }

// validName reports whether s may be an attribute name (clause 4.6.2,
// ngsild.ValidateName); the dot segments "." and ".." are refused too.
func validName(s string) bool {
	return s != "." && s != ".." && ngsild.ValidateName("", s) == nil
}
