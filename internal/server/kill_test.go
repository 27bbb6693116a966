package server

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as `qala serve` when re-executed by
// TestKill9, so the kill hits a real server process.
func TestMain(m *testing.M) {
	if args := os.Getenv("QALA_TEST_SERVE_ARGS"); args != "" {
		os.Exit(Main(strings.Fields(args), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs the test binary as `qala serve` on addr over dir and waits
// for /health.
func startServe(t *testing.T, addr, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "QALA_TEST_SERVE_ARGS=serve --listen "+addr+" --data "+dir+" --log-level error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatal("server did not become healthy")
	return nil
}

// TestKill9 streams creates and batch upserts into a real `qala serve`
// process, kills it with SIGKILL mid-stream, restarts it on the same data
// and checks that every write that was acknowledged (201) is there.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	dir := t.TempDir()
	addr := freePort(t)
	cmd := startServe(t, addr, dir)
	base := "http://" + addr + "/ngsi-ld/v1"

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var ids []string
				var req *http.Request
				if i%4 == 3 { // every fourth request is a batch of 20
					var parts []string
					for j := 0; j < 20; j++ {
						id := fmt.Sprintf("urn:ngsi-ld:WasteContainer:w%d-b%d-%d", w, i, j)
						ids = append(ids, id)
						parts = append(parts, fmt.Sprintf(`{"id":%q,"type":"WasteContainer","fillingLevel":{"type":"Property","value":%d}}`, id, j))
					}
					req, _ = http.NewRequest("POST", base+"/entityOperations/upsert", strings.NewReader("["+strings.Join(parts, ",")+"]"))
				} else {
					id := fmt.Sprintf("urn:ngsi-ld:WasteContainer:w%d-%d", w, i)
					ids = append(ids, id)
					req, _ = http.NewRequest("POST", base+"/entities", strings.NewReader(fmt.Sprintf(`{"id":%q,"type":"WasteContainer","fillingLevel":{"type":"Property","value":%d}}`, id, i)))
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode == 201 || resp.StatusCode == 204 {
					mu.Lock()
					acked = append(acked, ids...)
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) < 50 {
		t.Fatalf("only %d writes acknowledged before the kill; the test proves nothing", len(acked))
	}

	cmd = startServe(t, addr, dir)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	var missing int
	var mmu sync.Mutex
	ids := make(chan string)
	var cw sync.WaitGroup
	for w := 0; w < 8; w++ {
		cw.Add(1)
		go func() {
			defer cw.Done()
			for id := range ids {
				resp, err := client.Get(base + "/entities/" + id)
				status := 0
				if err == nil {
					status = resp.StatusCode
					resp.Body.Close()
				}
				if status != 200 {
					mmu.Lock()
					missing++
					if missing < 5 {
						t.Errorf("acknowledged entity %s is lost after kill -9 (status %d, %v)", id, status, err)
					}
					mmu.Unlock()
				}
			}
		}()
	}
	for _, id := range acked {
		ids <- id
	}
	close(ids)
	cw.Wait()
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged entities lost", missing, len(acked))
	}
	t.Logf("%d acknowledged entities all survived kill -9", len(acked))
}
