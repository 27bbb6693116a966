package notify

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
)

// This file holds the HTTP/1.1 messages of h1Client: the request it writes
// and the responses it reads (RFC 9112).

// appendRequest appends to b the POST of m to t: request line, Host,
// User-Agent, Content-Length, the receiverInfo headers, Content-Type, Link,
// NGSILD-Tenant, then the body. The headers are those net/http sent for
// the same request: receiverInfo names in canonical form, the last of
// equal names winning, and the transport's own headers winning over
// receiverInfo; hop-by-hop and framing headers of receiverInfo are left
// out, as this client manages the connection.
func appendRequest(b []byte, t *h1Target, m *Message) ([]byte, error) {
	ct := m.ContentType
	if ct == "" {
		ct = "application/json"
	}
	for _, kv := range m.Endpoint.ReceiverInfo {
		if !validHeader(kv.Key, kv.Value) {
			return b, fmt.Errorf("receiverInfo %q cannot be sent as an HTTP header", kv.Key)
		}
	}
	if !validHeader("Content-Type", ct) || !validHeader("Link", m.Link) || !validHeader("NGSILD-Tenant", m.Tenant) {
		return b, errors.New("the notification's Content-Type, Link or tenant cannot be sent as an HTTP header")
	}
	b = append(b, "POST "...)
	b = append(b, t.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, t.host...)
	b = append(b, "\r\nUser-Agent: qala-notify\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(m.Body)), 10)
	b = append(b, "\r\n"...)
	ri := m.Endpoint.ReceiverInfo
	hasAuth := false
	for i, kv := range ri {
		k := textproto.CanonicalMIMEHeaderKey(kv.Key)
		if ownHeader(k) || (k == "Link" && m.Link != "") || (k == "Ngsild-Tenant" && m.Tenant != "") || setLater(ri[i+1:], k) {
			continue
		}
		hasAuth = hasAuth || k == "Authorization"
		b = appendHeader(b, k, trimOWS(kv.Value))
	}
	if t.auth != "" && !hasAuth {
		b = appendHeader(b, "Authorization", t.auth)
	}
	b = appendHeader(b, "Content-Type", ct)
	if m.Link != "" {
		b = appendHeader(b, "Link", m.Link)
	}
	if m.Tenant != "" {
		b = appendHeader(b, "NGSILD-Tenant", m.Tenant)
	}
	b = append(b, "\r\n"...)
	return append(b, m.Body...), nil
}

// ownHeader reports whether the canonical header name k is one the client
// writes itself (framing, connection management, Content-Type).
func ownHeader(k string) bool {
	switch k {
	case "Host", "User-Agent", "Content-Length", "Content-Type", "Transfer-Encoding", "Trailer", "Te",
		"Connection", "Keep-Alive", "Proxy-Connection", "Upgrade":
		return true
	}
	return false
}

func setLater(rest []KeyValue, k string) bool {
	for _, kv := range rest {
		if asciiEqualFold(kv.Key, k) {
			return true
		}
	}
	return false
}

func appendHeader(b []byte, k, v string) []byte {
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, v...)
	return append(b, "\r\n"...)
}

