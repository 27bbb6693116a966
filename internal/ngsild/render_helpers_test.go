package ngsild

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// This file holds the helpers of the data-driven tests of render and ops:
// a reader of testdata files (command, input, "----", expected output) with
// an -update flag, and a test notation for entities, independent of the
// parser: expanded names where "ex:" stands for https://example.org/.

// The -update flag may also be defined by other test files of the package
// (as a package-level variable, initialized before init functions run), so
// it is defined here only when missing and read by name.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the expected output of testdata files")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const exNS = "https://example.org/"

// testCase is one command of a testdata file.
type testCase struct {
	pos      string // file:line
	cmd      string
	args     map[string]string
	argOrder []string
	input    string
	expected string
}

func (c *testCase) has(key string) bool { _, ok := c.args[key]; return ok }

// runDataFile runs every case of path through fn and compares (or, with
// -update, rewrites) the expected outputs.
func runDataFile(t *testing.T, path string, fn func(t *testing.T, c *testCase) string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	var out []string
	i := 0
	for i < len(lines) {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			out = append(out, line)
			i++
			continue
		}
		c := &testCase{pos: fmt.Sprintf("%s:%d", filepath.Base(path), i+1), args: map[string]string{}}
		fields := strings.Fields(line)
		c.cmd = fields[0]
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			c.args[k] = v
			c.argOrder = append(c.argOrder, k)
		}
		out = append(out, line)
		i++
		var in []string
		for i < len(lines) && lines[i] != "----" {
			in = append(in, lines[i])
			i++
		}
		if i == len(lines) {
			t.Fatalf("%s: missing ----", c.pos)
		}
		out = append(out, in...)
		out = append(out, "----")
		i++
		var exp []string
		for i < len(lines) && strings.TrimSpace(lines[i]) != "" {
			exp = append(exp, lines[i])
			i++
		}
		c.input = strings.Join(in, "\n")
		c.expected = strings.Join(exp, "\n")
		got := strings.TrimRight(fn(t, c), "\n")
		if updating() {
			if got != "" {
				out = append(out, strings.Split(got, "\n")...)
			}
			continue
		}
		if got != c.expected {
			t.Errorf("%s: %s\n got:\n%s\nwant:\n%s", c.pos, line, got, c.expected)
		}
		out = append(out, exp...)
	}
	if updating() {
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func expandEx(s string) string {
	if rest, ok := strings.CutPrefix(s, "ex:"); ok {
		return exNS + rest
	}
	return s
}

func compactEx(s string) string {
	if rest, ok := strings.CutPrefix(s, exNS); ok {
		return "ex:" + rest
	}
	return s
}

func expandAny(v any) any {
	switch x := v.(type) {
	case string:
		return expandEx(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = expandAny(e)
		}
		return out
	}
	return v
}

func compactAny(v any) any {
	switch x := v.(type) {
	case string:
		return compactEx(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = compactAny(e)
		}
		return out
	}
	return v
}

func mustTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("bad time %v: %v", v, err)
	}
	return tm
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}

// testEntity builds an Entity from the test notation:
//
//	{"id": "...", "type": ["ex:T"], "scope": [...], "createdAt": ..., "modifiedAt": ...,
//	 "attrs": {"ex:name": [instance, ...] or instance}}
//
// An instance is {"type": "Property", "value"|"languageMap"|"object"|"vocab"|
// "json"|"valueList"|"objectList": ..., "objectType", "observedAt",
// "unitCode", "datasetId", "createdAt", "modifiedAt", "deletedAt",
// "null": true, and any other key is a sub-attribute}.
func testEntity(t *testing.T, s string) *Entity {
	t.Helper()
	m, ok := decodeJSON(t, s).(map[string]any)
	if !ok {
		t.Fatalf("entity is not an object: %s", s)
	}
	e := &Entity{ID: stringOf(m["id"])}
	for _, ty := range asList(m["type"]) {
		e.Types = append(e.Types, expandEx(ty.(string)))
	}
	for _, sc := range asList(m["scope"]) {
		e.Scope = append(e.Scope, sc.(string))
	}
	if v, ok := m["createdAt"]; ok {
		e.CreatedAt = mustTime(t, v)
	}
	if v, ok := m["modifiedAt"]; ok {
		e.ModifiedAt = mustTime(t, v)
	}
	if v, ok := m["deletedAt"]; ok {
		e.DeletedAt = mustTime(t, v)
	}
	if attrs, ok := m["attrs"].(map[string]any); ok {
		e.Attrs = map[string][]*Attr{}
		for name, v := range attrs {
			for _, inst := range asList(v) {
				e.Attrs[expandEx(name)] = append(e.Attrs[expandEx(name)], testAttr(t, inst))
			}
		}
	}
	return e
}

