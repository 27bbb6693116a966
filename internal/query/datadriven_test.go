package query_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/jsonld"
	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/problem"
	"github.com/qala-city/qala/internal/query"
	"github.com/qala-city/qala/internal/store"
	"github.com/qala-city/qala/internal/store/embedded"
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
//	<expected ids, one a line; "(none)" for no match>
//	or: error <Type>: <detail substring>
//
// The ids are in ascending order, or in the order orderBy asks for (with
// collation, orderGeometry and orderFrom); limit and offset page the result.
// "createdAt" and "modifiedAt" members of an entity are kept (a store would
// stamp its own), so the files run unchanged against every evaluator: the
// in-memory evaluator (query.Query.Match over the entities) and every
// store.Store in stores, through store.Query as the API builds it. With
// -update the expectations are rewritten from the in-memory evaluator.

// stores lists the store.Store implementations the data files run on, each
// opened empty for one entities block. The PostgreSQL store joins it when
// it exists.
var stores = []struct {
	name string
	open func(t testing.TB) store.Store
}{
	{"embedded", func(t testing.TB) store.Store {
		s, err := embedded.Open(embedded.Options{Dir: t.TempDir(), NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

// evaluator loads the entities of a block and answers its queries with the
// ids of the page asked for, in order.
type evaluator struct {
	name string
	load func(t testing.TB, ents []*ngsild.Entity) func(params url.Values) ([]string, error)
}

func evaluators(ctx *jsonld.Context) []evaluator {
	evs := []evaluator{{"memory", func(_ testing.TB, ents []*ngsild.Entity) func(url.Values) ([]string, error) {
		return func(params url.Values) ([]string, error) { return memoryAnswer(ctx, ents, params) }
	}}}
	for _, s := range stores {
		evs = append(evs, evaluator{"store/" + s.name, func(t testing.TB, ents []*ngsild.Entity) func(url.Values) ([]string, error) {
			st := s.open(t)
			loadStore(t, st, ents)
			return func(params url.Values) ([]string, error) { return storeAnswer(ctx, st, params) }
		}})
	}
	return evs
}

func TestDataDriven(t *testing.T) {
	ctx := query.CoreContext(t)
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no data files: %v", err)
	}
	for i, ev := range evaluators(ctx) {
		if *update && i > 0 {
			break // expectations come from the in-memory evaluator
		}
		t.Run(ev.name, func(t *testing.T) {
			for _, f := range files {
				t.Run(filepath.Base(f), func(t *testing.T) { runDataFile(t, f, ctx, ev) })
			}
		})
	}
}

// request is the parsed form of one data-file query.
type request struct {
	sel           *query.Query
	order         *query.Ordering
	limit, offset int
}

func parseRequest(params url.Values, ctx *jsonld.Context) (request, error) {
	r := request{limit: math.MaxInt32}
	var err error
	if r.sel, err = query.Parse(query.ParamsFromValues(params), ctx); err != nil {
		return r, err
	}
	if _, ok := params["orderBy"]; ok {
		r.order, err = query.ParseOrdering(query.OrderParams{
			OrderBy: params["orderBy"], Collation: params.Get("collation"),
			Geometry: params.Get("orderGeometry"), Coordinates: params.Get("orderFrom"),
		}, ctx)
		if err != nil {
			return r, err
		}
	}
	for k, dst := range map[string]*int{"limit": &r.limit, "offset": &r.offset} {
		if v := params.Get(k); v != "" {
			if *dst, err = strconv.Atoi(v); err != nil {
				return r, fmt.Errorf("bad test parameter %s=%q", k, v)
			}
		}
	}
	return r, nil
}

// page cuts the page [offset, offset+limit) out of es and returns its ids.
func (r request) page(es []*ngsild.Entity) []string {
	var ids []string
	for i := r.offset; i < len(es) && i < r.offset+r.limit; i++ {
		ids = append(ids, es[i].ID)
	}
	return ids
}

// memoryAnswer evaluates the query with the in-memory evaluator alone.
func memoryAnswer(ctx *jsonld.Context, ents []*ngsild.Entity, params url.Values) ([]string, error) {
	r, err := parseRequest(params, ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]*ngsild.Entity{}
	for _, e := range ents {
		byID[e.ID] = e
	}
	r.sel.Resolve = func(id string) *ngsild.Entity { return byID[id] }
	var out []*ngsild.Entity
	for _, e := range ents {
		if r.sel.Match(e) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *ngsild.Entity) int { return strings.Compare(a.ID, b.ID) })
	if r.order != nil {
		r.order.Sort(out)
	}
	return r.page(out), nil
}

// storeAnswer runs the query through a store, building store.Query the way
// the API's Query Entities does: ids, idPattern and indexable types as
// index conditions, the rest as Filter, the geo-query's box as GeoBox;
// paging in the store unless the result is ordered (the API then sorts
// every match and pages the sorted list).
func storeAnswer(ctx *jsonld.Context, st store.Store, params url.Values) ([]string, error) {
	r, err := parseRequest(params, ctx)
	if err != nil {
		return nil, err
	}
	r.sel.Resolve = func(id string) *ngsild.Entity {
		e, err := st.Get(context.Background(), store.DefaultTenant, id)
		if err != nil {
			return nil
		}
		return e
	}
	q := store.Query{IDs: r.sel.IDs, IDPattern: r.sel.IDPattern, Limit: math.MaxInt32}
	if types, ok := r.sel.IndexTypes(); ok {
		q.Types = types
	}
	if r.sel.Q != nil || r.sel.ScopeQ != nil || r.sel.Geo != nil || (r.sel.Type != nil && q.Types == nil) {
		q.Filter = r.sel.Match
		q.FilterAttrs = r.sel.Attrs()
	}
	if g := r.sel.Geo; g != nil {
		if b, ok := g.Bounds(); ok {
			q.GeoAttr = g.Property
			q.GeoBox = &[4]float64{b.MinLon, b.MinLat, b.MaxLon, b.MaxLat}
		}
	}
	if r.order == nil {
		q.Offset, q.Limit = r.offset, r.limit
	}
	res, err := st.Query(context.Background(), store.DefaultTenant, q)
	if err != nil {
		return nil, err
	}
	if r.order == nil {
		var ids []string
		for _, e := range res.Entities {
			ids = append(ids, e.ID)
		}
		return ids, nil
	}
	r.order.Sort(res.Entities)
	return r.page(res.Entities), nil
}

// loadStore writes the entities, as they are, into the default tenant.
func loadStore(t testing.TB, st store.Store, ents []*ngsild.Entity) {
	t.Helper()
	changes := make([]store.Change, len(ents))
	for i, e := range ents {
		changes[i] = store.Change{ID: e.ID, Op: store.OpCreate, Apply: func(*ngsild.Entity) (*ngsild.Entity, []string, error) {
			return e, nil, nil
		}}
	}
	errs, err := st.Write(context.Background(), store.DefaultTenant, changes)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("write %s: %v", ents[i].ID, err)
		}
	}
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

func runDataFile(t *testing.T, path string, ctx *jsonld.Context, ev evaluator) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	var out bytes.Buffer
	var eval func(url.Values) ([]string, error)
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
			ents, err := loadEntities(body, ctx)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, i+1, err)
			}
			eval = ev.load(t, ents)
			i = j
		case strings.HasPrefix(line, "query "):
			out.WriteString(line + "\n----\n")
			if i+1 >= len(lines) || lines[i+1] != "----" {
				t.Fatalf("%s:%d: query without ----", path, i+1)
			}
			if eval == nil {
				t.Fatalf("%s:%d: query before any entities block", path, i+1)
			}
			j := i + 2
			for j < len(lines) && lines[j] != "" {
				j++
			}
			want := strings.Join(lines[i+2:j], "\n")
			got := answer(eval, strings.TrimPrefix(line, "query "))
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

func answer(eval func(url.Values) ([]string, error), qs string) string {
	params, err := query.ParseParams(qs)
	if err != nil {
		return "error bad test params: " + err.Error()
	}
	ids, err := eval(params)
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
