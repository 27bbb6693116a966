package api

import (
	"math"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/temporal"
)

// The byte renderer of plain numeric instances must give what the Doc
// renderer gives (clause 4.5.7, the temporal representation of an
// attribute: its instances with instanceId).
func TestPlainInstanceMatchesDocRenderer(t *testing.T) {
	at := time.UnixMilli(1767484740250).UTC()
	whole := time.UnixMilli(1767484740000).UTC()
	attrs := []*ngsild.Attr{
		{Type: ngsild.Property, Value: 18.2, ObservedAt: whole},
		{Type: ngsild.Property, Value: -0.5, ObservedAt: at, UnitCode: "CEL", DatasetID: "urn:ds:1"},
		{Type: ngsild.Property, Value: 1e21, ObservedAt: at, CreatedAt: whole, ModifiedAt: at},
		{Type: ngsild.Property, Value: float64(70), CreatedAt: whole, ModifiedAt: whole, DeletedAt: at},
		{Type: ngsild.Property, Value: 3.0e-7, ObservedAt: at, UnitCode: `q"\u`},
		{Type: ngsild.Property, Value: math.Copysign(0, -1), ObservedAt: at},
	}
	for _, sys := range []bool{false, true} {
		o := ngsild.RenderOptions{SysAttrs: sys}
		for i, a := range attrs {
			in := temporal.Instance{ID: "urn:ngsi-ld:Instance:4.1767484740000.4319", Attr: a, Time: at.UnixMilli()}
			fast, ok := appendPlainInstance(nil, in, &o)
			if !ok {
				t.Fatalf("attr %d: not rendered as plain", i)
			}
			slow := appendInstanceDoc(nil, in, &o)
			if string(fast) != string(slow) {
				t.Errorf("attr %d sysAttrs=%v:\n fast %s\n doc  %s", i, sys, fast, slow)
			}
		}
	}
	// Not plain: left to the Doc renderer.
	o := ngsild.RenderOptions{}
	for _, a := range []*ngsild.Attr{
		{Type: ngsild.Property, Value: "text"},
		{Type: ngsild.Property, Value: 1.5, Sub: map[string]*ngsild.Attr{"x": {Type: ngsild.Property, Value: 1.0}}},
		{Type: ngsild.Relationship, Object: "urn:a"},
	} {
		if _, ok := appendPlainInstance(nil, temporal.Instance{Attr: a}, &o); ok {
			t.Errorf("%+v rendered as plain", a)
		}
	}
	o.Format = ngsild.Concise
	if _, ok := appendPlainInstance(nil, temporal.Instance{Attr: attrs[0]}, &o); ok {
		t.Error("concise rendered as plain")
	}
}
