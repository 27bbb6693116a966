package jsondec

import (
	"os"
	"testing"
)

// FuzzDecode checks that Decode agrees with encoding/json on every input:
// same validity, same value, same syntax error message and offset.
func FuzzDecode(f *testing.F) {
	for _, path := range jsonFiles(f, "testdata") {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, in := range trickyInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstStd(t, data)
	})
}
