package jsonld

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/piprate/json-gold/ld"

	"github.com/qala-city/qala/internal/problem"
)

// The oracle tests compare expansion and compaction with json-gold, a full
// JSON-LD 1.1 processor, fed the same embedded context files (no network).
// The context list given to json-gold is [user..., core] with core URLs of
// any version inside user contexts served as the default core: the semantics
// Resolve documents.

type goldLoader struct{ r *Resolver }

func (l goldLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	if isCoreURL(u) {
		u = l.r.coreURL
	}
	doc, err := l.r.embeddedDoc(u)
	if err != nil {
		return nil, err
	}
	return &ld.RemoteDocument{DocumentURL: u, Document: map[string]any{"@context": doc}}, nil
}

func goldOptions(r *Resolver) *ld.JsonLdOptions {
	opts := ld.NewJsonLdOptions("")
	opts.DocumentLoader = goldLoader{r}
	return opts
}

// goldList returns [user..., core] for json-gold.
func goldList(t testing.TB, r *Resolver, user any) []any {
	t.Helper()
	core := func() any {
		d, err := r.embeddedDoc(r.coreURL)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	var list []any
	if a, ok := user.([]any); ok {
		list = append(list, a...)
	} else if user != nil {
		list = append(list, user)
	}
	return append(list, core())
}

func goldContext(t testing.TB, r *Resolver, user any) (c *ld.Context, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("json-gold panics: %v", p) // e.g. on "@protected": "yes"
		}
	}()
	return ld.NewContext(nil, goldOptions(r)).Parse(goldList(t, r, user))
}

// nodeValue stands for an NGSI-LD attribute in expanded form: a node object
// without @id, which is what the compaction of a property key sees.
var nodeValue = map[string]any{"@type": []any{"https://uri.etsi.org/ngsi-ld/Property"}}

// checkTerm compares ExpandTerm and CompactIRI for a key, and ExpandTerm and
// CompactType for a type, with json-gold.
func checkTerm(t *testing.T, where string, ours *Context, gold *ld.Context, term string, isType bool) {
	t.Helper()
	want, err := gold.ExpandIri(term, isType, true, nil, nil)
	if err != nil {
		t.Errorf("%s: json-gold ExpandIri(%q): %v", where, term, err)
		return
	}
	if got := ours.ExpandTerm(term); got != want {
		t.Errorf("%s: ExpandTerm(%q) = %q, json-gold %q", where, term, got, want)
		return
	}
	if !strings.Contains(want, ":") {
		return // json-gold drops it
	}
	if isType {
		wantC, err := gold.CompactIri(want, nil, true, false)
		if err != nil {
			return // json-gold: IRI confused with prefix; Qala keeps the IRI
		}
		if got := ours.CompactType(want); got != wantC {
			t.Errorf("%s: CompactType(%q) = %q, json-gold %q", where, want, got, wantC)
		}
		return
	}
	wantC, err := gold.CompactIri(want, nodeValue, true, false)
	if err != nil {
		return // json-gold: IRI confused with prefix; Qala keeps the IRI
	}
	if got := ours.CompactIRI(want); got != wantC {
		t.Errorf("%s: CompactIRI(%q) = %q, json-gold %q", where, want, got, wantC)
	}
}

func TestOracleFixtures(t *testing.T) {
	r := newTestResolver(t, Config{})
	files, err := filepath.Glob("testdata/oracle/*.jsonld")
	if err != nil || len(files) < 15 {
		t.Fatalf("fixtures: %v (%d)", err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc := readJSON(t, f).(map[string]any)
			user := doc["@context"]
			ours := mustResolve(t, r, user)
			gold, err := goldContext(t, r, user)
			if err != nil {
				t.Fatalf("json-gold: %v", err)
			}
			n := 0
			for k, v := range doc {
				if k == "@context" || k == "id" {
					continue
				}
				if k == "type" {
					checkTerm(t, f, ours, gold, v.(string), true)
					n++
					continue
				}
				checkTerm(t, f, ours, gold, k, false)
				n++
				attr, ok := v.(map[string]any)
				if !ok {
					continue
				}
				for ak, av := range attr {
					checkTerm(t, f, ours, gold, ak, false)
					n++
					if s, ok := av.(string); ok && ak == "type" {
						checkTerm(t, f, ours, gold, s, true)
					}
					if s, ok := av.(string); ok && ak == "vocab" {
						checkVocabValue(t, ours, gold, ak, s)
					}
				}
			}
			checkDocument(t, r, ours, doc)
			if n == 0 {
				t.Fatal("no terms checked")
			}
		})
	}
}

func checkVocabValue(t *testing.T, ours *Context, gold *ld.Context, key, v string) {
	t.Helper()
	gv, err := gold.ExpandValue(key, v)
	if err != nil {
		t.Fatalf("json-gold ExpandValue: %v", err)
	}
	want := gv.(map[string]any)["@id"].(string)
	got := ours.ExpandValue(key, v)
	if got != want {
		t.Errorf("ExpandValue(%q, %q) = %q, json-gold %q", key, v, got, want)
	}
	prop := ours.ExpandTerm(key)
	cv, err := gold.CompactValue(key, map[string]any{"@id": want})
	if err != nil {
		t.Fatalf("json-gold CompactValue: %v", err)
	}
	if back := ours.CompactValue(prop, got); back != cv {
		t.Errorf("CompactValue(%q, %q) = %q, json-gold %v", prop, got, back, cv)
	}
}

