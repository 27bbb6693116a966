package server

import "testing"

func TestMemoryLimit(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "1536MiB": 1536 << 20, "1.5GiB": 1536 << 20, "4096": 4096, "64KiB": 64 << 10} {
		c := Config{MemoryLimit: in}
		got, err := c.memoryLimit()
		if err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"12XB", "-1GiB", "lots", "1e30GiB"} {
		c := Config{MemoryLimit: in}
		if _, err := c.memoryLimit(); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// TestEnvConfig: every flag has a QALA_ variable; a malformed one is an
// error, not silently ignored.
func TestEnvConfig(t *testing.T) {
	t.Setenv("QALA_LISTEN", "127.0.0.1:1999")
	t.Setenv("QALA_MAX_BATCH", "77")
	t.Setenv("QALA_DEMO", "true")
	var c Config
	if err := c.FlagSet().Parse(nil); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:1999" || c.MaxBatch != 77 || !c.Demo {
		t.Errorf("env not applied: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	t.Setenv("QALA_MAX_LIMIT", "many")
	var bad Config
	bad.FlagSet().Parse(nil)
	if err := bad.Validate(); err == nil {
		t.Error("QALA_MAX_LIMIT=many accepted")
	}
	var flagWins Config
	if err := flagWins.FlagSet().Parse([]string{"--max-batch", "5"}); err != nil {
		t.Fatal(err)
	}
	if flagWins.MaxBatch != 5 {
		t.Errorf("flag did not win over QALA_MAX_BATCH: %d", flagWins.MaxBatch)
	}
}
