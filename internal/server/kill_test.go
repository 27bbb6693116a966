package server

import (
	"fmt"
	"io"
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

// killRig is a real `qala serve` process (the test binary re-executed) on
// a data directory, to stream writes into, kill with SIGKILL and restart.
type killRig struct {
	t      *testing.T
	addr   string
	dir    string
	base   string // the NGSI-LD API's root URL
	cmd    *exec.Cmd
	client *http.Client
}

func newKillRig(t *testing.T) *killRig {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	k := &killRig{t: t, addr: freePort(t), dir: t.TempDir(), client: &http.Client{Timeout: 5 * time.Second}}
	k.base = "http://" + k.addr + "/ngsi-ld/v1"
	k.cmd = startServe(t, k.addr, k.dir)
	return k
}

// send sends a JSON body (none if "") to path below the API's root and
// returns the status.
func (k *killRig) send(method, path, body string) (int, error) {
	req, err := http.NewRequest(method, k.base+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// setCounter sets n of urn:ngsi-ld:Counter:c to v through the entity API;
// false when the server is gone or did not answer 204 (then reported).
func (k *killRig) setCounter(c, v int) bool {
	st, err := k.send("PATCH", fmt.Sprintf("/entities/urn:ngsi-ld:Counter:%d/attrs", c), fmt.Sprintf(`{"n":{"type":"Property","value":%d}}`, v))
	if err != nil {
		return false
	}
	if st != 204 {
		k.t.Errorf("update: %d", st)
		return false
	}
	return true
}

// streamAndKill runs writers goroutines, each calling write(w, 0),
// write(w, 1), ... until write returns false (the server is gone, or the
// writer failed) or the stream is over; after d it kills the server with
// SIGKILL and returns once every writer has stopped.
func (k *killRig) streamAndKill(writers int, d time.Duration, write func(w, i int) bool) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if !write(w, i) {
					return
				}
			}
		})
	}
	time.Sleep(d)
	if err := k.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		k.t.Fatal(err)
	}
	k.cmd.Wait()
	close(stop)
	wg.Wait()
}

// restart starts the server again on the same data; it is stopped with
// SIGTERM when the test ends.
func (k *killRig) restart() {
	k.cmd = startServe(k.t, k.addr, k.dir)
	cmd := k.cmd
	k.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
}

// TestKill9 streams creates and batch upserts into a real `qala serve`
// process, kills it with SIGKILL mid-stream, restarts it on the same data
// and checks that every write that was acknowledged (201) is there.
func TestKill9(t *testing.T) {
	k := newKillRig(t)
	var mu sync.Mutex
	var acked []string
	k.streamAndKill(8, 1500*time.Millisecond, func(w, i int) bool {
		var ids []string
		var status int
		var err error
		if i%4 == 3 { // every fourth request is a batch of 20
			var parts []string
			for j := range 20 {
				id := fmt.Sprintf("urn:ngsi-ld:WasteContainer:w%d-b%d-%d", w, i, j)
				ids = append(ids, id)
				parts = append(parts, fmt.Sprintf(`{"id":%q,"type":"WasteContainer","fillingLevel":{"type":"Property","value":%d}}`, id, j))
			}
			status, err = k.send("POST", "/entityOperations/upsert", "["+strings.Join(parts, ",")+"]")
		} else {
			id := fmt.Sprintf("urn:ngsi-ld:WasteContainer:w%d-%d", w, i)
			ids = append(ids, id)
			status, err = k.send("POST", "/entities", fmt.Sprintf(`{"id":%q,"type":"WasteContainer","fillingLevel":{"type":"Property","value":%d}}`, id, i))
		}
		if err != nil {
			return false // the server is gone
		}
		if status == 201 || status == 204 {
			mu.Lock()
			acked = append(acked, ids...)
			mu.Unlock()
		}
		return true
	})
	if len(acked) < 50 {
		t.Fatalf("only %d writes acknowledged before the kill; the test proves nothing", len(acked))
	}

	k.restart()
	var missing int
	var mmu sync.Mutex
	ids := make(chan string)
	var cw sync.WaitGroup
	for range 8 {
		cw.Go(func() {
			for id := range ids {
				status, err := k.send("GET", "/entities/"+id, "")
				if status != 200 {
					mmu.Lock()
					missing++
					if missing < 5 {
						t.Errorf("acknowledged entity %s is lost after kill -9 (status %d, %v)", id, status, err)
					}
					mmu.Unlock()
				}
			}
		})
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
