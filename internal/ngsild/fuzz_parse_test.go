package ngsild

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qala-city/qala/internal/problem"
)

// FuzzParseEntity feeds arbitrary JSON bodies to ParseEntity, ParseFragment
// and ParseAttr under every option combination: they must never panic,
// every error must be a BadRequestData problem, and every entity they accept
// must satisfy the model's invariants.
func FuzzParseEntity(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(parseSDMDir, "*", "example-*.jsonld"))
	for _, path := range files {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b, uint8(0))
		}
	}
	tdFiles, _ := filepath.Glob("testdata/parse/*.txt")
	for _, path := range tdFiles {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, block := range strings.Split(string(b), "\n\n") {
			lines := strings.Split(strings.TrimLeft(block, "\n"), "\n")
			for len(lines) > 0 && strings.HasPrefix(lines[0], "#") {
				lines = lines[1:]
			}
			if len(lines) < 2 {
				continue
			}
			in, _, _ := strings.Cut(strings.Join(lines[1:], "\n"), "\n----")
			var opt uint8
			for i, o := range []string{"allow-null", "key-values", "partial"} {
				if strings.Contains(lines[0], o) {
					opt |= 1 << i
				}
			}
			f.Add([]byte(in), opt)
		}
	}
	c := parseTestResolver(f).Core()
	f.Fuzz(func(t *testing.T, data []byte, opts uint8) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		opt := ParseOptions{AllowNull: opts&1 != 0, KeyValues: opts&2 != 0, Partial: opts&4 != 0}
		doc, _ := v.(map[string]any)
		if doc != nil {
			e, err := ParseEntity(doc, c, opt)
			parseFuzzCheck(t, e, err, true, opt)
			e, err = ParseFragment(doc, c, opt)
			parseFuzzCheck(t, e, err, false, opt)
		}
		insts, err := ParseAttr("fuzzed", v, c, opt)
		if err != nil {
			parseFuzzCheck(t, nil, err, false, opt)
			return
		}
		parseFuzzCheck(t, &Entity{Attrs: map[string][]*Attr{"fuzzed": insts}}, nil, false, opt)
	})
}

func parseFuzzCheck(t *testing.T, e *Entity, err error, whole bool, opt ParseOptions) {
	t.Helper()
	if err != nil {
		if !problem.Is(err, problem.BadRequestData) {
			t.Fatalf("error is not BadRequestData: %#v", err)
		}
		return
	}
	if whole {
		if ValidateURI("id", e.ID) != nil || len(e.Types) == 0 {
			t.Fatalf("accepted entity without valid id/type: %+v", e)
		}
	}
	for name, insts := range e.Attrs {
		if len(insts) == 0 {
			t.Fatalf("attribute %q has no instances", name)
		}
		if err := parseCheckDatasets(name, insts); err != nil {
			t.Fatalf("accepted duplicate datasetIds: %v", err)
		}
		for _, a := range insts {
			parseFuzzCheckAttr(t, name, a, opt)
		}
	}
	// Clone must give an equal copy: the stored form is well-formed JSON.
	if _, err := json.Marshal(e.Clone()); err != nil {
		t.Fatalf("parsed entity does not marshal: %v", err)
	}
}

func parseFuzzCheckAttr(t *testing.T, name string, a *Attr, opt ParseOptions) {
	t.Helper()
	if a.IsNull && !opt.AllowNull {
		t.Fatalf("%s: null accepted without AllowNull", name)
	}
	if a.Type == 0 && !a.IsNull && !opt.Partial {
		t.Fatalf("%s: attribute without kind", name)
	}
	if !a.IsNull && !opt.Partial {
		switch a.Type {
		case Property, GeoProperty, VocabProperty, JsonProperty, ListProperty:
			if a.Value == nil {
				t.Fatalf("%s: %s without value", name, a.Type)
			}
		case Relationship, ListRelationship:
			if a.Object == nil {
				t.Fatalf("%s: %s without object", name, a.Type)
			}
		case LanguageProperty:
			if a.LanguageMap == nil {
				t.Fatalf("%s: LanguageProperty without languageMap", name)
			}
		}
	}
	for sn, s := range a.Sub {
		parseFuzzCheckAttr(t, name+"."+sn, s, opt)
	}
}
