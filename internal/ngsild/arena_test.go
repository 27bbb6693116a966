package ngsild

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusEntities are the entities of the render testdata and the benchmark
// entity: every kind of attribute, sub-attributes, multi-attributes,
// language maps, scopes and system attributes.
func corpusEntities(t *testing.T) []*Entity {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "render", "*.txt"))
	es := []*Entity{testEntity(t, benchEntity)}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(raw), "\n")
		for i := 0; i < len(lines); i++ {
			if strings.TrimSpace(lines[i]) != "entity" {
				continue
			}
			var in []string
			for i++; i < len(lines) && lines[i] != "----"; i++ {
				in = append(in, lines[i])
			}
			es = append(es, testEntity(t, strings.Join(in, "\n")))
		}
	}
	if len(es) < 10 {
		t.Fatalf("only %d entities in the corpus", len(es))
	}
	return es
}

// RenderEach (Docs from a recycled arena) must give the same bytes as
// Render for every representation and option, entity after entity.
func TestRenderEachMatchesRender(t *testing.T) {
	ctx := testContext(t)
	es := corpusEntities(t)
	var opts []RenderOptions
	for _, format := range []Format{Normalized, Concise, KeyValues} {
		for _, sys := range []bool{false, true} {
			for _, lang := range []string{"", "fr", "en-GB,en;q=0.5", "*"} {
				base := RenderOptions{Context: ctx, Format: format, SysAttrs: sys, Lang: lang}
				expanded := base
				expanded.Context = nil
				withCtx := base
				withCtx.IncludeContext = "https://example.org/context.jsonld"
				attrs := base
				attrs.Attrs = []string{expandEx("ex:temperature"), expandEx("ex:name"), IRILocation}
				pick := base
				pick.Pick = []string{"id", expandEx("ex:owner"), expandEx("ex:temperature")}
				omit := base
				omit.Omit = []string{"type", expandEx("ex:street")}
				onlyType := base
				onlyType.Pick = []string{"type"}
				ds := base
				ds.DatasetIDs = []string{NoneDataset, "urn:ngsi-ld:Dataset:a"}
				opts = append(opts, base, expanded, withCtx, attrs, pick, omit, onlyType, ds)
			}
		}
	}
	for _, o := range opts {
		var want [][]byte
		for _, e := range es {
			b, err := Render(e, o).AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, b)
		}
		i := 0
		var buf []byte
		err := RenderEach(es, o, func(d Doc) error {
			var err error
			buf, err = d.AppendJSON(buf[:0])
			if err == nil && !bytes.Equal(buf, want[i]) {
				t.Errorf("entity %s, options %+v:\nRenderEach %s\nRender     %s", es[i].ID, o, buf, want[i])
			}
			i++
			return err
		})
		if err != nil || i != len(es) {
			t.Fatalf("RenderEach: %v after %d of %d entities", err, i, len(es))
		}
	}
}

func BenchmarkRenderEach(b *testing.B) {
	e := testEntity(&testing.T{}, benchEntity)
	es := []*Entity{e, e, e, e, e, e, e, e, e, e, e, e, e, e, e, e, e, e, e, e}
	o := RenderOptions{Context: testContext(b)}
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		_ = RenderEach(es, o, func(d Doc) error {
			var err error
			buf, err = d.AppendJSON(buf)
			return err
		})
	}
}

func BenchmarkRenderPage(b *testing.B) {
	e := testEntity(&testing.T{}, benchEntity)
	o := RenderOptions{Context: testContext(b)}
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for range 20 {
			buf, _ = Render(e, o).AppendJSON(buf)
		}
	}
}
