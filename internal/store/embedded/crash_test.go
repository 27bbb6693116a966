package embedded

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// crashDirEnv names the store directory of the crash helper process.
const crashDirEnv = "QALA_EMBEDDED_CRASH_DIR"

const ackPrefix = "ACK "

// TestHelperProcessCrashWriter is not a test: run by TestKill9 as a child
// process, it writes to the store until killed, printing one "ACK id value"
// line per change after its Write returned.
func TestHelperProcessCrashWriter(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestKill9")
	}
	s, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var outMu sync.Mutex
	ack := func(lines []string) {
		outMu.Lock()
		defer outMu.Unlock()
		if _, err := os.Stdout.WriteString(strings.Join(lines, "")); err != nil {
			os.Exit(3)
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; ; n++ {
				var changes []store.Change
				if n%4 == 0 { // a batch rewriting the same 50 ids
					for k := 0; k < 50; k++ {
						changes = append(changes, crashPut(fmt.Sprintf("urn:crash:%d:b%d", g, k), n))
					}
				} else { // a single write to one of 10 ids, or a fresh one
					id := fmt.Sprintf("urn:crash:%d:s%d", g, n%10)
					if n%3 == 0 {
						id = fmt.Sprintf("urn:crash:%d:n%d", g, n)
					}
					changes = append(changes, crashPut(id, n))
				}
				errs, err := s.Write(context.Background(), "crash", changes)
				if err != nil {
					fmt.Fprintln(os.Stderr, "write:", err)
					os.Exit(4)
				}
				lines := make([]string, 0, len(changes))
				for i, ch := range changes {
					if errs[i] == nil {
						lines = append(lines, fmt.Sprintf("%s%s %d\n", ackPrefix, ch.ID, n))
					}
				}
				ack(lines)
			}
		}()
	}
	wg.Wait()
}

func crashPut(id string, n int) store.Change {
	e := &ngsild.Entity{ID: id, Types: []string{"https://example.org/Crash"}, CreatedAt: time.Now(), ModifiedAt: time.Now(),
		Attrs: map[string][]*ngsild.Attr{"https://example.org/n": {{Type: ngsild.Property, Value: float64(n)}}}}
	return store.Change{ID: id, Op: store.OpReplace, Apply: func(*ngsild.Entity) (*ngsild.Entity, []string, error) {
		return e, nil, nil
	}}
}

// TestKill9 checks that every acknowledged write survives kill -9: a child
// process writes and acknowledges, the parent kills it mid-stream, reopens
// the store and finds every acknowledged entity with at least its last
// acknowledged value (a later, unacknowledged one may also have landed).
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessCrashWriter$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make(map[string]int)
	lines := 0
	readDone := make(chan error, 1)
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), ackPrefix)
			if !ok {
				continue
			}
			id, v, ok := strings.Cut(line, " ")
			n, err := strconv.Atoi(v)
			if !ok || err != nil {
				readDone <- fmt.Errorf("bad ack line %q", line)
				return
			}
			mu.Lock()
			acked[id] = max(acked[id], n)
			lines++
			mu.Unlock()
		}
		readDone <- sc.Err()
	}()
	// Let it write for a while once acks flow, then kill it mid-stream.
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		n := lines
		mu.Unlock()
		if n > 2000 || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Read every ack the child flushed before reaping it: Wait closes the
	// pipe, and reading a closed pipe loses the tail (and fails).
	if err := <-readDone; err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if lines < 100 {
		t.Fatalf("only %d acks before the kill; child stderr:\n%s", lines, stderr.String())
	}

	s := openTest(t, dir, false)
	defer s.Close()
	for id, want := range acked {
		e, err := s.Get(context.Background(), "crash", id)
		if err != nil {
			t.Errorf("acknowledged %s (value %d) lost: %v", id, want, err)
			continue
		}
		if got := e.Instance("https://example.org/n", "").Value.(float64); int(got) < want {
			t.Errorf("%s = %v, acknowledged %d", id, got, want)
		}
	}
	t.Logf("%d acks for %d entities, all present after kill -9", lines, len(acked))
}
