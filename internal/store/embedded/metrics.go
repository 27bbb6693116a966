package embedded

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qala-city/qala/internal/store"
)

// Store operations, as metric labels.
const (
	opWrite = "write"
	opGet   = "get"
	opQuery = "query"
)

// metrics are the store's Prometheus metrics; a nil *metrics records nothing.
type metrics struct {
	reg      prometheus.Registerer
	ops      *prometheus.CounterVec
	duration *prometheus.HistogramVec
	group    prometheus.Histogram
	entities *entitiesCollector
	lastSeq  prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, s *Store) (*metrics, error) {
	m := &metrics{
		reg: reg,
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qala_store_operations_total",
			Help: "Store operations by operation and result (ok, not_found, error).",
		}, []string{"op", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "qala_store_operation_duration_seconds",
			Help:    "Latency of store operations; a write includes its fsync.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 12),
		}, []string{"op"}),
		group: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "qala_store_write_group_size",
			Help:    "Changed entities per committed write group.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		entities: &entitiesCollector{s: s, desc: prometheus.NewDesc("qala_store_entities",
			"Entities per tenant.", []string{"tenant"}, nil)},
		lastSeq: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qala_store_last_seq",
			Help: "Seq of the last durable change event: followers (history, subscriptions) are behind by the difference to their cursor."},
			func() float64 { return float64(s.LastSeq()) }),
	}
	for _, c := range []prometheus.Collector{m.ops, m.duration, m.group, m.entities, m.lastSeq} {
		if err := reg.Register(c); err != nil {
			m.unregister()
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(op string, start time.Time, err error) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrNoTenant):
		result = "not_found"
	default:
		result = "error"
	}
	m.ops.WithLabelValues(op, result).Inc()
}

func (m *metrics) observeGroup(n int) {
	if m == nil || n == 0 {
		return
	}
	m.group.Observe(float64(n))
}

func (m *metrics) unregister() {
	if m == nil {
		return
	}
	for _, c := range []prometheus.Collector{m.ops, m.duration, m.group, m.entities, m.lastSeq} {
		m.reg.Unregister(c)
	}
}

// entitiesCollector reports the entities of each tenant at scrape time.
type entitiesCollector struct {
	s    *Store
	desc *prometheus.Desc
}

func (c *entitiesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *entitiesCollector) Collect(ch chan<- prometheus.Metric) {
	for tenant, n := range c.s.Count(context.Background()) {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), tenant)
	}
}
