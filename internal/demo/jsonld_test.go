package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/piprate/json-gold/ld"
)

// offlineLoader serves the demo's contexts from embedded data and testdata, and nothing else.
type offlineLoader struct{ docs map[string][]byte }

func (l offlineLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	b, ok := l.docs[u]
	if !ok {
		return nil, fmt.Errorf("context %s is not available offline", u)
	}
	doc, err := ld.DocumentFromReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return &ld.RemoteDocument{DocumentURL: u, Document: doc}, nil
}

// TestJSONLDExpansion expands one document of every type with a full JSON-LD processor (the
// test oracle) to check that the documents are valid JSON-LD under their @context and that key
// Smart Data Models terms expand to their published IRIs.
func TestJSONLDExpansion(t *testing.T) {
	core, err := os.ReadFile(filepath.Join("testdata", "ngsi-ld-core-context-v1.8.jsonld"))
	if err != nil {
		t.Fatal(err)
	}
	docs := ContextDocuments()
	docs[CoreContext] = core
	opts := ld.NewJsonLdOptions("")
	opts.DocumentLoader = offlineLoader{docs}
	proc := ld.NewJsonLdProcessor()

	want := map[string]string{
		"AirQualityObserved": "https://smart-data-models.github.io/data-models/terms.jsonld#/definitions/pm25",
		"ParkingSpot":        "https://uri.fiware.org/ns/data-models#refParkingSite",
		"Streetlight":        "https://smart-data-models.github.io/data-models/terms.jsonld#/definitions/powerState",
		"Vehicle":            "https://uri.etsi.org/ngsi-ld/location",
	}
	seen := map[string]bool{}
	for _, e := range newCity(t, 1).Entities(testTime) {
		typ := e["type"].(string)
		if seen[typ] {
			continue
		}
		seen[typ] = true
		// Round-trip through JSON so the processor sees exactly what a client would send.
		var in any
		if err := json.Unmarshal(mustJSON(t, e), &in); err != nil {
			t.Fatal(err)
		}
		out, err := proc.Expand(in, opts)
		if err != nil {
			t.Errorf("%s: expand: %v", typ, err)
			continue
		}
		b := mustJSON(t, out)
		if w, ok := want[typ]; ok && !bytes.Contains(b, []byte(`"`+w+`"`)) {
			t.Errorf("%s: expanded form lacks %s:\n%s", typ, w, b)
		}
	}
	if len(seen) != 14 {
		t.Errorf("expanded %d types, want all 14", len(seen))
	}
}
