package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
)

var update = flag.Bool("update", false, "rewrite the expectations of testdata/*.txt")

// The data files hold blocks separated by blank lines:
//
//	entities
//	{ ...normalized entity, compact terms, core context... }
//	...
//	----
//
//	query <params as a URL query string, raw ";" "|" "+" allowed>
//	----
//	<expected ids, sorted, one a line; "(none)" for no match>
//	or: error <Type>: <detail substring>
//
// "createdAt" and "modifiedAt" members of an entity are kept (a store would
// stamp its own), so the files can run against any store loaded the same way.

// evalFunc answers one query over the loaded entities with the matching
// ids (sorted), or an error.
type evalFunc func(ents []*ngsild.Entity, params url.Values) ([]string, error)

func coreContext(t testing.TB) *jsonld.Context {
	t.Helper()
	r, err := jsonld.New(jsonld.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Core()
}

// loadEntities parses a stream of JSON entity documents.
func loadEntities(src string, ctx *jsonld.Context) ([]*ngsild.Entity, error) {
	dec := json.NewDecoder(strings.NewReader(src))
	var out []*ngsild.Entity
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		e, err := ngsild.ParseEntity(doc, ctx, ngsild.ParseOptions{})
		if err != nil {
			return nil, fmt.Errorf("entity %v: %w", doc["id"], err)
		}
		for k, dst := range map[string]*time.Time{"createdAt": &e.CreatedAt, "modifiedAt": &e.ModifiedAt} {
			if s, ok := doc[k].(string); ok {
				tm, err := time.Parse(time.RFC3339Nano, s)
				if err != nil {
					return nil, fmt.Errorf("entity %v: %s: %w", doc["id"], k, err)
				}
				*dst = tm
			}
		}
		out = append(out, e)
	}
}

// parseParams reads a URL query string without treating ";" as a separator
// or "+" as a space; %XX escapes are decoded.
func parseParams(s string) (url.Values, error) {
	v := url.Values{}
	for _, kv := range strings.Split(s, "&") {
		if kv == "" {
			continue
		}
		k, val, _ := strings.Cut(kv, "=")
		dv, err := url.PathUnescape(val)
		if err != nil {
			return nil, err
		}
		v.Add(k, dv)
	}
	return v, nil
}

// memEval is the in-memory evaluator under test.
func memEval(ctx *jsonld.Context) evalFunc {
	return func(ents []*ngsild.Entity, params url.Values) ([]string, error) {
		q, err := Parse(ParamsFromValues(params), ctx)
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, e := range ents {
			if q.Match(e) {
				ids = append(ids, e.ID)
			}
		}
		slices.Sort(ids)
		return ids, nil
	}
}

func TestDataDriven(t *testing.T) {
	ctx := coreContext(t)
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no data files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runDataFile(t, f, ctx, memEval(ctx)) })
	}
}

func runDataFile(t *testing.T, path string, ctx *jsonld.Context, eval evalFunc) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	var out bytes.Buffer
	var ents []*ngsild.Entity
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.HasPrefix(line, "entities"):
			out.WriteString(line + "\n")
			j := i + 1
			for j < len(lines) && lines[j] != "----" {
				j++
			}
			body := strings.Join(lines[i+1:j], "\n")
			out.WriteString(body + "\n----\n")
			ents, err = loadEntities(body, ctx)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, i+1, err)
			}
			i = j
		case strings.HasPrefix(line, "query "):
			out.WriteString(line + "\n----\n")
			if i+1 >= len(lines) || lines[i+1] != "----" {
				t.Fatalf("%s:%d: query without ----", path, i+1)
			}
			j := i + 2
			for j < len(lines) && lines[j] != "" {
				j++
			}
			want := strings.Join(lines[i+2:j], "\n")
			got := answer(eval, ents, strings.TrimPrefix(line, "query "))
			if *update {
				if strings.HasPrefix(want, "error ") && strings.HasPrefix(got, "error ") && errorMatches(got, want) {
					got = want // keep a hand-written substring
				}
				out.WriteString(got + "\n")
			} else if got != want && !(strings.HasPrefix(want, "error ") && errorMatches(got, want)) {
				t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, i+1, line, got, want)
			}
			i = j - 1
		default:
			out.WriteString(line + "\n")
		}
	}
	if *update {
		b := bytes.TrimRight(out.Bytes(), "\n")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// errorMatches reports whether got ("error Type: full detail") has want's
// type and contains want's detail substring.
func errorMatches(got, want string) bool {
	wt, wd, _ := strings.Cut(strings.TrimPrefix(want, "error "), ": ")
	gt, gd, _ := strings.Cut(strings.TrimPrefix(got, "error "), ": ")
	return wt == gt && strings.Contains(gd, wd)
}

func answer(eval evalFunc, ents []*ngsild.Entity, qs string) string {
	params, err := parseParams(qs)
	if err != nil {
		return "error bad test params: " + err.Error()
	}
	ids, err := eval(ents, params)
	if err != nil {
		pe := problem.As(err)
		if pe == nil {
			return "error not a problem: " + err.Error()
		}
		return fmt.Sprintf("error %s: %s", pe.Type, pe.Detail)
	}
	if len(ids) == 0 {
		return "(none)"
	}
	return strings.Join(ids, "\n")
}
