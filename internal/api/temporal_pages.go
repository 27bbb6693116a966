package api

import "github.com/qala-city/qala/internal/temporal"

// Navigation of the temporal API's pages.
//
// Entities: GET /temporal/entities pages the entities with limit and
// offset like GET /entities (clause 5.5.9 and 6.3.10), with the
// rel="prev" and rel="next" links of pageLinks.
//
// Instances: a response cut to a time range is 206 Partial Content with a
// Content-Range of DateTimes (clause 6.3.10, see paginate); the next page
// is the same request for the rest of the time range, forwards without
// lastN and backwards with it. GS CIM 009 v1.8 leaves the client to build
// it from Content-Range; intervalLink also gives it as a link, with the
// relations ETSI later named for it (rel="intervalafter" for the later
// instances, rel="intervalbefore" for the earlier ones; TS 104 176
// clause 6.4.7), expressed with the v1.8 parameters timerel, timeAt and
// endTimeAt. lastN is kept as asked: the Content-Range size it gives.

// intervalLink adds the link to the rest of the time range of a truncated
// GET response.
func (c *call) intervalLink(resp *response, res *temporalResult, req *temporalRequest) {
	if c.r.Method != "GET" || !res.truncated {
		return
	}
	q := req.q
	set := map[string]string{}
	rel := "intervalafter"
	if q.LastN == 0 {
		// Forwards: every instance at rangeEnd is in this page.
		next := formatTemporalTime(res.rangeEnd + 1)
		switch q.Rel {
		case temporal.Between:
			set["timeAt"] = next
		case temporal.Before:
			set["timerel"], set["timeAt"], set["endTimeAt"] = "between", next, formatTemporalTime(q.At)
		default:
			set["timerel"], set["timeAt"], set["endTimeAt"] = "after", next, ""
		}
	} else {
		// Backwards: the earlier instances, before rangeEnd.
		rel = "intervalbefore"
		prev := formatTemporalTime(res.rangeEnd)
		switch q.Rel {
		case temporal.Between:
			set["endTimeAt"] = prev
		case temporal.After:
			set["timerel"], set["endTimeAt"] = "between", prev
		default:
			set["timerel"], set["timeAt"], set["endTimeAt"] = "before", prev, ""
		}
	}
	c.addLink(resp, c.selfLink(set, rel, req.mt))
}
