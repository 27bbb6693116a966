package api

import (
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
	page := func(off int) map[string]string {
		return map[string]string{"limit": strconv.Itoa(limit), "offset": strconv.Itoa(off)}
	}
	if offset > 0 {
		c.addLink(resp, c.selfLink(page(max(0, offset-limit)), "prev", mt))
	}
	if more {
		c.addLink(resp, c.selfLink(page(offset+limit), "next", mt))
	}
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
	size := len(c.r.URL.Path) + len(rel) + len(mt) + 32
	for k, vs := range c.query {
		if _, ok := set[k]; !ok {
			names = append(names, k)
			for _, v := range vs {
				size += len(k) + len(v) + 2
			}
		}
	}
	for k, v := range set {
		if v != "" {
			names = append(names, k)
			size += len(k) + len(v) + 2
		}
	}
	sort.Strings(names)
	b := make([]byte, 0, size)
	b = append(b, '<')
	b = append(b, strings.TrimSuffix(c.r.URL.Path, "/")...)
	b = append(b, '?')
	first := true
	for _, k := range names {
		vals := c.query[k]
		if v, ok := set[k]; ok {
			vals = []string{v}
		}
		for _, v := range vals {
			if !first {
				b = append(b, '&')
			}
			first = false
			b = appendLinkEscape(b, k)
			b = append(b, '=')
			b = appendLinkEscape(b, v)
		}
	}
	b = append(b, `>; rel="`...)
	b = append(b, rel...)
	b = append(b, `"; type="`...)
	b = append(b, mt...)
	b = append(b, '"')
	return string(b)
}

// linkEscape percent-encodes what cannot stand in a query value inside the
// <URI> of a Link header (clause 8.3 of RFC 8288): separators of the header
// and of the query, blanks, controls and non-ASCII bytes. Other characters
// (":", "*", "/", "[", ...) are kept as the client wrote them.
func linkEscape(s string) string {
	return string(appendLinkEscape(nil, s))
}

// linkUnsafe marks the bytes linkEscape encodes.
var linkUnsafe = func() (t [256]bool) {
	for ch := range 256 {
		t[ch] = ch <= ' ' || ch >= 0x7f || strings.IndexByte(`"<>,;&=#%+\^`+"`{|}", byte(ch)) >= 0
	}
	return t
}()

// appendLinkEscape appends s escaped as linkEscape does, copying runs of
// bytes that need no escape at once.
func appendLinkEscape(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	start := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !linkUnsafe[ch] {
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '%', hex[ch>>4], hex[ch&15])
		start = i + 1
	}
	return append(b, s[start:]...)
}
