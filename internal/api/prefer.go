package api

import (
	"net/http"
	"strings"

	"github.com/qala-city/qala/internal/ngsild"
)

// preferredVersion returns the NGSI-LD version the client prefers with the
// HTTP preference ngsi-ld=<major.minor> (clause 4.3.6.8 of v1.9; the
// Prefer header of RFC 7240: preferences separated by commas, each a
// case-insensitive name, an optional value, plain or quoted, and optional
// ";" parameters). ok is false when there is none or it is no version.
func preferredVersion(c *call) (v ngsild.Version, ok bool) {
	for _, h := range c.r.Header.Values("Prefer") {
		for pref := range strings.SplitSeq(h, ",") {
			pref, _, _ = strings.Cut(pref, ";")
			name, val, hasVal := strings.Cut(pref, "=")
			if !hasVal || !strings.EqualFold(strings.TrimSpace(name), "ngsi-ld") {
				continue
			}
			val = strings.TrimSpace(val)
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return ngsild.ParseVersion(val)
		}
	}
	return ngsild.Version{}, false
}

// amended flags resp 203 Non-Authoritative Information when the payload was
// altered to conform to the version the client prefers (clause 4.3.6.8 of
// v1.9).
func amended(resp *response, altered bool) *response {
	if altered {
		resp.status = http.StatusNonAuthoritativeInfo
	}
	return resp
}
