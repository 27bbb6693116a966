package server

import (
	"context"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/demo"
	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/store/embedded"
)

// BenchmarkDemoLoad measures loading the whole demo city through the write
// path (parse with the Smart Data Models context, upsert, durable commit).
func BenchmarkDemoLoad(b *testing.B) {
	city, err := demo.New(2030)
	if err != nil {
		b.Fatal(err)
	}
	res, err := jsonld.New(jsonld.Config{})
	if err != nil {
		b.Fatal(err)
	}
	docs := city.Entities(time.Now())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := embedded.Open(embedded.Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		w := &demoWriter{store: st, resolver: res}
		b.StartTimer()
		for j := 0; j < len(docs); j += demo.BatchSize {
			if err := w.Upsert(context.Background(), "", docs[j:min(j+demo.BatchSize, len(docs))]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		st.Close()
	}
	b.ReportMetric(float64(len(docs)*b.N)/b.Elapsed().Seconds(), "entities/s")
}
