package ngsild

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qala-city/qala/internal/problem"
)

const parseSDMDir = "/work/shared/data/smart-data-models"

// parseSDMExamples returns the Smart Data Models example payloads, or skips.
func parseSDMExamples(t testing.TB, pattern string) map[string][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(parseSDMDir, "*", pattern))
	if len(files) == 0 {
		t.Skipf("no Smart Data Models examples under %s", parseSDMDir)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(filepath.Dir(f))] = b
	}
	return out
}

// sdmNonConformant names the Smart Data Models examples that break the
// NGSI-LD API and the fault ParseEntity must report.
var sdmNonConformant = map[string]string{
	// observedAt "2021-03-11T15:51:02+05:30": clause 4.6.3 allows only "Z".
	"Vehicle": `observedAt: "2021-03-11T15:51:02+05:30" is not a UTC DateTime`,
}

// TestParseSDMExamples parses every normalized and concise-looking example of
// the Smart Data Models shipped with Qala and checks the result against the
// source document: same id, every member an attribute, kinds as declared.
func TestParseSDMExamples(t *testing.T) {
	res := parseTestResolver(t)
	for model, data := range parseSDMExamples(t, "example-normalized.jsonld") {
		t.Run(model, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			c := res.Core()
			e, err := ParseEntity(doc, c, ParseOptions{})
			if fault, ok := sdmNonConformant[model]; ok {
				if err == nil || !strings.Contains(err.Error(), fault) {
					t.Fatalf("ParseEntity: %v, want an error with %q", err, fault)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEntity: %v", err)
			}
			if e.ID != doc["id"] {
				t.Errorf("id = %q, want %q", e.ID, doc["id"])
			}
			n := 0
			for k, v := range doc {
				switch k {
				case "id", "type", "@context", "scope", "createdAt", "modifiedAt":
					continue
				}
				n++
				insts := e.Attrs[c.ExpandTerm(k)]
				if len(insts) == 0 {
					t.Errorf("attribute %q missing", k)
					continue
				}
				m, ok := v.(map[string]any)
				if !ok {
					continue
				}
				want, _ := ParseAttrType(m["type"].(string))
				if want == Property && c.ExpandTerm(k) == IRILocation {
					want = GeoProperty // see TestParseData/errors.txt
				}
				if insts[0].Type != want {
					t.Errorf("attribute %q: kind %v, want %v", k, insts[0].Type, want)
				}
			}
			if len(e.Attrs) != n {
				t.Errorf("%d attributes, want %d", len(e.Attrs), n)
			}
		})
	}
}

// TestParseKeyValuesSDM parses the keyValues examples with KeyValues set.
func TestParseKeyValuesSDM(t *testing.T) {
	res := parseTestResolver(t)
	for model, data := range parseSDMExamples(t, "example-keyvalues.jsonld") {
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseEntity(doc, res.Core(), ParseOptions{KeyValues: true}); err != nil {
			t.Errorf("%s: ParseEntity(keyValues): %v", model, err)
		}
	}
}

func TestParseDeepNesting(t *testing.T) {
	// Sub-attributes nested far beyond the limit must be refused, not
	// recursed into.
	v := any(map[string]any{"value": 1})
	for i := 0; i < 10000; i++ {
		v = map[string]any{"value": i, "sub": v}
	}
	_, err := ParseAttr("deep", v, parseTestResolver(t).Core(), ParseOptions{})
	if !problem.Is(err, problem.BadRequestData) || !strings.Contains(err.Error(), "nest deeper than 64") {
		t.Fatalf("err = %v, want nesting error", err)
	}
	// 63 levels of sub-attributes are fine.
	v = map[string]any{"value": 1}
	for i := 0; i < maxAttrDepth-1; i++ {
		v = map[string]any{"value": i, "sub": v}
	}
	if _, err := ParseAttr("deep", v, parseTestResolver(t).Core(), ParseOptions{}); err != nil {
		t.Fatalf("depth %d refused: %v", maxAttrDepth, err)
	}
}

func TestParseNilAndWrongBodies(t *testing.T) {
	c := parseTestResolver(t).Core()
	if _, err := ParseEntity(nil, c, ParseOptions{}); !problem.Is(err, problem.BadRequestData) {
		t.Errorf("nil body: %v", err)
	}
	if _, err := ParseFragment(map[string]any{}, c, ParseOptions{}); err != nil {
		t.Errorf("empty fragment: %v", err)
	}
}

// TestParseExpandsWithContext checks that names, types, objectType and vocab
// go through the request context, not just the default vocabulary.
func TestParseExpandsWithContext(t *testing.T) {
	res := parseTestResolver(t)
	c, err := res.Resolve(context.Background(), map[string]any{
		"ex":   "https://example.org/",
		"Road": "https://example.org/types/Road",
		"lane": "https://example.org/props/lane",
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEntity(map[string]any{
		"id": "urn:ngsi-ld:Road:1", "type": "Road",
		"lane":    map[string]any{"vocab": "ex:bus"},
		"ex:next": map[string]any{"object": "urn:ngsi-ld:Road:2", "objectType": "Road"},
	}, c, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Types[0] != "https://example.org/types/Road" {
		t.Errorf("type = %q", e.Types[0])
	}
	lane := e.Instance("https://example.org/props/lane", "")
	if lane == nil || lane.Value != "https://example.org/bus" {
		t.Errorf("lane = %+v", lane)
	}
	next := e.Instance("https://example.org/next", "")
	if next == nil || next.ObjectType != "https://example.org/types/Road" {
		t.Errorf("next = %+v", next)
	}
}

func BenchmarkParseEntity(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(parseSDMDir, "AirQualityObserved", "example-normalized.jsonld"))
	if err != nil {
		b.Skip(err)
	}
	c := parseTestResolver(b).Core()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseEntity(doc, c, ParseOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