// checkDocument runs json-gold's full expansion and compaction on the
// document and compares the top-level keys and the type with ours.
func checkDocument(t *testing.T, r *Resolver, ours *Context, doc map[string]any) {
	t.Helper()
	list := goldList(t, r, doc["@context"])
	in := map[string]any{}
	for k, v := range doc {
		in[k] = v
	}
	in["@context"] = list
	proc := ld.NewJsonLdProcessor()
	opts := goldOptions(r)
	expanded, err := proc.Expand(in, opts)
	if err != nil {
		t.Fatalf("json-gold Expand: %v", err)
	}
	if len(expanded) != 1 {
		t.Fatalf("json-gold Expand: %d nodes", len(expanded))
	}
	exp := expanded[0].(map[string]any)
	compacted, err := proc.Compact(expanded, map[string]any{"@context": goldList(t, r, doc["@context"])}, goldOptions(r))
	if err != nil {
		t.Fatalf("json-gold Compact: %v", err)
	}
	var wantKeys, gotKeys, wantExp, gotExp []string
	for k := range exp {
		if !strings.HasPrefix(k, "@") {
			wantExp = append(wantExp, k)
		}
	}
	for k := range compacted {
		if k != "@context" && k != "id" && k != "type" {
			wantKeys = append(wantKeys, k)
		}
	}
	for k := range doc {
		if k == "@context" || k == "id" || k == "type" {
			continue
		}
		e := ours.ExpandTerm(k)
		if !strings.Contains(e, ":") {
			continue
		}
		gotExp = append(gotExp, e)
		gotKeys = append(gotKeys, ours.CompactIRI(e))
	}
	for _, s := range [][]string{wantKeys, gotKeys, wantExp, gotExp} {
		sort.Strings(s)
	}
	if fmt.Sprint(gotExp) != fmt.Sprint(wantExp) {
		t.Errorf("expanded keys:\n ours %v\n gold %v", gotExp, wantExp)
	}
	if fmt.Sprint(gotKeys) != fmt.Sprint(wantKeys) {
		t.Errorf("compacted keys:\n ours %v\n gold %v", gotKeys, wantKeys)
	}
	if ty, ok := doc["type"].(string); ok {
		if got, want := ours.CompactType(ours.ExpandTerm(ty)), compacted["type"]; got != want {
			t.Errorf("compacted type: ours %q, gold %v", got, want)
		}
	}
}

// TestOracleAllTerms checks every term of every embedded context.
func TestOracleAllTerms(t *testing.T) {
	r := newTestResolver(t, Config{})
	seen := map[string]bool{}
	urls := make([]string, 0, len(r.embedded))
	for u, f := range r.embedded {
		if strings.HasPrefix(u, "https://") && !seen[f] && !isCoreURL(u) {
			seen[f] = true
			urls = append(urls, u)
		}
	}
	sort.Strings(urls)
	urls = append(urls, "") // the core alone
	total := 0
	for _, u := range urls {
		var user any
		if u != "" {
			user = u
		}
		ours := mustResolve(t, r, user)
		gold, err := goldContext(t, r, user)
		if err != nil {
			t.Fatalf("json-gold %s: %v", u, err)
		}
		for term := range gold.TermDefinitions {
			checkTerm(t, u, ours, gold, term, false)
			checkTerm(t, u, ours, gold, term, true)
			total++
		}
		if len(ours.ac.terms) != len(gold.TermDefinitions) {
			t.Errorf("%s: %d terms, json-gold %d", u, len(ours.ac.terms), len(gold.TermDefinitions))
		}
	}
	t.Logf("%d contexts, %d terms checked", len(urls), total)
}

func TestOracleInvalid(t *testing.T) {
	r := newTestResolver(t, Config{})
	cases := readJSON(t, "testdata/invalid-contexts.json").([]any)
	for _, c := range cases {
		c := c.(map[string]any)
		t.Run(c["name"].(string), func(t *testing.T) {
			_, err := r.Resolve(context.Background(), c["context"])
			if err == nil {
				t.Fatal("Resolve: no error")
			}
			if !problem.Is(err, problem.BadRequestData) {
				t.Errorf("error %v is not BadRequestData", err)
			}
			if !strings.Contains(err.Error(), c["error"].(string)) {
				t.Errorf("error %q does not name %q", err, c["error"])
			}
			if _, err := goldContext(t, r, c["context"]); err == nil {
				t.Errorf("json-gold accepts the context")
			}
		})
	}
}

func TestOracleValid(t *testing.T) {
	r := newTestResolver(t, Config{})
	cases := readJSON(t, "testdata/valid-contexts.json").([]any)
	for _, c := range cases {
		c := c.(map[string]any)
		t.Run(c["name"].(string), func(t *testing.T) {
			ours, err := r.Resolve(context.Background(), c["context"])
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			gold, err := goldContext(t, r, c["context"])
			if err != nil {
				t.Fatalf("json-gold: %v", err)
			}
			for term := range gold.TermDefinitions {
				checkTerm(t, c["name"].(string), ours, gold, term, false)
			}
		})
	}
}
