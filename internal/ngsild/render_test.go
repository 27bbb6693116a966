package ngsild

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qala-city/qala/internal/jsonld"
)

// testContext resolves testdata/render/context.json, an inline term map with
// explicit IRIs.
func testContext(t testing.TB) *jsonld.Context {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "render", "context.json"))
	if err != nil {
		t.Fatal(err)
	}
	var terms map[string]any
	if err := json.Unmarshal(raw, &terms); err != nil {
		t.Fatal(err)
	}
	r, err := jsonld.New(jsonld.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := r.Resolve(context.Background(), terms)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = expandEx(p)
	}
	return parts
}

// TestRender runs testdata/render/*.txt. Commands:
//
//	entity                  input: an entity in the test notation; it becomes the current one
//	render [format=normalized|concise|keyValues] [sysAttrs] [lang=L] [attrs=a,b]
//	       [pick=a,b] [omit=a,b] [datasetId=a,@none] [context] [expanded]
//	       [geojson[=ex:geom]] [collection]
//
// render prints the current entity (with collection, every entity of the
// file as a GeoJSON FeatureCollection). Names in lists use the ex: prefix.
func TestRender(t *testing.T) {
	ctx := testContext(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "render", "*.txt"))
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var all []*Entity
			runDataFile(t, f, func(t *testing.T, c *testCase) string {
				switch c.cmd {
				case "entity":
					all = append(all, testEntity(t, c.input))
					return ""
				case "render":
					if len(all) == 0 {
						t.Fatalf("%s: no entity", c.pos)
					}
					o := RenderOptions{Context: ctx, SysAttrs: c.has("sysAttrs"), Lang: c.args["lang"]}
					if c.has("expanded") {
						o.Context = nil
					}
					switch c.args["format"] {
					case "", "normalized":
					case "concise":
						o.Format = Concise
					case "keyValues":
						o.Format = KeyValues
					default:
						t.Fatalf("%s: bad format", c.pos)
					}
					if c.has("attrs") {
						o.Attrs = splitList(c.args["attrs"])
					}
					if c.has("pick") {
						o.Pick = splitList(c.args["pick"])
					}
					if c.has("omit") {
						o.Omit = splitList(c.args["omit"])
					}
					if c.has("datasetId") {
						o.DatasetIDs = strings.Split(c.args["datasetId"], ",")
					}
					if c.has("context") {
						o.IncludeContext = "https://example.org/context.jsonld"
					}
					before := pretty(t, showEntity(all[len(all)-1]))
					var out Doc
					switch {
					case c.has("collection"):
						out = RenderFeatureCollection(all, o, expandEx(c.args["geojson"]))
					case c.has("geojson"):
						out = RenderFeature(all[len(all)-1], o, expandEx(c.args["geojson"]))
					default:
						out = Render(all[len(all)-1], o)
					}
					if after := pretty(t, showEntity(all[len(all)-1])); after != before {
						t.Errorf("%s: render modified the entity", c.pos)
					}
					return pretty(t, out)
				}
				t.Fatalf("%s: unknown command %q", c.pos, c.cmd)
				return ""
			})
		})
	}
}

func TestRenderAttribute(t *testing.T) {
	insts := []*Attr{
		{Type: Property, Value: 1.0, DatasetID: "urn:d:b"},
		{Type: Property, Value: 2.0},
	}
	v, ok := RenderAttribute(insts, RenderOptions{Format: KeyValues})
	if !ok {
		t.Fatal("no instance rendered")
	}
	if got, want := pretty(t, v), pretty(t, Doc{{"dataset", Doc{{"@none", 2.0}, {"urn:d:b", 1.0}}}}); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, ok := RenderAttribute(insts, RenderOptions{DatasetIDs: []string{"urn:d:none"}}); ok {
		t.Error("an instance survived a datasetId filter that matches none")
	}
	v, _ = RenderAttribute(insts[1:], RenderOptions{Format: Concise})
	if v != 2.0 {
		t.Errorf("concise single Property = %v, want the bare value", v)
	}
}
