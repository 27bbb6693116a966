package jsondec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchBodies returns the benchmark bodies: one normalized NGSI-LD entity
// and a batch array of 1,000 copies of it with distinct ids.
func benchBodies(b *testing.B) map[string][]byte {
	entity, err := os.ReadFile(filepath.Join("testdata", "entity.json"))
	if err != nil {
		b.Fatal(err)
	}
	var batch bytes.Buffer
	batch.WriteByte('[')
	for i := range 1000 {
		if i > 0 {
			batch.WriteByte(',')
		}
		batch.Write(bytes.Replace(entity, []byte("Esil-0042"), fmt.Appendf(nil, "Esil-%04d", i), 1))
	}
	batch.WriteByte(']')
	return map[string][]byte{"entity": entity, "batch1000": batch.Bytes()}
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"entity", "batch1000"} {
		body := benchBodies(b)[name]
		b.Run(name+"/jsondec", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/encoding_json", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var v any
				if err := json.Unmarshal(body, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
