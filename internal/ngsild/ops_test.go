package ngsild

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qala-city/qala/internal/problem"
)

// TestOps runs testdata/ops/*.txt. Commands (now is 2030-01-01T00:00:00Z
// unless now= is given; the result of an operation becomes the current entity):
//
//	entity                       input: the current entity, in the test notation
//	create|replace|merge|update  input: the entity or fragment
//	append [noOverwrite]         input: the fragment
//	upsert [update]              input: the entity
//	partial attr=ex:a            input: one attribute
//	replaceAttr attr=ex:a        input: one attribute or an array of them
//	deleteAttr attr=ex:a [datasetId=d] [deleteAll]
//
// Each prints the error, or what the operation reports (touched attributes,
// UpdateResult, "no-op" when it returns its input) and the entity after it.
// Every command also checks that the operation left its inputs unchanged.
func TestOps(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "ops", "*.txt"))
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var cur *Entity
			runDataFile(t, f, func(t *testing.T, c *testCase) string {
				now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
				if c.has("now") {
					now = mustTime(t, c.args["now"])
				}
				if c.cmd == "entity" {
					cur = testEntity(t, c.input)
					return ""
				}
				if cur == nil && c.cmd != "create" && c.cmd != "upsert" {
					t.Fatalf("%s: no current entity", c.pos)
				}
				beforeText := pretty(t, showEntity(cur))
				var patch *Entity
				var attrs []*Attr
				var patchText string
				switch c.cmd {
				case "partial", "replaceAttr":
					attrs = testAttrs(t, c.input)
					var list []any
					for _, a := range attrs {
						list = append(list, showAttr(a))
					}
					patchText = pretty(t, list)
				case "deleteAttr":
				default:
					patch = testEntity(t, c.input)
					patchText = pretty(t, showEntity(patch))
				}
				var (
					after   *Entity
					err     error
					touched []string
					res     *UpdateResult
				)
				name := expandEx(c.args["attr"])
				switch c.cmd {
				case "create":
					after = Create(patch, now)
				case "replace":
					after, touched = Replace(cur, patch, now)
				case "upsert":
					after, touched = Upsert(cur, patch, c.has("update"), now)
				case "merge":
					after, touched = Merge(cur, patch, now)
				case "update":
					var r UpdateResult
					after, r = UpdateAttrs(cur, patch, now)
					res = &r
				case "append":
					var r UpdateResult
					after, r = AppendAttrs(cur, patch, c.has("noOverwrite"), now)
					res = &r
				case "partial":
					after, err = PartialAttrUpdate(cur, name, attrs[0], now)
				case "replaceAttr":
					after, err = ReplaceAttr(cur, name, attrs, now)
				case "deleteAttr":
					after, err = DeleteAttr(cur, name, c.args["datasetId"], c.has("deleteAll"), now)
				default:
					t.Fatalf("%s: unknown command %q", c.pos, c.cmd)
				}
				if got := pretty(t, showEntity(cur)); got != beforeText {
					t.Errorf("%s: %s modified its input entity:\n%s", c.pos, c.cmd, got)
				}
				// Create, Replace and Upsert take ownership of the entity they
				// are given; every other operation leaves its fragment alone.
				owns := c.cmd == "create" || c.cmd == "replace" || c.cmd == "upsert"
				if patch != nil && !owns && pretty(t, showEntity(patch)) != patchText {
					t.Errorf("%s: %s modified its fragment", c.pos, c.cmd)
				}
				if attrs != nil {
					var list []any
					for _, a := range attrs {
						list = append(list, showAttr(a))
					}
					if pretty(t, list) != patchText {
						t.Errorf("%s: %s modified its attributes", c.pos, c.cmd)
					}
				}
				if err != nil {
					pe := problem.As(err)
					if pe == nil {
						t.Fatalf("%s: error is not a *problem.Error: %v", c.pos, err)
					}
					return "error: " + pe.Error()
				}
				if after == nil {
					t.Fatalf("%s: nil entity without error", c.pos)
				}
				var b strings.Builder
				noop := after == cur
				if touched != nil || c.cmd == "merge" || c.cmd == "replace" || c.cmd == "upsert" {
					b.WriteString("touched: " + strings.Join(compactNames(touched), ",") + "\n")
				}
				if res != nil {
					b.WriteString("updated: " + strings.Join(compactNames(res.Updated), ",") + "\n")
					for _, n := range res.NotUpdated {
						b.WriteString("notUpdated: " + compactEx(n.AttributeName) + ": " + n.Reason + "\n")
					}
				}
				if noop {
					// The store writes nothing and emits no event.
					b.WriteString("no-op (after == before)")
					return b.String()
				}
				b.WriteString(pretty(t, showEntity(after)))
				cur = after
				return b.String()
			})
		})
	}
}

func compactNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = compactEx(n)
	}
	return out
}

func TestAttrOpsOnMissingEntity(t *testing.T) {
	now := time.Now()
	a := &Attr{Type: Property, Value: 1.0}
	if _, err := PartialAttrUpdate(nil, exNS+"a", a, now); !problem.Is(err, problem.ResourceNotFound) {
		t.Errorf("PartialAttrUpdate: %v", err)
	}
	if _, err := ReplaceAttr(nil, exNS+"a", []*Attr{a}, now); !problem.Is(err, problem.ResourceNotFound) {
		t.Errorf("ReplaceAttr: %v", err)
	}
	if _, err := DeleteAttr(nil, exNS+"a", "", true, now); !problem.Is(err, problem.ResourceNotFound) {
		t.Errorf("DeleteAttr: %v", err)
	}
}
