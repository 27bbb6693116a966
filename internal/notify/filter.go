package notify

import (
	"net/url"
	"strconv"

	"github.com/qala-city/qala/internal/problem"
)

// Filter selects dead letters in the admin API (query parameters
// subscription, tenant, endpoint, notificationId); an empty filter selects
// all. endpoint matches the full URI or scheme://host:port.
type Filter struct {
	Subscription   string
	Tenant         string
	TenantSet      bool // tenant given ("" is the default tenant)
	Endpoint       string
	NotificationID string
}

func (f *Filter) empty() bool {
	return f.Subscription == "" && !f.TenantSet && f.Endpoint == "" && f.NotificationID == ""
}

func (f *Filter) match(m *deadMeta) bool {
	return (f.Subscription == "" || m.Subscription == f.Subscription) &&
		(!f.TenantSet || m.Tenant == f.Tenant) &&
		(f.Endpoint == "" || m.URI == f.Endpoint || m.Endpoint == f.Endpoint || m.Endpoint == endpointLabel(f.Endpoint)) &&
		(f.NotificationID == "" || m.ID == f.NotificationID)
}

// listQuery is a parsed admin query: a filter, paging, and "all" (needed to
// replay or delete every dead letter with an empty filter).
type listQuery struct {
	Filter
	Limit  int
	Offset int
	All    bool
}

const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// parseListQuery parses the admin API's query string. Unknown or repeated
// parameters and malformed numbers are BadRequestData.
func parseListQuery(raw string) (listQuery, error) {
	q := listQuery{Limit: defaultListLimit}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return q, problem.BadData("malformed query string: %v", err)
	}
	for k, vals := range v {
		if len(vals) != 1 {
			return q, problem.BadData("query parameter %q given %d times", k, len(vals))
		}
		s := vals[0]
		switch k {
		case "subscription", "subscriptionId":
			q.Subscription = s
		case "tenant":
			q.Tenant, q.TenantSet = s, true
		case "endpoint":
			q.Endpoint = s
		case "notificationId":
			q.NotificationID = s
		case "limit":
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > maxListLimit {
				return q, problem.BadData("limit must be an integer from 1 to %d, not %q", maxListLimit, s)
			}
			q.Limit = n
		case "offset":
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return q, problem.BadData("offset must be a non-negative integer, not %q", s)
			}
			q.Offset = n
		case "all":
			b, err := strconv.ParseBool(s)
			if err != nil {
				return q, problem.BadData("all must be true or false, not %q", s)
			}
			q.All = b
		default:
			return q, problem.BadData("unknown query parameter %q (subscription, tenant, endpoint, notificationId, limit, offset, all)", k)
		}
	}
	return q, nil
}
