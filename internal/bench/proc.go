package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a server running as a child process.
type Proc struct {
	Name    string        // "qala" or "baseline", for messages
	URL     string        // base URL, http://127.0.0.1:<port>
	Startup time.Duration // from exec to the first 200 from /health
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// StartQala starts `bin serve --listen 127.0.0.1:<free port> --data dataDir
// [extra...]`, sending its output to log, and waits up to timeout for GET
// /health to answer 200. On failure the process is killed.
func StartQala(ctx context.Context, bin, dataDir string, log io.Writer, timeout time.Duration, extra ...string) (*Proc, error) {
	args := append([]string{bin, "serve", "--listen", "ADDR", "--data", dataDir}, extra...)
	return startProc(ctx, "qala", log, timeout, args...)
}

// StartBaselineProcess starts `bin baseline -listen 127.0.0.1:<free port>`,
// bin being a qala-bench binary, and waits up to timeout for GET /health to
// answer 200.
func StartBaselineProcess(ctx context.Context, bin string, log io.Writer, timeout time.Duration) (*Proc, error) {
	return startProc(ctx, "baseline", log, timeout, bin, "baseline", "-listen", "ADDR")
}

// startProc runs argv, with the argument "ADDR" replaced by a free loopback
// address, and waits for the process to answer 200 to GET /health there.
func startProc(ctx context.Context, name string, log io.Writer, timeout time.Duration, argv ...string) (*Proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := slices.Clone(argv[1:])
	for i, a := range args {
		if a == "ADDR" {
			args[i] = addr
		}
	}
	cmd := exec.Command(argv[0], args...)
	cmd.Stdout, cmd.Stderr = log, log
	setParentDeathSignal(cmd)
	p := &Proc{Name: name, URL: "http://" + addr, cmd: cmd, done: make(chan struct{})}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := p.waitHealthy(ctx, timeout); err != nil {
		p.Kill()
		return nil, err
	}
	p.Startup = time.Since(t0)
	return p, nil
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// waitHealthy polls GET /health every millisecond until it answers 200, the
// process exits, or timeout passes.
func (p *Proc) waitHealthy(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/health", nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = "status " + strconv.Itoa(resp.StatusCode)
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before /health answered 200: %v", p.Name, p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%s /health not 200 within %v (last: %s)", p.Name, timeout, last)
		case <-time.After(time.Millisecond):
		}
	}
}

// Memory returns the resident set size of the process and its peak (VmRSS
// and VmHWM of /proc/<pid>/status), in bytes.
func (p *Proc) Memory() (rss, peak uint64, err error) {
	return procMemory(p.cmd.Process.Pid)
}

// procMemory reads VmRSS and VmHWM of process pid.
func procMemory(pid int) (rss, peak uint64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	defer f.Close()
	return parseStatus(f)
}

// parseStatus reads VmRSS and VmHWM, in bytes, from a /proc/<pid>/status file.
func parseStatus(r io.Reader) (rss, peak uint64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("%s: unexpected value %q", key, val)
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || n > 1<<50 {
			return 0, 0, fmt.Errorf("%s: unexpected value %q", key, val)
		}
		if key == "VmRSS" {
			rss = n << 10
		} else {
			peak = n << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS line")
	}
	return rss, peak, nil
}

// Stop sends SIGTERM and waits up to timeout for the process to exit, then
// kills it. It returns how long the process took to exit.
func (p *Proc) Stop(timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		select {
		case <-p.done:
			return 0, fmt.Errorf("%s had already exited: %v", p.Name, p.waitErr)
		default:
			return 0, fmt.Errorf("signal %s: %w", p.Name, err)
		}
	}
	select {
	case <-p.done:
		d := time.Since(t0)
		if p.waitErr != nil {
			return d, fmt.Errorf("%s exit after SIGTERM: %w", p.Name, p.waitErr)
		}
		return d, nil
	case <-time.After(timeout):
		p.Kill()
		return time.Since(t0), fmt.Errorf("%s did not exit within %v of SIGTERM; killed", p.Name, timeout)
	}
}

// Kill kills the process and waits for it.
func (p *Proc) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// Count returns the number of entities of type EntityType the server at base
// holds, from the NGSILD-Results-Count header of a count=true query.
func Count(ctx context.Context, base string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	u := strings.TrimRight(base, "/") + "/ngsi-ld/v1/entities?type=" + EntityType + "&count=true&limit=0"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	resp, err := plainClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("count: status %d", resp.StatusCode)
	}
	h := resp.Header.Get("NGSILD-Results-Count")
	if h == "" {
		return 0, fmt.Errorf("count: %w", errNoCount)
	}
	n, err := strconv.ParseInt(h, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("count: NGSILD-Results-Count %q is not a count", h)
	}
	return n, nil
}

var errNoCount = errors.New("no NGSILD-Results-Count header")

// writeFile writes data to name, creating or truncating it.
func writeFile(name string, data []byte) error {
	return os.WriteFile(name, data, 0o644)
}

// procCPU returns the CPU time (user + system) process pid has used, from
// /proc/<pid>/stat (Linux; clock ticks taken as the kernel's usual 100 Hz).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime + stime from the text of a /proc/<pid>/stat file.
func parseStatCPU(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("stat: no command")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("stat: too few fields")
	}
	var ticks uint64
	for _, v := range f[11:13] { // fields 14 and 15: utime, stime
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// procWait returns how long the threads of process pid have waited on a
// run queue (runnable, but not running), summed from
// /proc/<pid>/task/*/schedstat (Linux with schedstats): the CPU the
// process wanted and the machine did not give it.
func procWait(pid int) (time.Duration, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread is gone
		}
		d, err := parseSchedWait(string(b))
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// parseSchedWait reads the run-queue wait (the second field, ns) of a
// schedstat line.
func parseSchedWait(s string) (time.Duration, error) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0, errors.New("schedstat: too few fields")
	}
	n, err := strconv.ParseUint(f[1], 10, 63)
	if err != nil {
		return 0, fmt.Errorf("schedstat: %w", err)
	}
	return time.Duration(n), nil
}
