package api

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// linkEscapeByByte is the reference: each byte decided on its own.
func linkEscapeByByte(s string) string {
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

func TestLinkEscapeAgreesWithReference(t *testing.T) {
	var all []byte
	for ch := range 256 {
		all = append(all, byte(ch))
	}
	cases := []string{"", "abc", string(all), "coordinates=[[71.4,51.1],[71.5,51.2]]", "q=pm25>35;pm10<80|x==\"a b\"", "é€"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := linkEscape(s), linkEscapeByByte(s); got != want {
			t.Fatalf("linkEscape(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzLinkEscape(f *testing.F) {
	f.Add("a=b&c")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := linkEscape(s), linkEscapeByByte(s); got != want {
			t.Fatalf("linkEscape(%q) = %q, want %q", s, got, want)
		}
	})
}
