package notify

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDispatch measures notifications/s delivered to a local HTTP
// receiver: Enqueue in batches of 100 (held in memory until delivered, see
// Options.Hold), until every one is acknowledged by the receiver.
//
//	go test -run '^$' -bench BenchmarkDispatch -benchtime 100000x ./internal/notify/
func BenchmarkDispatch(b *testing.B) {
	for _, endpoints := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("endpoints=%d", endpoints), func(b *testing.B) {
			var got atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				got.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			var conns atomic.Int64
			srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer func() {
				if c := conns.Load(); c > 2*64 {
					b.Errorf("%d connections for %d notifications: keep-alive is not working", c, b.N)
				}
			}()
			defer srv.Close()
			var delivered atomic.Int64
			d := openTest(b, b.TempDir(), Options{OnAttempt: func(a Attempt) {
				if a.OK {
					delivered.Add(1)
				}
			}})
			defer d.Close()
			body := make([]byte, 400)
			for i := range body {
				body[i] = 'x'
			}
			uris := make([]string, endpoints)
			for i := range uris {
				uris[i] = fmt.Sprintf("%s/notify/%d", srv.URL, i)
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			const batch = 100
			for i := 0; i < b.N; i += batch {
				n := min(batch, b.N-i)
				ms := make([]*Message, n)
				for j := range ms {
					ms[j] = &Message{ID: fmt.Sprintf("urn:ngsi-ld:Notification:%d", i+j), Subscription: "urn:ngsi-ld:Subscription:bench",
						Endpoint: Endpoint{URI: uris[(i+j)%endpoints]}, ContentType: "application/json", Body: body, Created: time.Now()}
				}
				if err := d.Enqueue(context.Background(), ms); err != nil {
					b.Fatal(err)
				}
			}
			for delivered.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "notifications/s")
			// CPU time (sender and receiver, this process) per notification:
			// on a shared machine, the figure that does not depend on the load.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/notification")
			if got.Load() < int64(b.N) {
				b.Fatalf("receiver got %d of %d", got.Load(), b.N)
			}
		})
	}
}

// cpuTime is the user and system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
