package api

import (
	"sort"
	"strconv"
	"strings"
)

// pageLinks adds the pagination links of clause 4.12 and 5.5.9 to a page of
// GET /entities: rel="prev" unless the page starts the result set, and
// rel="next" when elements remain after it. Each link repeats the request's
// parameters, in name order, with the offset of that page.
func (c *call) pageLinks(resp *response, offset, limit int, more bool, mt string) {
	if c.r.Method != "GET" || limit <= 0 {
		return
	}
	link := func(off int, rel string) string {
		names := make([]string, 0, len(c.query))
		for k := range c.query {
			if k != "offset" && k != "limit" {
				names = append(names, k)
			}
		}
		names = append(names, "limit", "offset")
		sort.Strings(names)
		var b strings.Builder
		b.WriteString("<" + strings.TrimSuffix(c.r.URL.Path, "/") + "?")
		for i, k := range names {
			vals := c.query[k]
			switch k {
			case "limit":
				vals = []string{strconv.Itoa(limit)}
			case "offset":
				vals = []string{strconv.Itoa(off)}
			}
			for j, v := range vals {
				if i > 0 || j > 0 {
					b.WriteByte('&')
				}
				b.WriteString(linkEscape(k) + "=" + linkEscape(v))
			}
		}
		b.WriteString(`>; rel="` + rel + `"; type="` + mt + `"`)
		return b.String()
	}
	if resp.header == nil {
		resp.setHeader("Link", "")
		resp.header.Del("Link")
	}
	if offset > 0 {
		resp.header.Add("Link", link(max(0, offset-limit), "prev"))
	}
	if more {
		resp.header.Add("Link", link(offset+limit, "next"))
	}
}

// linkEscape percent-encodes what cannot stand in a query value inside the
// <URI> of a Link header (clause 8.3 of RFC 8288): separators of the header
// and of the query, blanks, controls and non-ASCII bytes. Other characters
// (":", "*", "/", "[", ...) are kept as the client wrote them.
func linkEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte(`"<>,;&=#%+\^`+"`{|}", ch) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&15])
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}
