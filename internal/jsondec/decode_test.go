package jsondec

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sameValue reports whether a and b are the same generic JSON value. Unlike
// reflect.DeepEqual it tells 0 from -0, so signs of zero are checked too.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	case string:
		b, ok := b.(string)
		return ok && a == b
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !sameValue(av, bv) {
				return false
			}
		}
		return true
	}
	return false
}

// checkAgainstStd decodes data with Decode and with encoding/json and fails
// unless both accept it with the same value, or both reject it (with the
// same message and offset for syntax errors). Nesting deeper than MaxDepth
// is the one intended difference.
func checkAgainstStd(t *testing.T, data []byte) {
	t.Helper()
	got, err := Decode(data)
	var want any
	wantErr := json.Unmarshal(data, &want)

	var se *SyntaxError
	if err != nil && !errors.As(err, &se) {
		t.Fatalf("Decode(%q) error %T %v, want *SyntaxError", data, err, err)
	}
	if se != nil && se.Msg == "nesting too deep" {
		return
	}
	switch {
	case err == nil && wantErr == nil:
		if !sameValue(got, want) {
			t.Fatalf("Decode(%q) = %#v, encoding/json gives %#v", data, got, want)
		}
	case err != nil && wantErr == nil:
		t.Fatalf("Decode(%q) error %v, encoding/json accepts it as %#v", data, err, want)
	case err == nil && wantErr != nil:
		t.Fatalf("Decode(%q) = %#v, encoding/json rejects it: %v", data, got, wantErr)
	default:
		var wantSE *json.SyntaxError
		if errors.As(wantErr, &wantSE) {
			if se.Msg != wantSE.Error() || se.Offset != wantSE.Offset {
				t.Fatalf("Decode(%q) error %q at %d, encoding/json %q at %d", data, se.Msg, se.Offset, wantSE.Error(), wantSE.Offset)
			}
		} else if !strings.Contains(se.Msg, "out of float64 range") {
			t.Fatalf("Decode(%q) error %q, encoding/json %v", data, se.Msg, wantErr)
		}
	}
}

