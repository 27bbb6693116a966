package ngsild

import "testing"

// TestMatchLang checks the language filter of clause 4.15: ranges in order
// of quality, tags compared case-insensitively (RFC 5646), a shorter range
// matching a longer tag, a longer range truncated onto a shorter tag (RFC 4647
// clause 3.4 lookup), and the fallback to any supported language.
func TestMatchLang(t *testing.T) {
	plain := map[string]any{"fr": "Grand Place", "nl": "Grote Markt"}
	regional := map[string]any{"de": "Marktplatz", "en-US": "Main Square"}
	private := map[string]any{"zh-Hant": "廣場", "en": "Square"}
	withNone := map[string]any{"fr": "Grand Place", NoneDataset: "Markt"}
	for _, c := range []struct {
		lm      map[string]any
		lang    string
		wantTag string
	}{
		{plain, "nl", "nl"},
		{plain, "fr;q=0.2,nl;q=0.9", "nl"},    // quality outranks list position
		{plain, "FR", "fr"},                   // case-insensitive
		{plain, "nl-BE", "nl"},                // truncated onto the shorter tag
		{plain, "nl-Latn-BE", "nl"},           // truncated twice
		{plain, "de-CH,fr", "fr"},             // a range that matches nothing, even truncated, gives way to the next
		{plain, "nl-BE;q=0.5,fr", "fr"},       // the higher-quality range wins before truncation of a lower one
		{regional, "en", "en-US"},             // a shorter range matches a longer tag
		{private, "zh-Hant-x-old", "zh-Hant"}, // a singleton left at the end goes with its subtag
		{plain, "pt", "fr"},                   // no match: the first supported language
		{withNone, "pt-BR", NoneDataset},      // no match: the @none entry first
	} {
		tag, _ := matchLang(c.lm, parseLangRanges(c.lang))
		if tag != c.wantTag {
			t.Errorf("lang=%s on %v: got %q, want %q", c.lang, c.lm, tag, c.wantTag)
		}
	}
}
