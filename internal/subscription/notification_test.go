package subscription

import (
	"fmt"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// TestEnvelope: the Notification spliced from a subscription's prepared
// parts is byte for byte what the JSON encoder makes of its members, with
// the @context member and Link header each accept asks for.
func TestEnvelope(t *testing.T) {
	r := newRegistry(t)
	for i, accept := range []string{"", mtJSON, mtLD, mtGeo} {
		ep := `{"uri":"http://127.0.0.1:9/"}`
		if accept != "" {
			ep = fmt.Sprintf(`{"uri":"http://127.0.0.1:9/","accept":%q}`, accept)
		}
		create(t, r, fmt.Sprintf(`{"id":"urn:ngsi-ld:Subscription:e&%d","type":"Subscription","entities":[{"type":"Car"}],"notification":{"endpoint":%s}}`, i, ep))
	}
	ev := carEvent(9)
	now := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	msgs, _, err := r.match([]store.Event{ev}, now, nil)
	if err != nil || len(msgs) != 4 {
		t.Fatalf("%d notifications, %v", len(msgs), err)
	}
	for _, m := range msgs {
		c := r.tenants[""].subs[m.Subscription]
		data := c.data([]ngsild.Doc{c.renderEntity(&ev, c.renderOptions())}, []*ngsild.Entity{ev.After})
		want := ngsild.Doc{}
		accept := c.endpoint().Accept
		if accept == mtLD || accept == mtGeo {
			want = want.Add("@context", ContextValue(c.nctx))
		}
		want = want.Add("id", NotificationID("", c.ID, 9)).Add("type", "Notification").Add("subscriptionId", c.ID).
			Add("notifiedAt", ts(now)).Add("data", data)
		b, err := want.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Body) != string(b) {
			t.Errorf("%s (%s):\n got %s\nwant %s", c.ID, accept, m.Body, b)
		}
		if (m.Link != "") != (accept != mtLD) || m.ContentType != accept || m.Seq != 9 || m.ID != NotificationID("", c.ID, 9) {
			t.Errorf("%s (%s): Link %q, Content-Type %q, Seq %d, ID %s", c.ID, accept, m.Link, m.ContentType, m.Seq, m.ID)
		}
	}
}