func trimOWS[T string | []byte](s T) T {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func basicAuth(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// h1Response is what a notification needs of a response.
type h1Response struct {
	status     int
	reason     string // the reason phrase, kept for statuses other than 2xx
	retryAfter string // the Retry-After header of a 429 or 503
	keep       bool   // the connection can carry another request
}

var errMalformed = errors.New("malformed HTTP response")

func malformed(what string) error { return fmt.Errorf("%w: %s", errMalformed, what) }

// readResponse reads a response from br: interim (1xx) responses are
// skipped, the final one's body is read and discarded when it is at most
// h1MaxDrain bytes, else the connection is to be closed (keep false), as it
// is when the body ends with the connection, the server asks for it or
// speaks HTTP/1.0. An error means the status line or headers were not
// those of an HTTP/1.1 response (or did not arrive): the connection is
// then unusable. A body that ends early or is malformed is not an error,
// the status having arrived; only the connection is not kept.
func readResponse(br *bufio.Reader) (h1Response, error) {
	budget := h1MaxHeaderBytes
	for {
		res, body, err := readHead(br, &budget)
		if err != nil {
			return res, err
		}
		if res.status >= 200 {
			if res.keep {
				res.keep = drainBody(br, body)
			}
			return res, nil
		}
	}
}

// Body framings, from the headers (RFC 9112 section 6.3).
const (
	bodyNone    = -1 // 1xx, 204 and 304 have no body
	bodyClose   = -2 // the body ends when the connection does
	bodyChunked = -3
)

// readHead reads a status line and headers; body is the framing of what
// follows: a length, or one of the body* constants.
func readHead(br *bufio.Reader, budget *int) (res h1Response, body int64, err error) {
	line, err := readLine(br, budget)
	if err != nil {
		return res, 0, err
	}
	// HTTP-version SP status-code [SP reason-phrase]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return res, 0, malformed("status line")
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return res, 0, malformed("status code")
		}
		res.status = res.status*10 + int(c-'0')
	}
	if res.status < 100 || res.status > 599 {
		return res, 0, malformed("status code")
	}
	if res.status == 101 {
		return res, 0, malformed("101 Switching Protocols to a POST that asked for no upgrade")
	}
	if !validValue(line) {
		return res, 0, malformed("control character in the status line")
	}
	if res.status/100 != 2 && len(line) > 13 {
		res.reason = string(line[13:min(len(line), 13+128)])
	}
	res.keep = line[7] == '1'
	body = -4 // not yet known
	chunked, te := false, false
	for {
		line, err := readLine(br, budget)
		if err != nil {
			return res, 0, err
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return res, 0, malformed("obsolete line folding")
		}
		i := 0
		for i < len(line) && line[i] != ':' {
			i++
		}
		if i == 0 || i == len(line) || !validToken(line[:i]) {
			return res, 0, malformed("header field name")
		}
		name, value := line[:i], trimOWS(line[i+1:])
		if !validValue(value) {
			return res, 0, malformed("header field value")
		}
		switch {
		case asciiEqualFold(name, "Content-Length"):
			n := parseDecimal(value)
			if n < 0 || (body >= 0 && n != body) {
				return res, 0, malformed("Content-Length")
			}
			body = n
		case asciiEqualFold(name, "Transfer-Encoding"):
			te = true
			chunked = asciiEqualFold(lastListElem(value), "chunked")
		case asciiEqualFold(name, "Connection"):
			if listContains(value, "close") {
				res.keep = false
			}
		case asciiEqualFold(name, "Retry-After") && (res.status == 429 || res.status == 503):
			res.retryAfter = string(value)
		}
	}
	switch {
	case res.status < 200 || res.status == 204 || res.status == 304:
		body = bodyNone
	case te && chunked:
		if body >= 0 {
			res.keep = false // Content-Length beside chunked: RFC 9112 section 6.3, item 3
		}
		body = bodyChunked
	case te || body < 0:
		body = bodyClose
		res.keep = false
	}
	return res, body, nil
}

// drainBody reads and discards a body of the given framing, when at most
// h1MaxDrain bytes; it reports whether the connection is at the end of
// the response.
func drainBody(br *bufio.Reader, body int64) bool {
	switch {
	case body == bodyNone:
		return true
	case body == bodyClose || body > h1MaxDrain:
		return false
	case body >= 0:
		_, err := br.Discard(int(body))
		return err == nil
	}
	budget, left := h1MaxHeaderBytes, int64(h1MaxDrain)
	for {
		line, err := readLine(br, &budget)
		if err != nil {
			return false
		}
		// chunk-size [chunk-ext]
		n, digits := int64(0), 0
		for _, c := range line {
			v := unhex(c)
			if v < 0 {
				break
			}
			n = n<<4 | int64(v)
			digits++
		}
		if digits == 0 || digits > 15 || (digits < len(line) && line[digits] != ';' && line[digits] != ' ' && line[digits] != '\t') {
			return false
		}
		if n == 0 {
			break
		}
		if left -= n; left < 0 {
			return false
		}
		if _, err := br.Discard(int(n)); err != nil {
			return false
		}
		if line, err := readLine(br, &budget); err != nil || len(line) > 0 {
			return false
		}
	}
	for { // trailer section
		line, err := readLine(br, &budget)
		if err != nil {
			return false
		}
		if len(line) == 0 {
			return true
		}
	}
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// readLine reads a line ending in LF (or CRLF) and returns it without its
// end, taking its length from the budget. The line is valid until the next
// read from br.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// Longer than the reader's buffer: gather it, within the budget.
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull && len(long) <= *budget {
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if *budget -= len(line); *budget < 0 {
		return nil, malformed("headers too long")
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseDecimal parses a Content-Length: up to 18 digits, else -1.
func parseDecimal(v []byte) int64 {
	if len(v) == 0 || len(v) > 18 {
		return -1
	}
	n := int64(0)
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// lastListElem is the last element of a comma-separated header value.
func lastListElem(v []byte) []byte {
	for {
		i := len(v) - 1
		for i >= 0 && v[i] != ',' {
			i--
		}
		if e := trimOWS(v[i+1:]); len(e) > 0 || i < 0 {
			return e
		}
		v = v[:i]
	}
}

// listContains reports whether the comma-separated header value v has the
// element e (case-insensitively).
func listContains(v []byte, e string) bool {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		if asciiEqualFold(trimOWS(v[:i]), e) {
			return true
		}
		v = v[min(i+1, len(v)):]
	}
	return false
}

func asciiEqualFold[T string | []byte](a T, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
