package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// conn is one worker's HTTP/1.1 keep-alive connection, driven by hand: the
// request is written straight into a buffer and the answer parsed with
// http.ReadResponse. On this 2-core machine the load tool shares the CPU with
// the server, and net/http's Transport (two goroutines and channel hand-offs
// per connection and request) costs several times more CPU per request than
// this; see BenchmarkClient. A conn is used by one goroutine at a time, except
// for abort.
type conn struct {
	addr    string // host:port
	timeout time.Duration

	mu      sync.Mutex // guards nc and aborted against abort
	nc      net.Conn
	aborted bool

	br   *bufio.Reader
	bw   *bufio.Writer
	head []byte // reused request head
}

func newConn(addr string, timeout time.Duration) *conn {
	return &conn{addr: addr, timeout: timeout}
}

var errAborted = errors.New("run aborted")

// abort closes the connection and makes every later request fail at once.
func (c *conn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.aborted = true
	if c.nc != nil {
		c.nc.Close()
	}
}

// close closes the connection; a later request dials again.
func (c *conn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

func (c *conn) dial() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted {
		return errAborted
	}
	if c.nc != nil {
		return nil
	}
	nc, err := net.DialTimeout("tcp", c.addr, min(c.timeout, 5*time.Second))
	if err != nil {
		return err
	}
	c.nc = nc
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, 64<<10)
		c.bw = bufio.NewWriterSize(nc, 64<<10)
	} else {
		c.br.Reset(nc)
		c.bw.Reset(nc)
	}
	return nil
}

// answer is what a request got back.
type answer struct {
	status int    // 0 if there was no answer
	sample string // for a failure: what went wrong, with the start of the body
}

// do sends one request and reads the whole answer. ok decides whether the
// status is a success (for a failure the start of the body is kept). A
// request that got no answer leaves the connection closed, to be dialed
// again by the next request; ok statuses and failures alike keep it open
// when the server allows.
func (c *conn) do(method, path, ctype string, body []byte, ok func(int) bool) answer {
	if err := c.dial(); err != nil {
		return answer{sample: err.Error()}
	}
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	h := append(c.head[:0], method...)
	h = append(h, ' ')
	h = append(h, path...)
	h = append(h, " HTTP/1.1\r\nHost: "...)
	h = append(h, c.addr...)
	h = append(h, "\r\nUser-Agent: qala-bench\r\nAccept: application/json\r\n"...)
	if body != nil {
		h = append(h, "Content-Type: "...)
		h = append(h, ctype...)
		h = append(h, "\r\nContent-Length: "...)
		h = strconv.AppendInt(h, int64(len(body)), 10)
		h = append(h, "\r\n"...)
	}
	h = append(h, "\r\n"...)
	c.head = h
	c.bw.Write(h)
	c.bw.Write(body)
	if err := c.bw.Flush(); err != nil {
		c.close()
		return answer{sample: fmt.Sprintf("%s %s: %v", method, path, err)}
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return answer{sample: fmt.Sprintf("%s %s: %v", method, path, err)}
	}
	a := answer{status: resp.StatusCode}
	if !ok(resp.StatusCode) {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		a.sample = fmt.Sprintf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(head)))
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		c.close()
		a.status = 0
		a.sample = fmt.Sprintf("%s %s: reading the answer: %v", method, path, err)
		return a
	}
	resp.Body.Close()
	if resp.Close {
		c.close()
	}
	return a
}