func stringOf(v any) string { s, _ := v.(string); return s }

func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

func testAttrs(t *testing.T, s string) []*Attr {
	var out []*Attr
	for _, v := range asList(decodeJSON(t, s)) {
		out = append(out, testAttr(t, v))
	}
	return out
}

func testAttr(t *testing.T, v any) *Attr {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("attribute is not an object: %v", v)
	}
	a := &Attr{}
	for k, x := range m {
		switch k {
		case "type":
			ty, ok := ParseAttrType(x.(string))
			if !ok {
				t.Fatalf("bad attribute type %v", x)
			}
			a.Type = ty
		case "value", "json", "valueList":
			a.Value = x
		case "vocab":
			a.Value = expandAny(x)
		case "languageMap":
			a.LanguageMap = x.(map[string]any)
		case "object", "objectList":
			a.Object = x
		case "objectType":
			a.ObjectType = expandAny(x)
		case "observedAt":
			a.ObservedAt = mustTime(t, x)
		case "createdAt":
			a.CreatedAt = mustTime(t, x)
		case "modifiedAt":
			a.ModifiedAt = mustTime(t, x)
		case "deletedAt":
			a.DeletedAt = mustTime(t, x)
		case "unitCode":
			a.UnitCode = x.(string)
		case "datasetId":
			a.DatasetID = x.(string)
		case "null":
			a.IsNull = true
		default:
			if a.Sub == nil {
				a.Sub = map[string]*Attr{}
			}
			a.Sub[expandEx(k)] = testAttr(t, x)
		}
	}
	return a
}

// showEntity renders e in the test notation, members in a fixed order.
func showEntity(e *Entity) Doc {
	if e == nil {
		return nil
	}
	d := Doc{{"id", e.ID}}
	types := make([]any, len(e.Types))
	for i, ty := range e.Types {
		types[i] = compactEx(ty)
	}
	d = d.Add("type", types)
	if e.Scope != nil {
		d = d.Add("scope", e.Scope)
	}
	d = addTime(d, "createdAt", e.CreatedAt)
	d = addTime(d, "modifiedAt", e.ModifiedAt)
	d = addTime(d, "deletedAt", e.DeletedAt)
	var attrs Doc
	for _, name := range sortedNames(e.Attrs) {
		insts := slices.Clone(e.Attrs[name])
		slices.SortFunc(insts, func(a, b *Attr) int { return strings.Compare(a.DatasetID, b.DatasetID) })
		list := make([]any, len(insts))
		for i, a := range insts {
			list[i] = showAttr(a)
		}
		attrs = attrs.Add(compactEx(name), list)
	}
	if attrs != nil {
		d = d.Add("attrs", attrs)
	}
	return d
}

func addTime(d Doc, key string, tm time.Time) Doc {
	if tm.IsZero() {
		return d
	}
	return d.Add(key, tm)
}

func showAttr(a *Attr) Doc {
	d := Doc{{"type", a.Type.String()}}
	if a.IsNull {
		d = d.Add("null", true)
	}
	switch a.Type {
	case VocabProperty:
		d = d.Add("vocab", compactAny(a.Value))
	case JsonProperty:
		d = d.Add("json", a.Value)
	case ListProperty:
		d = d.Add("valueList", a.Value)
	case ListRelationship:
		d = d.Add("objectList", a.Object)
	case LanguageProperty:
		d = d.Add("languageMap", a.LanguageMap)
	case Relationship:
		d = d.Add("object", a.Object)
	default:
		if a.Value != nil {
			d = d.Add("value", a.Value)
		}
	}
	if a.ObjectType != nil {
		d = d.Add("objectType", compactAny(a.ObjectType))
	}
	d = addTime(d, "observedAt", a.ObservedAt)
	if a.UnitCode != "" {
		d = d.Add("unitCode", a.UnitCode)
	}
	if a.DatasetID != "" {
		d = d.Add("datasetId", a.DatasetID)
	}
	d = addTime(d, "createdAt", a.CreatedAt)
	d = addTime(d, "modifiedAt", a.ModifiedAt)
	d = addTime(d, "deletedAt", a.DeletedAt)
	names := make([]string, 0, len(a.Sub))
	for k := range a.Sub {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		d = d.Add(compactEx(k), showAttr(a.Sub[k]))
	}
	return d
}

// pretty encodes v (a Doc or any JSON value) with two-space indentation,
// keeping member order.
func pretty(t *testing.T, v any) string {
	t.Helper()
	raw, err := appendValue(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		t.Fatalf("invalid JSON %s: %v", raw, err)
	}
	return buf.String()
}
