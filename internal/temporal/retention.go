package temporal

import (
	"context"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
)

// RetentionResult says what one retention pass dropped.
type RetentionResult struct {
	Series   int `json:"series"`   // series whose old days were dropped
	Removed  int `json:"removed"`  // series left empty and removed
	Entities int `json:"entities"` // entities left without history and removed
}

// ApplyRetention drops, for every entity whose tenant and types have a
// retention, the instances of the UTC days that ended more than the
// retention ago, and their roll-ups: whole days with one range deletion per
// series and key space, never instance by instance. Days that are only
// partly older than the retention are kept whole until they are wholly
// older. A series left empty is removed, and an entity left without series.
func (s *Store) ApplyRetention(ctx context.Context) (RetentionResult, error) {
	var res RetentionResult
	cfg := s.cfg.Load()
	now := s.now()
	for _, e := range s.cat.allEntities() {
		if err := s.checkOpen(ctx); err != nil {
			return res, err
		}
		if !e.committed.Load() || e.dead.Load() {
			continue
		}
		e.mu.RLock()
		ret := cfg.retentionFor(s.cat.tenantOf(e), s.cat.typesOf(e))
		var ss []*series
		if !ret.IsZero() {
			ss = s.cat.list(e)
		}
		dropBefore := e.dropBefore
		e.mu.RUnlock()
		if ret.IsZero() {
			continue
		}
		cutoff := window(ret.Step(now, -1).UnixMilli()) // windows before it are wholly older
		if cutoff <= dropBefore {
			continue
		}
		for _, x := range ss {
			dropped, removed, err := s.retainSeries(x, cutoff)
			if err != nil {
				return res, err
			}
			if dropped {
				res.Series++
			}
			if removed {
				res.Removed++
			}
		}
		e.mu.Lock()
		e.dropBefore = max(e.dropBefore, cutoff)
		empty := e.first == 0
		e.mu.Unlock()
		if empty && len(ss) > 0 {
			if err := s.db.Delete(entityKey(s.cat.tenantOf(e), s.cat.idOf(e)), pebble.NoSync); err != nil {
				return res, err
			}
			s.cat.removeEntity(e)
			res.Entities++
		}
	}
	if s.metrics != nil {
		s.metrics.retained.Add(float64(res.Series))
	}
	return res, nil
}

// retainSeries drops the windows of a series before cutoff.
func (s *Store) retainSeries(x *series, cutoff int64) (dropped, removed bool, err error) {
	x.wmu.Lock()
	defer x.wmu.Unlock()
	if x.isDead() {
		return false, false, nil
	}
	b := s.db.NewBatch()
	defer b.Close()
	whole := x.lastT == math.MinInt64 || window(x.lastT) < cutoff
	if whole {
		if err := deleteSeriesData(b, x.id, math.MaxInt64); err != nil {
			return false, false, err
		}
		if err := b.Delete(seriesKey(x.id), nil); err != nil {
			return false, false, err
		}
	} else if err := deleteSeriesData(b, x.id, cutoff); err != nil {
		return false, false, err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return false, false, fmt.Errorf("temporal: retention: %w", err)
	}
	if whole {
		s.cat.removeSeries(x)
	}
	return true, whole, nil
}
