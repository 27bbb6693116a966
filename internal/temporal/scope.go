package temporal

import (
	"errors"
	"math"
)

// ScopeSpan is a span of time during which an entity had a scope: clause
// 4.18 makes a scope valid from the time it is set until it is replaced or
// removed. Its time is the key time of the scope instance (observedAt when
// given, else when it was recorded).
type ScopeSpan struct {
	From, To int64 // [From, To), Unix ms; To is math.MaxInt64 while valid
	Scope    []string
	Instance Instance // the scope instance that set it
}

// ErrTooManyScopeChanges: an entity's scope changed more often than
// ScopeSpans reads.
var ErrTooManyScopeChanges = errors.New("temporal: too many scope changes to evaluate a scope query")

// maxScopeChanges bounds the scope instances ScopeSpans reads.
const maxScopeChanges = 100000

// ScopeSpans returns the spans of a scope series (ScopeAttr) in time
// order; a removed scope leaves a gap.
func (r *Reader) ScopeSpans(si SeriesInfo) ([]ScopeSpan, error) {
	h, more, err := r.hitsParts(si.ID, Query{}, maxScopeChanges, true)
	if err != nil {
		return nil, err
	}
	if more {
		return nil, ErrTooManyScopeChanges
	}
	var spans []ScopeSpan
	for i := range h {
		x := &h[i].x
		to := int64(math.MaxInt64)
		if i+1 < len(h) {
			to = h[i+1].x.t
		}
		if x.flags&flagDeleted != 0 || x.a == nil || x.t == to {
			continue
		}
		list, _ := x.a.Value.([]any)
		var scope []string
		for _, v := range list {
			if s, ok := v.(string); ok {
				scope = append(scope, s)
			}
		}
		if len(scope) == 0 {
			continue
		}
		spans = append(spans, ScopeSpan{From: x.t, To: to, Scope: scope,
			Instance: Instance{ID: instanceID(si.ID, x.t, x.num), Attr: x.toAttr(si.DatasetID), Time: x.t}})
	}
	return spans, nil
}
