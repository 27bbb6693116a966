package ngsild

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// stdEncode encodes v with encoding/json without HTML escaping, the
// reference the Doc encoder must match byte for byte on plain JSON values.
func stdEncode(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestDocMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, 0.0, math.Copysign(0, -1), 1.0, -1.5, 1e20, 1e21, 123456789.125, 1e-6, 1e-7, -2.5e-9, math.MaxFloat64,
		math.SmallestNonzeroFloat64, "", "plain", "quote\" backslash\\ slash/ <tag> & amp",
		"control \x00\x01\x1f\t\n\r", "unicode é 東京 \u2028 \u2029 😀", "bad utf8 \xff\xfe end",
		[]any{}, []any{1.0, "a", nil, []any{map[string]any{}}},
		map[string]any{"b": 1.0, "a": map[string]any{"z": []any{true}, "é": "x"}, "": nil},
	}
	for _, v := range values {
		got, err := appendValue(nil, v)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		if want := stdEncode(t, v); !bytes.Equal(got, want) {
			t.Errorf("%#v:\n got %s\nwant %s", v, got, want)
		}
	}
}

func TestDocOrderAndTypes(t *testing.T) {
	tm := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	d := Doc{{"z", 1}, {"a", Doc{{"y", []string{"p", "q"}}, {"b", []Doc{{{"k", json.Number("12.50")}}}}}}, {"t", tm}}
	got, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"z":1,"a":{"y":["p","q"],"b":[{"k":12.50}]},"t":"2024-05-06T06:08:09.123Z"}`
	if string(got) != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if v, ok := d.Get("a"); !ok || v.(Doc)[0].Key != "y" {
		t.Errorf("Get(a) = %v, %v", v, ok)
	}
	if _, ok := d.Get("missing"); ok {
		t.Error("Get(missing) found a member")
	}
}

func TestDocTimeMatchesFormatTime(t *testing.T) {
	times := []time.Time{
		{}, time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 1, 2, 3, 4e6+999, time.FixedZone("x", -5*3600)),
	}
	for i := range 1000 {
		times = append(times, time.Unix(int64(i)*7919*86400/3+int64(i)*1e6, int64(i)*999331))
	}
	for _, tm := range times {
		got, _ := appendValue(nil, tm)
		if want := `"` + FormatTime(tm) + `"`; string(got) != want {
			t.Errorf("%v: got %s, want %s", tm, got, want)
		}
	}
}

func TestDocRejectsNaN(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := (Doc{{"v", f}}).MarshalJSON(); err == nil {
			t.Errorf("%v: no error", f)
		}
	}
}

// FuzzDocEncode checks that any JSON value decoded by encoding/json encodes
// through Doc exactly as encoding/json encodes it.
func FuzzDocEncode(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-7,"x\u2028"],"b":null}`, `"\u00e9\ud83d\ude00"`, `[1e300,-0,true]`, `{"":{"":[]}}`, `"\b\f"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		got, err := (Doc{{"v", v}}).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		want := append(append([]byte(`{"v":`), stdEncode(t, v)...), '}')
		if !bytes.Equal(got, want) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	})
}

// TestAppendStringWords checks the 8-byte fast path of appendString: every
// byte that needs care, at every offset of strings of every length around
// the word size, encodes as encoding/json encodes it.
func TestAppendStringWords(t *testing.T) {
	special := []string{"\x00", "\x1f", "\x20", "\"", "\\", "\x7f", "\x80", "\xff", "é", "\u2028", "\u2029", "\n", "€", "\xe2\x80"}
	rng := rand.New(rand.NewPCG(4, 2))
	for n := range 26 {
		for pos := 0; pos <= n; pos++ {
			for _, sp := range special {
				b := make([]byte, n)
				for i := range b {
					b[i] = byte('a' + rng.IntN(26))
				}
				s := string(b[:pos]) + sp + string(b[pos:])
				got := appendString(nil, s)
				if want := stdEncode(t, s); !bytes.Equal(got, want) {
					t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
				}
			}
		}
	}
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		if got, want := appendString(nil, string(b)), stdEncode(t, string(b)); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", b, got, want)
		}
	}
}
