package bench

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 8, 0, 0, 123e6, time.UTC)

func TestEntityBody(t *testing.T) {
	for _, ld := range []bool{false, true} {
		b := Bodies{RunID: "r1", LD: ld}
		seen := map[string]bool{}
		for seq := range uint64(2000) {
			body := b.AppendEntity(nil, "c", seq, t0)
			var e map[string]any
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("ld=%v seq %d: invalid JSON: %v\n%s", ld, seq, err, body)
			}
			if n := len(body); n < 900 || n > 1200 {
				t.Errorf("ld=%v seq %d: %d bytes, want about 1 KB", ld, seq, n)
			}
			id, _ := e["id"].(string)
			if want := b.ID("c", seq); id != want {
				t.Fatalf("id %q, want %q", id, want)
			}
			if seen[id] {
				t.Fatalf("id %q repeated", id)
			}
			seen[id] = true
			if e["type"] != EntityType {
				t.Errorf("type %v, want %s", e["type"], EntityType)
			}
			if _, has := e["@context"]; has != ld {
				t.Errorf("ld=%v: @context present = %v", ld, has)
			}
			checkAttrs(t, e)
			checkLocation(t, e)
		}
	}
}

// checkAttrs checks that every member but id, type and @context is a
// normalized attribute with the members its type requires.
func checkAttrs(t *testing.T, e map[string]any) {
	t.Helper()
	for name, v := range e {
		if name == "id" || name == "type" || name == "@context" {
			continue
		}
		a, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("attribute %s: %T, want an object", name, v)
		}
		switch a["type"] {
		case "Property", "GeoProperty":
			if _, ok := a["value"]; !ok {
				t.Errorf("attribute %s: no value", name)
			}
		case "Relationship":
			if obj, _ := a["object"].(string); !strings.HasPrefix(obj, "urn:ngsi-ld:") {
				t.Errorf("attribute %s: object %v is not a URN", name, a["object"])
			}
		default:
			t.Errorf("attribute %s: type %v", name, a["type"])
		}
		if at, ok := a["observedAt"].(string); ok {
			if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
				t.Errorf("attribute %s: observedAt %q: %v", name, at, err)
			}
		}
	}
}

func checkLocation(t *testing.T, e map[string]any) {
	t.Helper()
	var loc struct {
		Value struct {
			Type        string
			Coordinates []float64
		}
	}
	raw, _ := json.Marshal(e["location"])
	if err := json.Unmarshal(raw, &loc); err != nil || loc.Value.Type != "Point" || len(loc.Value.Coordinates) != 2 {
		t.Fatalf("location %s is not a GeoJSON Point (%v)", raw, err)
	}
	lon, lat := loc.Value.Coordinates[0], loc.Value.Coordinates[1]
	if lon < 71.2 || lon > 71.7 || lat < 51 || lat > 51.3 {
		t.Errorf("location %v, %v is not in Astana", lon, lat)
	}
}

func TestIDsDifferAcrossRunsAndKinds(t *testing.T) {
	ids := map[string]bool{}
	for _, run := range []string{NewRunID(), NewRunID()} {
		for _, kind := range []string{"c", "u", "p"} {
			for seq := range uint64(100) {
				id := Bodies{RunID: run}.ID(kind, seq)
				if ids[id] {
					t.Fatalf("id %q repeated", id)
				}
				ids[id] = true
			}
		}
	}
}

func TestBatchBody(t *testing.T) {
	b := Bodies{RunID: "r2"}
	for _, n := range []int{0, 1, 7, 1000} {
		var es []map[string]any
		body := b.AppendBatch(nil, "u", 500, n, t0)
		if err := json.Unmarshal(body, &es); err != nil {
			t.Fatalf("n=%d: invalid JSON: %v", n, err)
		}
		if len(es) != n {
			t.Fatalf("n=%d: %d entities", n, len(es))
		}
		for i, e := range es {
			if want := b.ID("u", 500+uint64(i)); e["id"] != want {
				t.Fatalf("entity %d: id %v, want %s", i, e["id"], want)
			}
		}
	}
}

func TestPatchBody(t *testing.T) {
	for _, ld := range []bool{false, true} {
		body := Bodies{RunID: "r3", LD: ld}.AppendPatch(nil, 42, t0)
		var frag map[string]any
		if err := json.Unmarshal(body, &frag); err != nil {
			t.Fatalf("invalid JSON: %v\n%s", err, body)
		}
		delete(frag, "@context")
		if len(frag) != 3 {
			t.Errorf("%d attributes, want 3: %s", len(frag), body)
		}
		checkAttrs(t, frag)
	}
}

func TestAppendFixed(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		dec  int
		want string
	}{
		{0, 0, "0"}, {0, 1, "0.0"}, {5, 2, "0.05"}, {1234, 1, "123.4"}, {712345, 4, "71.2345"}, {7, 0, "7"},
	} {
		if got := string(appendFixed(nil, tc.v, tc.dec)); got != tc.want {
			t.Errorf("appendFixed(%d, %d) = %q, want %q", tc.v, tc.dec, got, tc.want)
		}
	}
}

func BenchmarkAppendEntity(b *testing.B) {
	bodies := Bodies{RunID: "bench"}
	buf := make([]byte, 0, 2048)
	for i := 0; b.Loop(); i++ {
		buf = bodies.AppendEntity(buf[:0], "c", uint64(i), t0)
	}
	b.SetBytes(int64(len(buf)))
}
