package query

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// TestIndexCondsAgreeWithMatchQ: for random q expressions and random
// entities, the value conditions IndexConds takes out (with the store's
// semantics, store.ValueCond.Match) and the rest together hold exactly
// when MatchQ holds. This is what lets a store answer them from its value
// indexes.
func TestIndexCondsAgreeWithMatchQ(t *testing.T) {
	ctx := coreContext(t)
	rng := rand.New(rand.NewPCG(7, 8))
	names := []string{"n", "m", "s"}
	words := []string{"free", "busy", "urn:x:1", "2024-01-01T00:00:00Z", "12", "x y"}
	value := func(depth int) any {
		var v func(depth int) any
		v = func(depth int) any {
			switch rng.IntN(9) {
			case 0, 1, 2:
				return float64(rng.IntN(8))
			case 3:
				return float64(rng.IntN(80))/10 - 1
			case 4, 5:
				w := words[rng.IntN(len(words))]
				if rng.IntN(4) == 0 {
					w = ngsild.DefaultVocab + w
				}
				return w
			case 6:
				return rng.IntN(2) == 0
			case 7:
				if depth > 1 {
					return 1.0
				}
				return []any{v(depth + 1), v(depth + 1)}
			}
			return map[string]any{"k": v(depth + 1)}
		}
		return v(depth)
	}
	entity := func(i int) *ngsild.Entity {
		e := &ngsild.Entity{ID: fmt.Sprintf("urn:e:%d", i), Types: []string{ngsild.DefaultVocab + "T"}, Attrs: map[string][]*ngsild.Attr{}}
		for _, n := range names {
			if rng.IntN(4) == 0 {
				continue
			}
			for j := range 1 + rng.IntN(2) {
				a := &ngsild.Attr{Type: ngsild.Property, Value: value(0)}
				switch rng.IntN(6) {
				case 0:
					a.Type, a.Value, a.Object = ngsild.Relationship, 3.0, "urn:x:1"
				case 1:
					a.Type, a.Value, a.LanguageMap = ngsild.LanguageProperty, nil, map[string]any{"en": "free", "kk": []any{"busy", 2.0}}
				case 2:
					a.Type = ngsild.VocabProperty
				}
				if j > 0 {
					a.DatasetID = "urn:ds:1"
				}
				if rng.IntN(3) == 0 {
					a.Sub = map[string]*ngsild.Attr{ngsild.DefaultVocab + "n": {Type: ngsild.Property, Value: 4.0}}
				}
				e.Attrs[ngsild.DefaultVocab+n] = append(e.Attrs[ngsild.DefaultVocab+n], a)
			}
		}
		return e
	}
	literal := func() string {
		switch rng.IntN(7) {
		case 0, 1, 2:
			return fmt.Sprint(rng.IntN(8))
		case 3:
			return fmt.Sprintf("%.1f", float64(rng.IntN(80))/10-1)
		case 4:
			return `"` + words[rng.IntN(len(words))] + `"`
		case 5:
			return words[rng.IntN(3)]
		}
		return "true"
	}
	term := func() string {
		path := names[rng.IntN(len(names))]
		switch rng.IntN(8) {
		case 0:
			path += ".n"
		case 1:
			path += "[k]"
		}
		switch rng.IntN(9) {
		case 0:
			return path
		case 1:
			return path + "==" + literal() + ".." + literal()
		case 2:
			return path + "==" + literal() + "," + literal()
		case 3:
			return path + "!=" + literal()
		case 4:
			return path + "~=fr"
		}
		op := []string{"==", ">", ">=", "<", "<="}[rng.IntN(5)]
		return path + op + literal()
	}
	var entities []*ngsild.Entity
	for i := range 300 {
		entities = append(entities, entity(i))
	}
	taken := 0
	for range 3000 {
		parts := make([]string, 1+rng.IntN(3))
		for i := range parts {
			parts[i] = term()
		}
		src := strings.Join(parts, ";")
		if rng.IntN(5) == 0 {
			src = "(" + src + ")|" + term()
		}
		x, err := ParseQ(src, ctx)
		if err != nil {
			continue // e.g. a range of a number and a string
		}
		conds, rest := IndexConds(x)
		taken += len(conds)
		for _, e := range entities {
			got := rest == nil || MatchQ(rest, e)
			for _, c := range conds {
				sc := store.ValueCond(c)
				got = got && sc.Match(e)
			}
			if want := MatchQ(x, e); got != want {
				t.Fatalf("q=%s on %s: conds %+v and rest %v give %v, MatchQ %v", src, e.ID, conds, rest, got, want)
			}
		}
	}
	if taken < 500 {
		t.Errorf("only %d conditions taken out: the generator misses the indexable terms", taken)
	}
}

func TestIndexCondsSplit(t *testing.T) {
	ctx := coreContext(t)
	for src, want := range map[string]string{
		`pm25>35;pm10<80`:         "2 conds, rest <nil>",
		`pm25>35;a.b==1`:          "1 conds, rest a.b==1",
		`pm25>35|pm10<80`:         "0 conds, rest pm25>35|pm10<80",
		`(a>1|b>2);c==1..3;d!=4`:  "1 conds, rest (a>1|b>2);d!=4",
		`status=="free",busy`:     "1 conds, rest <nil>",
		`when<2024-01-01`:         "0 conds, rest when<2024-01-01",
		`name=="x";a[k]>1`:        "1 conds, rest a[k]>1",
		`x==2024-01-01T00:00:00Z`: "0 conds, rest x==2024-01-01T00:00:00Z",
	} {
		x, err := ParseQ(src, ctx)
		if err != nil {
			t.Fatal(err)
		}
		conds, rest := IndexConds(x)
		restText := "<nil>"
		if rest != nil {
			restText = rest.String()
		}
		if got := fmt.Sprintf("%d conds, rest %s", len(conds), restText); got != want {
			t.Errorf("IndexConds(%s) = %s, want %s", src, got, want)
		}
	}
}
