package ngsild

import (
	"fmt"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/problem"
)

// MaxNameLength bounds attribute names, entity types and ids, so that no
// single key can bloat indexes.
const MaxNameLength = 2048

// ValidateURI reports, as a BadRequestData error naming what, whether s is
// an absolute URI as NGSI-LD requires for entity ids, datasetIds and
// relationship objects (clause 4.5.1, RFC 3986 clause 4.3): a scheme
// (a letter, then letters, digits, "+", "-" or "."), a colon and a non-empty
// rest free of whitespace, control characters and the characters RFC 3986
// never allows unescaped (<>"{}|\^`).
func ValidateURI(what, s string) error {
	if s == "" {
		return problem.BadData("%s: must be a URI, got an empty string", what)
	}
	if len(s) > MaxNameLength {
		return problem.BadData("%s: URI longer than %d bytes", what, MaxNameLength)
	}
	i := strings.IndexByte(s, ':')
	if i <= 0 || i == len(s)-1 || !validScheme(s[:i]) {
		return problem.BadData("%s: %q is not an absolute URI (it needs a scheme such as urn: or https:)", what, s)
	}
	if i := parseFirstIn(s, &parseURIForbidden); i >= 0 {
		return problem.BadData("%s: URI %q contains the forbidden character %q", what, s, rune(s[i]))
	}
	return nil
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// ValidateName reports, as a BadRequestData error naming what, whether s may
// be used as an attribute name or entity type (before expansion): non-empty,
// at most MaxNameLength bytes, and free of control characters, whitespace and
// the characters clause 4.6.2 forbids in names (<>"'=;()).
func ValidateName(what, s string) error {
	if s == "" {
		return problem.BadData("%s must not be empty", what)
	}
	if len(s) > MaxNameLength {
		return problem.BadData("%s is longer than %d bytes", what, MaxNameLength)
	}
	if i := parseFirstIn(s, &parseNameForbidden); i >= 0 {
		return problem.BadData("%s %q contains the forbidden character %q", what, s, rune(s[i]))
	}
	return nil
}

// ValidateScope reports, as a BadRequestData error, whether s is a valid
// scope (clause 4.18): a "/" followed by one or more non-empty levels
// separated by "/", with no trailing "/" and no characters forbidden in
// names. The characters "#" and "+" are refused because they are scopeQ
// wildcards.
func ValidateScope(s string) error {
	if len(s) < 2 || s[0] != '/' || s[len(s)-1] == '/' {
		return problem.BadData("scope: %q must look like /Level1/Level2 (leading /, no trailing /)", s)
	}
	if len(s) > MaxNameLength {
		return problem.BadData("scope: longer than %d bytes", MaxNameLength)
	}
	for _, level := range strings.Split(s[1:], "/") {
		if level == "" {
			return problem.BadData("scope: %q has an empty level", s)
		}
	}
	if i := parseFirstIn(s, &parseScopeForbidden); i >= 0 {
		return problem.BadData("scope: %q contains the forbidden character %q", s, rune(s[i]))
	}
	return nil
}

// Byte sets of characters refused in URIs, names and scopes. Each also holds
// the ASCII controls, space and DEL; bytes of multi-byte UTF-8 sequences are
// never in a set.
var (
	parseURIForbidden   = parseByteSet("<>\"{}|\\^`")
	parseNameForbidden  = parseByteSet(`<>"'=;()`)
	parseScopeForbidden = parseByteSet(`<>"'=;()#+,`)
)

func parseByteSet(chars string) (set [256]bool) {
	for c := 0; c <= ' '; c++ {
		set[c] = true
	}
	set[0x7f] = true
	for i := 0; i < len(chars); i++ {
		set[chars[i]] = true
	}
	return set
}

// parseFirstIn returns the index of the first byte of s in set, or -1.
func parseFirstIn(s string, set *[256]bool) int {
	for i := 0; i < len(s); i++ {
		if set[s[i]] {
			return i
		}
	}
	return -1
}

// ParseUTCDateTime parses a DateTime as clause 4.6.3 defines it, the form
// of the Temporal Properties (observedAt) and of the temporal query's timeAt
// and endTimeAt: YYYY-MM-DDThh:mm:ss with optional fractional seconds (a
// decimal point or, in requests, a comma) and the trailing "Z": "the
// trailing timestamp component ... shall always be equal to the character
// Z. Therefore, all timestamps shall be expressed in UTC", and "the string
// shall not contain expressions of the difference between local time and
// UTC". A numeric offset or a missing zone is an error.
func ParseUTCDateTime(s string) (time.Time, error) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[len(s)-1] != 'Z' {
		return time.Time{}, fmt.Errorf("%q is not a UTC DateTime such as 2026-01-02T15:04:05Z (clause 4.6.3: no offset, the zone is always \"Z\")", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a UTC DateTime such as 2026-01-02T15:04:05Z", s)
	}
	return t.UTC(), nil
}

// ParseDateTime parses a string value that may be a DateTime, leniently:
// ISO 8601 in the profile of RFC 3339 with optional fractional seconds and
// "Z" or a numeric offset; a time without offset, which some devices send,
// is taken as UTC. The result is in UTC. It classifies Property values;
// the Temporal Properties and the temporal query's times go through the
// strict ParseUTCDateTime.
func ParseDateTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		var err2 error
		if t, err2 = time.Parse("2006-01-02T15:04:05.999999999", s); err2 != nil {
			return time.Time{}, fmt.Errorf("%q is not an ISO 8601 DateTime such as 2026-01-02T15:04:05Z", s)
		}
	}
	return t.UTC(), nil
}

// validLangTag loosely checks a BCP 47 language tag (RFC 5646): subtags of 1
// to 8 letters or digits separated by "-", the first made of letters only;
// "@none" (the JSON-LD keyword for a string without language) is accepted too.
func validLangTag(s string) bool {
	if s == "@none" {
		return true
	}
	if s == "" || len(s) > 64 {
		return false
	}
	for i, sub := range strings.Split(s, "-") {
		if len(sub) == 0 || len(sub) > 8 {
			return false
		}
		for j := 0; j < len(sub); j++ {
			c := sub[j]
			letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			digit := c >= '0' && c <= '9'
			if !letter && !(digit && i > 0) {
				return false
			}
		}
	}
	return true
}
