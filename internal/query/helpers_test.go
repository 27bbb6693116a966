package query

import (
	"net/url"
	"strings"
	"testing"

	"github.com/qala-city/qala/internal/jsonld"
)

func coreContext(t testing.TB) *jsonld.Context {
	t.Helper()
	r, err := jsonld.New(jsonld.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Core()
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
