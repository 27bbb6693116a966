package notify

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the delivery metrics. Counters are labelled by subscription
// and endpoint (scheme://host:port, never the path, so the cardinality is
// subscriptions x receivers); the latency histogram and the gauges by
// endpoint only.
type metrics struct {
	reg        prometheus.Registerer
	collectors []prometheus.Collector
	sent       *prometheus.CounterVec
	failed     *prometheus.CounterVec
	retried    *prometheus.CounterVec
	dead       *prometheus.CounterVec
	dropped    prometheus.Counter
	deadDrops  prometheus.Counter
	latency    *prometheus.HistogramVec

	mu     sync.RWMutex
	series map[seriesKey]*series
}

type seriesKey struct{ sub, label string }

// series are the counters of one subscription and endpoint, looked up once.
type series struct {
	sent, failed, retried prometheus.Counter
	latency               prometheus.Observer
}

func (m *metrics) seriesOf(sub, label string) *series {
	k := seriesKey{sub, label}
	m.mu.RLock()
	s := m.series[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.series[k]; s == nil {
		s = &series{sent: m.sent.WithLabelValues(sub, label), failed: m.failed.WithLabelValues(sub, label),
			retried: m.retried.WithLabelValues(sub, label), latency: m.latency.WithLabelValues(label)}
		m.series[k] = s
	}
	return s
}

func newMetrics(reg prometheus.Registerer, d *Dispatcher) (*metrics, error) {
	labels := []string{"subscription", "endpoint"}
	m := &metrics{
		reg:    reg,
		series: map[seriesKey]*series{},
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qala_notify_sent_total",
			Help: "Notifications delivered (2xx, or the MQTT publish completed)."}, labels),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qala_notify_failed_total",
			Help: "Failed delivery attempts."}, labels),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qala_notify_retried_total",
			Help: "Failed attempts followed by a retry."}, labels),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qala_notify_dead_lettered_total",
			Help: "Notifications moved to the dead letters after their last attempt."}, labels),
		deadDrops: prometheus.NewCounter(prometheus.CounterOpts{Name: "qala_notify_dead_letters_dropped_total",
			Help: "Oldest dead letters dropped to keep within the bound."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "qala_notify_dropped_total",
			Help: "Notifications dropped unsent because their subscription was deleted."}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "qala_notify_delivery_latency_seconds",
			Help:    "From the notification's creation to its successful delivery.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}}, []string{"endpoint"}),
	}
	m.collectors = []prometheus.Collector{m.sent, m.failed, m.retried, m.dead, m.dropped, m.deadDrops, m.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qala_notify_outbox_messages",
			Help: "Notifications in the durable outbox (not yet delivered or dead-lettered)."},
			func() float64 { return float64(d.stored.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qala_notify_dead_letters",
			Help: "Dead letters kept."}, func() float64 { return float64(d.dead.len()) }),
		&subCollector{d: d, depth: prometheus.NewDesc("qala_notify_subscription_queue_depth",
			"Notifications of a subscription not yet delivered or dead-lettered (reported while non-zero).", []string{"subscription"}, nil)},
		&queueCollector{d: d,
			depth:    prometheus.NewDesc("qala_notify_queue_depth", "Notifications waiting for an endpoint (memory and outbox).", []string{"endpoint"}, nil),
			inflight: prometheus.NewDesc("qala_notify_in_flight", "Delivery attempts in progress to an endpoint.", []string{"endpoint"}, nil),
			backoff:  prometheus.NewDesc("qala_notify_endpoint_failing", "1 while an endpoint's last attempt failed.", []string{"endpoint"}, nil),
		},
	}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, r := range m.collectors[:i] {
				reg.Unregister(r)
			}
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) unregister() {
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}

// attempt counts an attempt.
func (m *metrics) attempt(a *Attempt, label string) {
	s := m.seriesOf(a.Msg.Subscription, label)
	if a.OK {
		s.sent.Inc()
		s.latency.Observe(a.Latency.Seconds())
		return
	}
	s.failed.Inc()
	if !a.Final {
		s.retried.Inc()
	}
}

func (m *metrics) deadLettered(msg *Message, label string, dropped int) {
	m.dead.WithLabelValues(msg.Subscription, label).Inc()
	if dropped > 0 {
		m.deadDrops.Add(float64(dropped))
	}
}

// forget drops a subscription's series.
func (m *metrics) forget(sub string) {
	m.mu.Lock()
	for k := range m.series {
		if k.sub == sub {
			delete(m.series, k)
		}
	}
	m.mu.Unlock()
	l := prometheus.Labels{"subscription": sub}
	m.sent.DeletePartialMatch(l)
	m.failed.DeletePartialMatch(l)
	m.retried.DeletePartialMatch(l)
	m.dead.DeletePartialMatch(l)
}

// ForgetSubscription drops the metrics of a deleted subscription (its
// messages still in the outbox are delivered).
func (d *Dispatcher) ForgetSubscription(id string) {
	if d.metrics != nil {
		d.metrics.forget(id)
	}
}

// queueCollector reports the queues' gauges at scrape time.
type queueCollector struct {
	d                        *Dispatcher
	depth, inflight, backoff *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.inflight
	ch <- c.backoff
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	type agg struct{ depth, inflight, failing int }
	by := map[string]*agg{}
	for _, s := range c.d.endpointStates() {
		a := by[s.Endpoint]
		if a == nil {
			a = &agg{}
			by[s.Endpoint] = a
		}
		a.depth += s.Queued
		a.inflight += s.InFlight
		if s.Failures > 0 {
			a.failing = 1
		}
	}
	for l, a := range by {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(a.depth), l)
		ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(a.inflight), l)
		ch <- prometheus.MustNewConstMetric(c.backoff, prometheus.GaugeValue, float64(a.failing), l)
	}
}

// subCollector reports the subscriptions' queue depths at scrape time.
type subCollector struct {
	d     *Dispatcher
	depth *prometheus.Desc
}

func (c *subCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.depth }

func (c *subCollector) Collect(ch chan<- prometheus.Metric) {
	c.d.bySub.Range(func(k, v any) bool {
		if n := v.(*atomic.Int64).Load(); n != 0 {
			ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), k.(string))
		}
		return true
	})
}
