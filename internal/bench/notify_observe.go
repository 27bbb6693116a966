package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// What the notification suite observes of Qala besides the notifications:
// its profiles, its CPU and run-queue wait, the machine's load, and the
// broker's own counts of what it sent.

// profile saves Qala's CPU profile over the stream and its goroutines
// halfway through, when cfg.Pprof asks; the returned function waits for both.
func profile(ctx context.Context, cfg NotifyConfig, base string, logf func(string, ...any)) func() {
	if cfg.Pprof == "" {
		return func() {}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		file := filepath.Join(cfg.Pprof, "qala-notify.pprof")
		if err := FetchProfile(ctx, base, cfg.Duration, file); err != nil {
			logf("cpu profile: %v", err)
		} else {
			logf("cpu profile in %s", file)
		}
	})
	wg.Go(func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(cfg.Duration / 2):
		}
		file := filepath.Join(cfg.Pprof, "qala-goroutines.txt")
		if err := saveURL(ctx, base+"/debug/pprof/goroutine?debug=2", file); err != nil {
			logf("goroutines: %v", err)
		} else {
			logf("goroutines halfway through the stream in %s", file)
		}
	})
	return wg.Wait
}

// profileDrain saves Qala's goroutines 1 s into the drain and its CPU
// profile over the 5 s after, when cfg.Pprof asks (the backlog may be gone
// by then: the files say what Qala did meanwhile).
func profileDrain(ctx context.Context, cfg NotifyConfig, base string, logf func(string, ...any)) func() {
	if cfg.Pprof == "" {
		return func() {}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		file := filepath.Join(cfg.Pprof, "qala-drain-goroutines.txt")
		if err := saveURL(ctx, base+"/debug/pprof/goroutine?debug=2", file); err != nil {
			logf("goroutines: %v", err)
		}
		file = filepath.Join(cfg.Pprof, "qala-drain.pprof")
		if err := FetchProfile(ctx, base, 5*time.Second, file); err != nil {
			logf("cpu profile of the drain: %v", err)
		} else {
			logf("goroutines and cpu profile of the drain in %s", cfg.Pprof)
		}
	})
	return wg.Wait
}

// saveURL saves the 200 answer to GET u in file.
func saveURL(ctx context.Context, u, file string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := plainClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	return writeFile(file, data)
}

func brokerFailed(b *brokerCounts) int64 {
	if b == nil {
		return 0
	}
	return b.TimesFailed
}

// loadAvg returns the machine's load averages over 1, 5 and 15 minutes, or
// "" where /proc cannot tell.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

// cpuMeter starts measuring the CPU Qala and the load tool use and how
// long their threads wait for one; the function it returns gives each
// one's cores (CPU time over wall time) and run-queue wait (also over wall
// time) since, 0 where /proc cannot tell.
func (p *Proc) cpuMeter() func() (qala, tool, qalaWait, toolWait float64) {
	t0 := time.Now()
	pids := [2]int{p.cmd.Process.Pid, os.Getpid()}
	var cpu0, wait0 [2]time.Duration
	var cpuErr, waitErr [2]error
	for i, pid := range pids {
		cpu0[i], cpuErr[i] = procCPU(pid)
		wait0[i], waitErr[i] = procWait(pid)
	}
	return func() (float64, float64, float64, float64) {
		wall := time.Since(t0).Seconds()
		var out [4]float64
		for i, pid := range pids {
			if c, err := procCPU(pid); err == nil && cpuErr[i] == nil {
				out[i] = (c - cpu0[i]).Seconds() / wall
			}
			if w, err := procWait(pid); err == nil && waitErr[i] == nil {
				out[2+i] = max(0, (w-wait0[i]).Seconds()/wall)
			}
		}
		return out[0], out[1], out[2], out[3]
	}
}

// brokerCounts sums what the broker says of its subscriptions (status,
// clause 5.2.12; notification.timesSent and timesFailed, NotificationParams
// clause 5.2.14), to set against what arrived.
type brokerCounts struct {
	TimesSent   int64          `json:"times_sent"`
	TimesFailed int64          `json:"times_failed"`
	Status      map[string]int `json:"status"`
}

// subscriptionStatus reads every subscription of the ledger back.
func subscriptionStatus(ctx context.Context, base string, led *ledger) (*brokerCounts, error) {
	led.subMu.RLock()
	ids := make([]string, 0, len(led.subIndex))
	for id := range led.subIndex {
		ids = append(ids, id)
	}
	led.subMu.RUnlock()
	bc := &brokerCounts{Status: map[string]int{}}
	var mu sync.Mutex
	var first error
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ids) || ctx.Err() != nil {
					return
				}
				var sub struct {
					Status       string `json:"status"`
					Notification struct {
						TimesSent   int64 `json:"timesSent"`
						TimesFailed int64 `json:"timesFailed"`
					} `json:"notification"`
				}
				err := getJSON(ctx, base+"/ngsi-ld/v1/subscriptions/"+url.PathEscape(ids[i]), &sub)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				bc.TimesSent += sub.Notification.TimesSent
				bc.TimesFailed += sub.Notification.TimesFailed
				if err == nil {
					bc.Status[sub.Status]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return bc, first
}

// getJSON GETs u and decodes its 200 answer into v.
func getJSON(ctx context.Context, u string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := plainClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %.300s", u, resp.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}
