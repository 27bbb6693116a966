package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/subscription"
)

const subscriptionsPath = "/ngsi-ld/v1/subscriptions/"

// subscriptions returns the registry, or OperationNotSupported when this
// API serves none.
func (c *call) subscriptions() (*subscription.Registry, error) {
	if c.api.cfg.Subscriptions == nil {
		return nil, problem.New(problem.OperationNotSupported, "subscriptions are not available on this server")
	}
	return c.api.cfg.Subscriptions, nil
}

// subscriptionID returns the subscriptionId path parameter, checked to be a
// URI (BadRequestData, clause 5.8.2 to 5.8.5).
func (c *call) subscriptionID() (string, error) {
	id := c.params["subscriptionId"]
	if !isURI(id) {
		return "", problem.BadData("subscription id %q is not a URI", id)
	}
	return id, nil
}

// createSubscription is Create Subscription (clause 5.8.1, 6.10.3.1).
func (a *API) createSubscription(c *call) (*response, error) {
	reg, err := c.subscriptions()
	if err != nil {
		return nil, err
	}
	doc, ctx, err := c.readObject(false)
	if err != nil {
		return nil, err
	}
	s, err := subscription.Parse(doc, ctx, time.Now().UTC())
	if err != nil {
		return nil, err
	}
	if err := reg.Create(c.r.Context(), c.tenant, s); err != nil {
		return nil, err
	}
	resp := &response{status: http.StatusCreated}
	resp.setHeader("Location", subscriptionsPath+url.PathEscape(s.ID))
	return resp, nil
}

// subscriptionView reads what the subscription reads render with: the
// negotiated media type, the request's @context and options=sysAttrs.
func (c *call) subscriptionView() (mt string, ctx *jsonld.Context, sys bool, err error) {
	if mt, err = c.accept(false); err != nil {
		return
	}
	if ctx, err = c.linkContext(); err != nil {
		return
	}
	opts, err := c.optionSet("options", "sysAttrs")
	return mt, ctx, opts["sysAttrs"], err
}

// retrieveSubscription is Retrieve Subscription (clause 5.8.3, 6.11.3.1).
func (a *API) retrieveSubscription(c *call) (*response, error) {
	reg, err := c.subscriptions()
	if err != nil {
		return nil, err
	}
	id, err := c.subscriptionID()
	if err != nil {
		return nil, err
	}
	mt, ctx, sys, err := c.subscriptionView()
	if err != nil {
		return nil, err
	}
	v, err := reg.Get(c.tenant, id)
	if err != nil {
		return nil, err
	}
	var inc any
	if mt == mtLD {
		inc = contextValue(ctx)
	}
	return withContext(&response{body: v.Render(ctx, time.Now(), sys, inc)}, mt, ctx), nil
}

// querySubscriptions is Query Subscriptions (clause 5.8.4, 6.10.3.2): the
// tenant's subscriptions in id order, paginated like Query Entities.
func (a *API) querySubscriptions(c *call) (*response, error) {
	reg, err := c.subscriptions()
	if err != nil {
		return nil, err
	}
	mt, ctx, sys, err := c.subscriptionView()
	if err != nil {
		return nil, err
	}
	count, err := boolParam(c, "count")
	if err != nil {
		return nil, err
	}
	limit, offset, err := c.page(count)
	if err != nil {
		return nil, err
	}
	all := reg.List(c.tenant)
	resp := &response{}
	if count {
		resp.setHeader("NGSILD-Results-Count", strconv.Itoa(len(all)))
	}
	page := all[min(offset, len(all)):min(offset+limit, len(all))]
	now := time.Now()
	var inc any
	if mt == mtLD {
		inc = contextValue(ctx)
	}
	out := make([]ngsild.Doc, len(page))
	for i, v := range page {
		out[i] = v.Render(ctx, now, sys, inc)
	}
	resp.body = out
	resp = withContext(resp, mt, ctx)
	c.pageLinks(resp, offset, limit, offset+limit < len(all), mt)
	// Page links in their compact form, without blanks around ";" (both
	// are RFC 8288; ETSI TP 031_02 compares the compact one as a string).
	if ls := resp.header.Values("Link"); len(ls) > 0 {
		for i, l := range ls {
			if strings.Contains(l, `rel="prev"`) || strings.Contains(l, `rel="next"`) {
				ls[i] = strings.ReplaceAll(l, "; ", ";")
			}
		}
	}
	return resp, nil
}

// updateSubscription is Update Subscription (clause 5.8.2, 6.11.3.2).
func (a *API) updateSubscription(c *call) (*response, error) {
	reg, err := c.subscriptions()
	if err != nil {
		return nil, err
	}
	id, err := c.subscriptionID()
	if err != nil {
		return nil, err
	}
	doc, ctx, err := c.readObject(true)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	err = reg.Update(c.r.Context(), c.tenant, id, func(s *subscription.Subscription) (*subscription.Subscription, error) {
		return subscription.Patch(s, doc, ctx, now)
	})
	if err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

// deleteSubscription is Delete Subscription (clause 5.8.5, 6.11.3.3).
func (a *API) deleteSubscription(c *call) (*response, error) {
	reg, err := c.subscriptions()
	if err != nil {
		return nil, err
	}
	id, err := c.subscriptionID()
	if err != nil {
		return nil, err
	}
	if err := reg.Delete(c.tenant, id); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}
