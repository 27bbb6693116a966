package temporal

import "github.com/prometheus/client_golang/prometheus"

// metrics are the history store's Prometheus metrics.
type metrics struct {
	instances   prometheus.Counter
	compactions prometheus.Counter
	retained    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, s *Store) (*metrics, error) {
	m := &metrics{
		instances: prometheus.NewCounter(prometheus.CounterOpts{Name: "qala_history_instances_written_total",
			Help: "Attribute instances written to the history (change log and temporal API)."}),
		compactions: prometheus.NewCounter(prometheus.CounterOpts{Name: "qala_history_windows_compacted_total",
			Help: "Windows (series days) whose chunks were merged."}),
		retained: prometheus.NewCounter(prometheus.CounterOpts{Name: "qala_history_retention_series_total",
			Help: "Series whose old days retention dropped."}),
	}
	collectors := []prometheus.Collector{m.instances, m.compactions, m.retained,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qala_history_cursor",
			Help: "Seq of the last change event recorded in the history."}, func() float64 { return float64(s.Cursor()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qala_history_series",
			Help: "Series (attribute, datasetId of an entity) with history."}, func() float64 {
			return float64(s.cat.seriesCount())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "qala_history_disk_bytes",
			Help: "Size of the history database on disk."}, func() float64 { return float64(s.DiskBytes()) }),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
