package problem

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// reserved are catalogue entries that no code returns yet, each with the
// feature that will. Anything else in the catalogue must be used.
var reserved = map[Type]string{
	NoMultiTenantSupport: "never: Qala supports tenants; kept because the spec lists it",
	Conflict:             "context source registrations (federation)",
}

// TestCatalogueUsed checks that every error type of the catalogue is returned
// somewhere in Qala's code, so the table and the code cannot drift apart.
func TestCatalogueUsed(t *testing.T) {
	used := map[string]bool{}
	re := regexp.MustCompile(`problem\.([A-Z][A-Za-z]+)`)
	err := filepath.Walk("..", func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || strings.Contains(p, "/problem/") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	shorthand := map[Type]string{BadRequestData: "BadData", InvalidRequest: "Invalid", ResourceNotFound: "NotFound"}
	for typ := range Catalogue {
		if used[string(typ)] || used[shorthand[typ]] {
			if why, ok := reserved[typ]; ok {
				t.Errorf("%s is used now; remove it from reserved (%s)", typ, why)
			}
			continue
		}
		if _, ok := reserved[typ]; !ok {
			t.Errorf("error type %s is in the catalogue but no code returns it", typ)
		}
	}
}

func TestStatuses(t *testing.T) {
	for typ, status := range Catalogue {
		if status < 400 || status > 599 {
			t.Errorf("%s has status %d", typ, status)
		}
		e := &Error{Type: typ}
		if e.HTTPStatus() != status {
			t.Errorf("%s: HTTPStatus %d, want %d", typ, e.HTTPStatus(), status)
		}
	}
	if s := (&Error{Type: "Unknown"}).HTTPStatus(); s != 500 {
		t.Errorf("unknown type renders %d", s)
	}
}
