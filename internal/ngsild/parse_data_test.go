package ngsild

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/problem"
)

var parseUpdate = flag.Bool("update", false, "rewrite the expected output of testdata/parse/*.txt")

// parseTestCase is one case of a testdata/parse file:
//
//	# comments
//	parse-entity|parse-fragment|parse-attr NAME [allow-null] [key-values] [partial]
//	input JSON (an entity body may hold an inline "@context")
//	----
//	expected: the parsed result as JSON, or "error <Type>: <detail>"
//
// Cases are separated by blank lines.
type parseTestCase struct {
	comments []string
	cmd      string
	input    string
	want     string
}

func parseTestFile(t *testing.T, path string) []parseTestCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []parseTestCase
	for _, block := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n\n") {
		block = strings.Trim(block, "\n")
		if block == "" {
			continue
		}
		var c parseTestCase
		lines := strings.Split(block, "\n")
		for len(lines) > 0 && strings.HasPrefix(lines[0], "#") {
			c.comments = append(c.comments, lines[0])
			lines = lines[1:]
		}
		if len(lines) == 0 {
			cases = append(cases, c)
			continue
		}
		c.cmd = lines[0]
		rest := strings.Join(lines[1:], "\n")
		in, want, ok := strings.Cut(rest, "\n----")
		if !ok {
			t.Fatalf("%s: case %q has no ---- line", path, c.cmd)
		}
		c.input = in
		c.want = strings.TrimPrefix(want, "\n")
		cases = append(cases, c)
	}
	return cases
}

func TestParseData(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	res := parseTestResolver(t)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cases := parseTestFile(t, path)
			var out bytes.Buffer
			for i, c := range cases {
				for _, l := range c.comments {
					out.WriteString(l + "\n")
				}
				if c.cmd == "" {
					out.WriteString("\n")
					continue
				}
				got := parseTestRun(t, res, c)
				if !*parseUpdate && got != c.want {
					t.Errorf("case %d (%s) input:\n%s\ngot:\n%s\nwant:\n%s", i, c.cmd, c.input, got, c.want)
				}
				fmt.Fprintf(&out, "%s\n%s\n----\n%s\n\n", c.cmd, c.input, got)
			}
			if *parseUpdate {
				b := append(bytes.TrimRight(out.Bytes(), "\n"), '\n')
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func parseTestResolver(t testing.TB) *jsonld.Resolver {
	t.Helper()
	r, err := jsonld.New(jsonld.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func parseTestRun(t *testing.T, res *jsonld.Resolver, c parseTestCase) string {
	t.Helper()
	f := strings.Fields(c.cmd)
	var opt ParseOptions
	attrName := ""
	if f[0] == "parse-attr" {
		if len(f) < 2 {
			t.Fatalf("parse-attr needs a name: %q", c.cmd)
		}
		attrName, f = f[1], f[1:]
	}
	for _, o := range f[1:] {
		switch o {
		case "allow-null":
			opt.AllowNull = true
		case "key-values":
			opt.KeyValues = true
		case "partial":
			opt.Partial = true
		default:
			t.Fatalf("unknown option %q in %q", o, c.cmd)
		}
	}
	var v any
	if err := json.Unmarshal([]byte(c.input), &v); err != nil {
		t.Fatalf("bad input JSON in %q: %v\n%s", c.cmd, err, c.input)
	}
	var got any
	var err error
	switch strings.Fields(c.cmd)[0] {
	case "parse-entity", "parse-fragment":
		doc, _ := v.(map[string]any)
		jc := res.Core()
		if raw, ok := doc["@context"]; ok {
			if jc, err = res.Resolve(context.Background(), raw); err != nil {
				t.Fatalf("resolve @context: %v", err)
			}
		}
		var e *Entity
		if strings.HasPrefix(c.cmd, "parse-entity") {
			e, err = ParseEntity(doc, jc, opt)
		} else {
			e, err = ParseFragment(doc, jc, opt)
		}
		if err == nil {
			got = parseDumpEntity(e)
		}
	case "parse-attr":
		var insts []*Attr
		insts, err = ParseAttr(attrName, v, res.Core(), opt)
		if err == nil {
			var l []any
			for _, a := range insts {
				l = append(l, parseDumpAttr(a))
			}
			got = l
		}
	default:
		t.Fatalf("unknown command %q", c.cmd)
	}
	if err != nil {
		pe := problem.As(err)
		if pe == nil {
			return "error (not a problem.Error): " + err.Error()
		}
		return fmt.Sprintf("error %s: %s", pe.Type, pe.Detail)
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parseDumpEntity renders e for comparison: plain maps, so that keys sort.
func parseDumpEntity(e *Entity) map[string]any {
	m := map[string]any{}
	if e.ID != "" {
		m["id"] = e.ID
	}
	if e.Types != nil {
		m["type"] = e.Types
	}
	if e.Scope != nil {
		m["scope"] = e.Scope
	}
	if len(e.Attrs) > 0 {
		attrs := map[string]any{}
		for name, insts := range e.Attrs {
			var l []any
			for _, a := range insts {
				l = append(l, parseDumpAttr(a))
			}
			attrs[name] = l
		}
		m["attrs"] = attrs
	}
	return m
}

func parseDumpAttr(a *Attr) map[string]any {
	m := map[string]any{}
	if a.Type != 0 {
		m["type"] = a.Type.String()
	}
	if a.IsNull {
		m["isNull"] = true
	}
	if a.Value != nil {
		m["value"] = a.Value
	}
	if a.LanguageMap != nil {
		m["languageMap"] = a.LanguageMap
	}
	if a.Object != nil {
		m["object"] = a.Object
	}
	if a.ObjectType != nil {
		m["objectType"] = a.ObjectType
	}
	if a.DatasetID != "" {
		m["datasetId"] = a.DatasetID
	}
	if !a.ObservedAt.IsZero() {
		m["observedAt"] = FormatTime(a.ObservedAt)
	}
	if a.UnitCode != "" {
		m["unitCode"] = a.UnitCode
	}
	if len(a.Sub) > 0 {
		sub := map[string]any{}
		keys := make([]string, 0, len(a.Sub))
		for k := range a.Sub {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub[k] = parseDumpAttr(a.Sub[k])
		}
		m["sub"] = sub
	}
	return m
}
