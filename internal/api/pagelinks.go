package api

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// pageLinks adds the pagination links of clause 5.5.9 and 6.3.10 to a page
// of a query (GET /entities, POST /entityOperations/query and their
// temporal counterparts): rel="prev" unless the page starts the result set,
// and rel="next" when elements remain after it. Each link repeats the
// request's URL parameters, in name order, with the offset of that page.
//
// A POST query carries limit and offset in its URL too (clause 6.23.3.1,
// 6.24.3.1), so its links are the URLs of the other pages: the client
// sends the same Query body to them.
func (c *call) pageLinks(resp *response, offset, limit int, more bool, mt string) {
	if limit <= 0 {
		return
	}
	if offset > 0 {
		c.addLink(resp, c.pageLink(max(0, offset-limit), limit, "prev", mt))
	}
	if more {
		c.addLink(resp, c.pageLink(offset+limit, limit, "next", mt))
	}
}

// pageLink is the selfLink of relation rel to the page at offset, through
// linkMemo for the long query strings of GET requests (their parameters are
// those of the URL; a POST query's come from its body).
func (c *call) pageLink(offset, limit int, rel, mt string) string {
	page := func() string {
		return c.selfLink(map[string]string{"limit": strconv.Itoa(limit), "offset": strconv.Itoa(offset)}, rel, mt)
	}
	raw := c.r.URL.RawQuery
	if c.r.Method != http.MethodGet || len(raw) < memoMinLen {
		return page()
	}
	k := linkKey{raw: raw, path: c.r.URL.Path, rel: rel, mt: mt, limit: limit, offset: offset}
	if l, ok := linkMemo.get(k); ok {
		return l
	}
	l := page()
	linkMemo.put(k, l)
	return l
}

// addLink adds a Link header value to the response.
func (c *call) addLink(resp *response, link string) {
	if resp.header == nil {
		resp.setHeader("Link", link)
		return
	}
	resp.header.Add("Link", link)
}

// selfLink is a link-value (RFC 8288) to this GET request with the
// parameters in set replaced (an empty value removes one), all in name
// order, of relation rel and media type mt.
func (c *call) selfLink(set map[string]string, rel, mt string) string {
	names := make([]string, 0, len(c.query)+len(set))
	path := strings.TrimSuffix(c.r.URL.Path, "/")
	size := len(path) + len(rel) + len(mt) + len(`<?>; rel=""; type=""`)
	for k, vs := range c.query {
		if _, ok := set[k]; !ok {
			names = append(names, k)
			for _, v := range vs {
				size += linkEscapedLen(k) + linkEscapedLen(v) + 2
			}
		}
	}
	for k, v := range set {
		if v != "" {
			names = append(names, k)
			size += linkEscapedLen(k) + linkEscapedLen(v) + 2
		}
	}
	sort.Strings(names)
	var b strings.Builder
	b.Grow(size)
	b.WriteByte('<')
	b.WriteString(path)
	b.WriteByte('?')
	first := true
	for _, k := range names {
		vals := c.query[k]
		if v, ok := set[k]; ok {
			vals = []string{v}
		}
		for _, v := range vals {
			if !first {
				b.WriteByte('&')
			}
			first = false
			writeLinkEscape(&b, k)
			b.WriteByte('=')
			writeLinkEscape(&b, v)
		}
	}
	b.WriteString(`>; rel="`)
	b.WriteString(rel)
	b.WriteString(`"; type="`)
	b.WriteString(mt)
	b.WriteByte('"')
	return b.String()
}

// linkEscape percent-encodes what cannot stand in a query value inside the
// <URI> of a Link header (clause 8.3 of RFC 8288): separators of the header
// and of the query, blanks, controls and non-ASCII bytes. Other characters
// (":", "*", "/", "[", ...) are kept as the client wrote them.
func linkEscape(s string) string {
	var b strings.Builder
	b.Grow(linkEscapedLen(s))
	writeLinkEscape(&b, s)
	return b.String()
}

// linkUnsafe marks the bytes linkEscape encodes.
var linkUnsafe = func() (t [256]bool) {
	for ch := range 256 {
		t[ch] = ch <= ' ' || ch >= 0x7f || strings.IndexByte(`"<>,;&=#%+\^`+"`{|}", byte(ch)) >= 0
	}
	return t
}()

// linkEscapedLen is the length of linkEscape(s).
func linkEscapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if linkUnsafe[s[i]] {
			n += 2
		}
	}
	return n
}

// writeLinkEscape writes s escaped as linkEscape does, copying runs of bytes
// that need no escape at once.
func writeLinkEscape(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	start := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !linkUnsafe[ch] {
			continue
		}
		b.WriteString(s[start:i])
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
		start = i + 1
	}
	b.WriteString(s[start:])
}
