package subscription

import (
	"math"
	"strings"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/problem"
)

// parseNotification reads NotificationParams (clause 5.2.14).
func parseNotification(v any, ctx *jsonld.Context) (Notification, error) {
	var n Notification
	m, ok := v.(map[string]any)
	if !ok {
		return n, problem.BadData("notification must be an object (clause 5.2.14)")
	}
	ep, ok := m["endpoint"]
	if !ok || ep == nil {
		return n, problem.BadData("notification.endpoint is missing (clause 5.2.14)")
	}
	var err error
	for _, k := range sortedKeys(m) {
		val := m[k]
		switch k {
		case "attributes":
			n.Attributes, err = termList("notification.attributes", val, ctx)
		case "format":
			s, _ := val.(string)
			switch s {
			case "normalized", "concise", "keyValues":
				n.Format = s
			case "simplified":
				n.Format = "keyValues"
			default:
				return n, problem.BadData("notification.format must be normalized, concise or keyValues, not %s", show(val))
			}
		case "sysAttrs", "showChanges":
			b, ok := val.(bool)
			if !ok {
				return n, problem.BadData("notification.%s must be true or false", k)
			}
			if k == "sysAttrs" {
				n.SysAttrs = b
			} else {
				n.ShowChanges = b
			}
		case "pick", "omit":
			var l []string
			if l, err = members("notification."+k, val, ctx); err == nil {
				if k == "pick" {
					n.Pick = l
				} else {
					n.Omit = l
				}
			}
		case "join":
			s, _ := val.(string)
			if s != "flat" && s != "inline" && s != "@none" {
				return n, problem.BadData("notification.join must be flat, inline or @none, not %s", show(val))
			}
			n.Join = s
		case "joinLevel":
			f, ok := val.(float64)
			if !ok || f < 1 || f != math.Trunc(f) || f > 100 {
				return n, problem.BadData("notification.joinLevel must be a positive integer")
			}
			n.JoinLevel = int(f)
		case "endpoint":
			n.Endpoint, err = parseEndpoint(val)
		case "status", "timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure":
			// maintained by the broker
		default:
			return n, problem.BadData("notification: %s is not a member of NotificationParams (clause 5.2.14)", k)
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// members reads pick or omit: entity members and attribute names, as an
// array or a comma-separated string.
func members(k string, v any, ctx *jsonld.Context) ([]string, error) {
	var items []string
	switch x := v.(type) {
	case string:
		for _, p := range strings.Split(x, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, problem.BadData("%s: %s is not a member name", k, show(e))
			}
			items = append(items, s)
		}
	}
	if len(items) == 0 {
		return nil, problem.BadData("%s must name at least one member", k)
	}
	out := make([]string, 0, len(items))
	for _, s := range items {
		if !validName(s) || strings.ContainsAny(s, "{}") {
			return nil, problem.BadData("%s: %q is not a valid member name", k, s)
		}
		switch s {
		case "id", "type", "scope":
			out = append(out, s)
		default:
			out = append(out, ctx.ExpandTerm(s))
		}
	}
	return out, nil
}

func parseEndpoint(v any) (Endpoint, error) {
	var e Endpoint
	m, ok := v.(map[string]any)
	if !ok {
		return e, problem.BadData("notification.endpoint must be an object (clause 5.2.15)")
	}
	for k, val := range m {
		switch k {
		case "uri":
			s, ok := val.(string)
			if !ok || !isURI(s) {
				return e, problem.BadData("notification.endpoint.uri must be a URI, not %s", show(val))
			}
			switch strings.ToLower(s[:strings.IndexByte(s, ':')]) {
			case "http", "https", "mqtt", "mqtts":
			default:
				return e, problem.BadData("notification.endpoint.uri: scheme of %q is not http, https, mqtt or mqtts", s)
			}
			e.URI = s
		case "accept":
			s, _ := val.(string)
			switch s {
			case "application/json", "application/ld+json", "application/geo+json":
				e.Accept = s
			default:
				return e, problem.BadData("notification.endpoint.accept must be application/json, application/ld+json or application/geo+json, not %s", show(val))
			}
		case "timeout", "cooldown":
			f, ok := val.(float64)
			if !ok || f < 0 || f > 1e9 {
				return e, problem.BadData("notification.endpoint.%s must be a non-negative number of milliseconds", k)
			}
			if k == "timeout" {
				e.Timeout = f
			} else {
				e.Cooldown = f
			}
		case "receiverInfo", "notifierInfo":
			kvs, err := keyValues("notification.endpoint."+k, val)
			if err != nil {
				return e, err
			}
			if k == "receiverInfo" {
				e.ReceiverInfo = kvs
			} else {
				e.NotifierInfo = kvs
			}
		default:
			return e, problem.BadData("notification.endpoint: %s is not a member of an endpoint (clause 5.2.15)", k)
		}
	}
	if e.URI == "" {
		return e, problem.BadData("notification.endpoint.uri is missing (clause 5.2.15)")
	}
	return e, nil
}

func keyValues(k string, v any) ([]KeyValue, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, problem.BadData("%s must be an array of {key, value} objects", k)
	}
	out := make([]KeyValue, 0, len(arr))
	for _, x := range arr {
		m, ok := x.(map[string]any)
		key, ok1 := m["key"].(string)
		val, ok2 := m["value"].(string)
		if !ok || !ok1 || !ok2 || len(m) != 2 || key == "" || strings.ContainsAny(key+val, "\r\n") {
			return nil, problem.BadData("%s: %s is not a {key, value} pair of strings", k, show(x))
		}
		out = append(out, KeyValue{key, val})
	}
	return out, nil
}
