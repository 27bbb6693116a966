package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Lean receivers: HTTP/1.1 servers that do no more than a notification
// receiver must — read a request (Content-Length or chunked body), answer
// 204, keep the connection — in one goroutine per connection with reused
// buffers. The suite runs its receivers on the broker's own machine; with
// net/http servers they cost about as much CPU per notification as the
// broker spends sending it, and the figure then measures the load tool.
// `-receiver nethttp` keeps the net/http ones for comparison.

// maxRequestHead bounds a request line plus headers.
const maxRequestHead = 64 << 10

var (
	resp204 = []byte("HTTP/1.1 204 No Content\r\n\r\n")
	resp405 = []byte("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	resp400 = []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

	hdrContentLength    = []byte("Content-Length")
	hdrTransferEncoding = []byte("Transfer-Encoding")
	hdrConnection       = []byte("Connection")
	tokChunked          = []byte("chunked")
	tokClose            = []byte("close")
)

// leanServer is one lean receiver's listener and connections.
type leanServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// startLeanReceivers starts n lean listeners on 127.0.0.1 recording into
// the ledger lp points at (none yet: answered and dropped).
func startLeanReceivers(n int, lp *atomic.Pointer[ledger]) (*receivers, error) {
	r := &receivers{}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("receiver: %w", err)
		}
		s := &leanServer{ln: ln, conns: map[net.Conn]struct{}{}}
		r.lean = append(r.lean, s)
		r.URIs = append(r.URIs, "http://"+ln.Addr().String()+"/notify")
		r.wg.Go(func() { s.serve(r, lp, i) })
	}
	return r, nil
}

func (s *leanServer) serve(r *receivers, lp *atomic.Pointer[ledger], shard int) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		r.Conns.Add(1)
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		r.wg.Go(func() {
			serveLean(c, lp, shard)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		})
	}
}

// close stops accepting and closes every connection.
func (s *leanServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
}

// leanRequest is what serveLean reads of a request head.
type leanRequest struct {
	post, notify, close, chunked bool
	length                       int64 // -1 when absent
}

// serveLean answers the requests of one connection until it closes or a
// request is malformed.
func serveLean(c net.Conn, lp *atomic.Pointer[ledger], shard int) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	var body []byte
	for {
		c.SetReadDeadline(time.Now().Add(5 * time.Minute))
		req, err := readLeanHead(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				if l := lp.Load(); l != nil {
					l.bad("request: %v", err)
				}
				c.Write(resp400)
			}
			return
		}
		body, err = readLeanBody(br, req, body[:0])
		now := time.Now()
		l := lp.Load()
		switch {
		case err != nil:
			if l != nil {
				l.bad("reading a notification: %v", err)
			}
			c.Write(resp400)
			return
		case !req.post || !req.notify:
			if l != nil {
				l.bad("not POST /notify")
			}
			c.Write(resp405)
			return
		case l != nil:
			l.record(body, now, shard)
		}
		if _, err := c.Write(resp204); err != nil || req.close {
			return
		}
	}
}

// readLeanHead reads a request line and headers.
func readLeanHead(br *bufio.Reader) (leanRequest, error) {
	req := leanRequest{length: -1}
	size := 0
	for i := 0; ; i++ {
		line, err := br.ReadSlice('\n')
		size += len(line)
		if err != nil {
			if i == 0 && len(line) == 0 {
				return req, io.EOF
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				err = errors.New("header line too long")
			}
			return req, err
		}
		if size > maxRequestHead {
			return req, errors.New("request head too large")
		}
		line = bytes.TrimRight(line, "\r\n")
		if i == 0 {
			method, rest, ok := bytes.Cut(line, []byte(" "))
			target, proto, ok2 := bytes.Cut(rest, []byte(" "))
			if !ok || !ok2 || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
				return req, fmt.Errorf("malformed request line %.80q", line)
			}
			req.post = string(method) == "POST"
			req.notify = string(target) == "/notify"
			req.close = string(proto) == "HTTP/1.0"
			continue
		}
		if len(line) == 0 {
			return req, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return req, fmt.Errorf("malformed header %.80q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, hdrContentLength):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return req, fmt.Errorf("bad Content-Length %q", value)
			}
			req.length = n
		case bytes.EqualFold(name, hdrTransferEncoding):
			req.chunked = bytes.EqualFold(value, tokChunked)
		case bytes.EqualFold(name, hdrConnection):
			req.close = bytes.EqualFold(value, tokClose)
		}
	}
}

// readLeanBody appends the request's body to buf.
func readLeanBody(br *bufio.Reader, req leanRequest, buf []byte) ([]byte, error) {
	if !req.chunked {
		n := max(req.length, 0)
		if n > maxNotification {
			return buf, fmt.Errorf("notification over %d bytes", maxNotification)
		}
		buf = grow(buf, int(n))
		_, err := io.ReadFull(br, buf[len(buf)-int(n):])
		return buf, err
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return buf, err
		}
		hexLen, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(hexLen)), 16, 64)
		if err != nil || n < 0 || int64(len(buf))+n > maxNotification {
			return buf, fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 { // trailers until an empty line
			for {
				t, err := br.ReadSlice('\n')
				if err != nil {
					return buf, err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return buf, nil
				}
			}
		}
		buf = grow(buf, int(n))
		if _, err := io.ReadFull(br, buf[len(buf)-int(n):]); err != nil {
			return buf, err
		}
		if crlf, err := br.ReadSlice('\n'); err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return buf, errors.New("chunk not followed by CRLF")
		}
	}
}

// grow extends buf by n bytes.
func grow(buf []byte, n int) []byte {
	if cap(buf)-len(buf) < n {
		nb := make([]byte, len(buf), len(buf)+n+len(buf)/2)
		copy(nb, buf)
		buf = nb
	}
	return buf[:len(buf)+n]
}
