package ngsild

import (
	"strings"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/problem"
)

func TestValidateURI(t *testing.T) {
	good := []string{
		"urn:ngsi-ld:Vehicle:A4567",
		"https://example.org/things/1?x=y#frag",
		"http://a",
		"urn:ngsi-ld:Building:Astana-Bayterek%20Tower",
		"x-custom+scheme.v1:thing",
		"urn:ngsi-ld:Київ",
	}
	for _, s := range good {
		if err := ValidateURI("id", s); err != nil {
			t.Errorf("ValidateURI(%q) = %v", s, err)
		}
	}
	bad := map[string]string{
		"":             "empty",
		"Vehicle1":     "not an absolute URI",
		":x":           "not an absolute URI",
		"urn:":         "not an absolute URI",
		"1a:b":         "not an absolute URI",
		"ur n:x":       "not an absolute URI",
		"urn:a b":      "forbidden character ' '",
		"urn:a\nb":     `forbidden character '\n'`,
		"urn:<script>": "forbidden character '<'",
		`urn:a"b`:      `forbidden character '"'`,
		"urn:a{b}":     "forbidden character '{'",
		"urn:" + strings.Repeat("x", MaxNameLength): "longer than",
	}
	for s, want := range bad {
		err := ValidateURI("id", s)
		if !problem.Is(err, problem.BadRequestData) || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateURI(%q) = %v, want BadRequestData containing %q", s, err, want)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, s := range []string{"temperature", "ex:temp", "https://example.org/a#b", "no2", "a-b_c.d", "température"} {
		if err := ValidateName("attribute name", s); err != nil {
			t.Errorf("ValidateName(%q) = %v", s, err)
		}
	}
	// Clause 4.6.2 forbids these characters in names, plus controls.
	for _, s := range []string{"", "a<b", "a>b", `a"b`, "a'b", "a=b", "a;b", "a(b", "a)b", "a b", "a\x00b", "a\x7fb"} {
		if err := ValidateName("attribute name", s); !problem.Is(err, problem.BadRequestData) {
			t.Errorf("ValidateName(%q) = %v, want BadRequestData", s, err)
		}
	}
}

func TestValidateScope(t *testing.T) {
	for _, s := range []string{"/Astana", "/Astana/Yesil", "/Madrid/Gardens/ParqueNorte", "/a/b/c/d"} {
		if err := ValidateScope(s); err != nil {
			t.Errorf("ValidateScope(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "/", "Astana", "/Astana/", "//Astana", "/a//b", "/a/#", "/a/+", "/a b", "/a;b"} {
		if err := ValidateScope(s); !problem.Is(err, problem.BadRequestData) {
			t.Errorf("ValidateScope(%q) = %v, want BadRequestData", s, err)
		}
	}
}

// TestParseUTCDateTime checks the DateTime of clause 4.6.3: the zone is
// always "Z", fractional seconds take a decimal point or a comma.
func TestParseUTCDateTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-11-22T07:00:00Z", time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)},
		{"2026-11-22T07:00:00.123456Z", time.Date(2026, 11, 22, 7, 0, 0, 123456e3, time.UTC)},
		{"2026-11-22T07:00:00,5Z", time.Date(2026, 11, 22, 7, 0, 0, 5e8, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseUTCDateTime(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseUTCDateTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, s := range []string{"", "Z", "2026-11-22T12:00:00+05:00", "2026-11-22T07:00:00+00:00", "2026-11-22T07:00:00",
		"2026-11-22T07:00:00z", "2026-11-22Z", "2026-11-22T07:00Z", "2026-13-01T00:00:00Z", "2026-11-22 07:00:00Z"} {
		if _, err := ParseUTCDateTime(s); err == nil {
			t.Errorf("ParseUTCDateTime(%q) accepted", s)
		}
	}
}

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-11-22T07:00:00Z", time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)},
		{"2026-11-22T07:00:00.123Z", time.Date(2026, 11, 22, 7, 0, 0, 123e6, time.UTC)},
		{"2026-11-22T12:00:00+05:00", time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)},
		{"2026-11-22T07:00:00", time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)},
		{"2026-11-22T07:00:00.5", time.Date(2026, 11, 22, 7, 0, 0, 5e8, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseDateTime(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseDateTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, s := range []string{"", "yesterday", "2026-11-22", "2026-13-01T00:00:00Z", "2026-11-22 07:00:00Z", "1700000000"} {
		if _, err := ParseDateTime(s); err == nil {
			t.Errorf("ParseDateTime(%q) accepted", s)
		}
	}
}

func TestValidLangTag(t *testing.T) {
	for _, s := range []string{"en", "kk", "ru", "en-GB", "zh-Hant-TW", "sr-Latn", "es-419", "@none", "de-CH-1996"} {
		if !validLangTag(s) {
			t.Errorf("validLangTag(%q) = false", s)
		}
	}
	for _, s := range []string{"", "en_GB", "e n", "1en", "en-", "-en", "toolongtag", "en--GB", "@other"} {
		if validLangTag(s) {
			t.Errorf("validLangTag(%q) = true", s)
		}
	}
}
