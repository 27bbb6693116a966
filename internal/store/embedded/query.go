package embedded

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/qala-city/qala/internal/geo"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// Query implements store.Store. The plan (plan.go) picks where candidates
// come from; this loop decodes (partially, when Filter names the
// attributes it reads) only the candidates that need it, applies Filter,
// and pages.
func (s *Store) Query(ctx context.Context, tenantName string, q store.Query) (store.Result, error) {
	start := time.Now()
	res, err := s.query(ctx, tenantName, q)
	s.metrics.observe(opQuery, start, err)
	return res, err
}

func (s *Store) query(ctx context.Context, tenantName string, q store.Query) (store.Result, error) {
	if s.closed.Load() {
		return store.Result{}, store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return store.Result{}, err
	}
	t := s.tenant(tenantName)
	if t == nil {
		return store.Result{}, store.ErrNoTenant
	}
	q.Offset = max(q.Offset, 0)
	q.Limit = max(q.Limit, 0)
	p, ok := s.plan(q)
	if !ok || (q.Limit == 0 && !q.Count) {
		return store.Result{}, nil
	}

	p.indexValues(t)
	src := p.source(t)
	if w, ok := src.(*walk); ok {
		defer w.release()
	}
	var res store.Result
	known := -1 // the count, when the source gave it
	seen := 0   // candidates that passed every condition so far
	held := 0   // encoded bytes of the entities in res
	for {
		if err := ctx.Err(); err != nil {
			return store.Result{}, err
		}
		cs, fast, done := src.next(t)
		if fast >= 0 {
			known = fast
		}
		seen += p.skipped
		p.skipped = 0
		for _, c := range cs {
			var ent *ngsild.Entity
			if c.geoCheck || q.Filter != nil {
				e, whole, err := s.decodeFor(&p, c)
				if err != nil {
					return store.Result{}, err
				}
				if c.geoCheck && !p.geoMatch(e) {
					continue
				}
				if q.Filter != nil && !q.Filter(e) {
					continue
				}
				if whole {
					ent = e
				}
			}
			seen++
			if seen <= q.Offset || len(res.Entities) >= q.Limit {
				continue
			}
			if held += len(c.data); q.MaxBytes > 0 && held > q.MaxBytes {
				return store.Result{}, store.ErrTooLarge
			}
			if ent == nil {
				e, err := s.cache.decode(s.syms, c.id, c.data)
				if err != nil {
					return store.Result{}, err
				}
				ent = e
			}
			if res.Entities == nil {
				res.Entities = make([]*ngsild.Entity, 0, min(q.Limit, chunk))
			}
			res.Entities = append(res.Entities, ent)
		}
		full := len(res.Entities) >= q.Limit
		if done || (full && (!q.Count || known >= 0)) {
			break
		}
	}
	if q.Count {
		res.Count = seen
		if known >= 0 {
			res.Count = known
		}
	}
	return res, nil
}

// decodeFor decodes what Filter and the geo test of c need: the whole
// entity (whole is then true) or only the attributes they read.
func (s *Store) decodeFor(p *plan, c cand) (e *ngsild.Entity, whole bool, err error) {
	only := p.partial
	if only == nil || (p.q.Filter == nil && !c.geoCheck) {
		e, err = s.cache.decode(s.syms, c.id, c.data)
		return e, true, err
	}
	e, err = decodePartial(s.syms, c.id, c.data, only)
	return e, false, err
}

// geoMatch is GeoMatch on a decoded entity: some instance of the geo
// attribute holds a valid geometry that GeoMatch accepts.
func (p *plan) geoMatch(e *ngsild.Entity) bool {
	for _, a := range e.Attrs[p.q.GeoAttr] {
		if a == nil || a.Type != ngsild.GeoProperty {
			continue
		}
		if g, err := geo.ParseGeometry(a.Value); err == nil && p.q.GeoMatch(g) {
			return true
		}
	}
	return false
}

// Within returns, in ascending order, the ids of the tenant's entities with an
// instance of the GeoProperty attr (expanded name) whose bounding box
// intersects the box lo–hi (longitude, latitude). They are candidates: the
// caller checks the exact geometry.
func (s *Store) Within(ctx context.Context, tenantName, attr string, lo, hi [2]float64) ([]string, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := s.tenant(tenantName)
	if t == nil {
		return nil, store.ErrNoTenant
	}
	sym, ok := s.syms.lookup(attr)
	if !ok {
		return nil, nil
	}
	var ids []string
	t.mu.RLock()
	for k, g := range t.geo {
		if k.attr != sym {
			continue
		}
		g.tr.Search(lo, hi, func(_, _ [2]float64, it geoItem) bool {
			ids = append(ids, it.r.id)
			return true
		})
	}
	t.mu.RUnlock()
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// metresPerDegree is the length of one degree of latitude (and of longitude
// at the equator) on the WGS 84 mean sphere.
const metresPerDegree = 111_195.0

// Near returns the candidate ids (as Within) of entities whose attr lies
// within metres of the point (lon, lat): those whose bounding box meets the
// bounding box of that circle.
func (s *Store) Near(ctx context.Context, tenantName, attr string, lon, lat, metres float64) ([]string, error) {
	dLat := metres / metresPerDegree
	dLon := 360.0
	if c := math.Cos(lat * math.Pi / 180); c > 1e-9 {
		dLon = min(dLat/c, 360)
	}
	if lat-dLat <= -90 || lat+dLat >= 90 {
		dLon = 360 // the circle covers a pole
	}
	lo := [2]float64{lon - dLon, lat - dLat}
	hi := [2]float64{lon + dLon, lat + dLat}
	ids, err := s.Within(ctx, tenantName, attr, lo, hi)
	if err != nil || (lo[0] >= -180 && hi[0] <= 180) {
		return ids, err
	}
	// The box crosses the antimeridian: search the wrapped part too.
	wlo, whi := lo, hi
	if lo[0] < -180 {
		wlo[0], whi[0] = lo[0]+360, 180
	} else {
		wlo[0], whi[0] = -180, hi[0]-360
	}
	more, err := s.Within(ctx, tenantName, attr, wlo, whi)
	if err != nil {
		return nil, err
	}
	ids = append(ids, more...)
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