// trickyInputs are inputs where a JSON decoder is easy to get wrong.
var trickyInputs = []string{
	// Empty input, whitespace, trailing garbage, BOM.
	``, ` `, " \t\r\n", "\v1", "\f1", "\u00a01", " 1 ", "1 2", "[] []", "{}x", "null,",
	"\xef\xbb\xbf{}", "\x00", "nul", "nulL", "tru", "true", "false ", "fals", "f", "n",
	// Numbers.
	`0`, `-0`, `-0.0`, `-0e10`, `0e-400`, `-0.0e-30`, `01`, `-01`, `-`, `--1`, `+1`, `.5`, `1.`, `1.e5`,
	`1e`, `1e+`, `1E-`, `1e5`, `1E+5`, `1e-5`, `1.5e308`, `1.8e308`, `-1.8e308`, `1e400`, `-1e400`,
	`1e-400`, `4.9e-324`, `2.4e-324`, `2.5e-324`, `1e22`, `1e23`, `9007199254740993`, `9007199254740992.0`,
	`123456789012345678901234567890`, `0.1`, `0.3`, `1.7976931348623157e308`, `[1e400, x]`,
	`0.000000000000000000001`, `3.712247222222222`, `40.423852777777775`, `12345678901234567890`,
	`1234567890123456789`, `1e-22`, `1e-23`, `8.98846567431158e307`, `100000000000000000000000`,
	`[1,2.5,-3e2,4E-1]`, `1x`, `-x`, `1.x`, `1ex`, `[1 2]`, `{"a":1 "b":2}`, `[1e99999999999]`,
	// Strings and escapes.
	`""`, `"a"`, `"\""`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\'"`, `"\a"`, `"\u00e9"`, `"\u00E9"`,
	`"\u0000"`, `"\u12"`, `"\u12x4"`, `"\uD83D\uDE00"`, `"\uD83D"`, `"\uDE00"`, `"\uD83Dx"`,
	`"\uD83D\u0041"`, `"\uD83D\uD83D\uDE00"`, `"\uDE00\uD83D"`, `"\uD83D\uDE0"`, `"\uD83D\uDE0x"`,
	`"\uD83D\n"`, `"\uD800\uDC00"`, `"\uDBFF\uDFFF"`, `"\uFFFD"`, `"\uFFFE"`, "\"\xff\"", "\"a\xffb\"",
	"\"\xc3\"", "\"\xc3\xa9\"", "\"\xe2\x82\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xef\xbf\xbd\"",
	"\"\x7f\"", "\"\x1f\"", "\"a\nb\"", "\"\t\"", `"abc`, `"\`, `"\u`, `"\u00`, "\"\\\xff\"",
	"\"Espa\xf1a\\u00f1\"", "\"\\n\xff\xfe\"", `"long string with no escapes at all, longer than forty bytes"`,
	`"12345678\"12345678"`, `"1234567\\"`, "\"1234567\x01\"",
	// Arrays and objects.
	`[]`, `[ ]`, `[`, `]`, `[,]`, `[1,]`, `[,1]`, `[1,,2]`, `[[[]]]`, `[[[`, `[1`, `[1,`, `[null,true,false]`,
	`{}`, `{ }`, `{`, `}`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{"a":1,}`, `{,}`, `{1:2}`, `{a:1}`, `{"a":1`,
	`{"a":1,"a":2}`, `{"a":{"b":[1,{"c":null}]}}`, `{"":0}`, `{"\u0061":1,"a":2}`, "{\"\xff\":1}",
	`{"a":1}{}`, `[1]]`, `{"a":[1}`, `["a":1]`, `{"a"::1}`, `{"a":1:}`,
	`{"type":"Property","value":1,"type":"Relationship"}`,
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	for _, in := range trickyInputs {
		checkAgainstStd(t, []byte(in))
	}
}

func TestDecodeValues(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`-0`, math.Copysign(0, -1)},
		{`0`, 0.0},
		{`1e-400`, 0.0},
		{`9007199254740993`, 9007199254740992.0},
		{`1.7976931348623157e308`, math.MaxFloat64},
		{`4.9e-324`, math.SmallestNonzeroFloat64},
		{`"\uD83D\uDE00"`, "😀"},
		{`"\uD83D"`, "\uFFFD"},
		{`"\uD83D\u0041"`, "\uFFFDA"},
		{"\"a\xffb\"", "a\uFFFDb"},
		{"\"\xed\xa0\x80\"", "\uFFFD\uFFFD\uFFFD"},
		{` {"a":1,"a":[true,null]} `, map[string]any{"a": []any{true, nil}}},
		{`[]`, []any{}},
		{`{}`, map[string]any{}},
	}
	for _, tt := range tests {
		got, err := Decode([]byte(tt.in))
		if err != nil {
			t.Errorf("Decode(%q): %v", tt.in, err)
			continue
		}
		if !sameValue(got, tt.want) {
			t.Errorf("Decode(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{``, "unexpected end of JSON input (at byte 0)"},
		{"\xef\xbb\xbf{}", "invalid character 'ï' looking for beginning of value (at byte 1)"},
		{`{"id": "a", x}`, "invalid character 'x' looking for beginning of object key string (at byte 13)"},
		{`[1] x`, "invalid character 'x' after top-level value (at byte 5)"},
		{`1e400`, "number 1e400 is out of float64 range (at byte 5)"},
		{`[1e400, x]`, "invalid character 'x' looking for beginning of value (at byte 9)"},
		{`1.`, "invalid character ' ' after decimal point in numeric literal (at byte 2)"},
		{`"\u00zz"`, "invalid character 'z' in \\u hexadecimal character escape (at byte 6)"},
		{strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), ""},
		{strings.Repeat("[", MaxDepth+1), "nesting too deep (at byte 513)"},
		{strings.Repeat(`{"a":`, MaxDepth+1), "nesting too deep (at byte 2561)"},
		{strings.Repeat("[", 1<<20), "nesting too deep (at byte 513)"},
	}
	for _, tt := range tests {
		_, err := Decode([]byte(tt.in))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("Decode(%.40q) error %q, want %q", tt.in, got, tt.want)
		}
	}
}

// sharedDataDir is where the project's shared data sets are, beside the
// repository.
func sharedDataDir() string {
	if d := os.Getenv("QALA_SHARED_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "data")
}

// jsonFiles returns the JSON files under dir.
func jsonFiles(t testing.TB, dir string) []string {
	var files []string
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch filepath.Ext(path) {
		case ".json", ".jsonld", ".geojson":
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return files
}

func TestDecodeSharedData(t *testing.T) {
	dir := sharedDataDir()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no shared data: %v", err)
	}
	files := jsonFiles(t, dir)
	if len(files) < 50 {
		t.Fatalf("found %d JSON files under %s, want the shared data set", len(files), dir)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkAgainstStd(t, data)
		if _, err := Decode(data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestDecodeTestdata(t *testing.T) {
	for _, f := range jsonFiles(t, "testdata") {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkAgainstStd(t, data)
	}
}

func TestDecodeConcurrent(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "entity.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for range 4 {
		go func() {
			ok := true
			for range 200 {
				got, err := Decode(data)
				ok = ok && err == nil && sameValue(got, want)
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("concurrent Decode gave a different value")
		}
	}
}

func TestDecodeDoesNotAliasInput(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "entity.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 'X'
	}
	if !sameValue(got, want) {
		t.Errorf("value changed when the input was overwritten: %#v", got)
	}
}

func TestDecodeCacheGenerationWraps(t *testing.T) {
	d := decoders.New().(*decoder)
	d.gen = ^uint32(0)
	in := []byte(`{"k":"v","k2":"v"}`)
	for range 3 {
		got, err := d.decode(in)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]any{"k": "v", "k2": "v"}; !sameValue(got, want) {
			t.Fatalf("decode = %#v, want %#v", got, want)
		}
		d.reset()
	}
	if d.gen != 3 {
		t.Errorf("gen = %d after wrapping, want 3", d.gen)
	}
}
