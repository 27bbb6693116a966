package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	f, err := os.Open("testdata/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rss, peak, err := parseStatus(f)
	if err != nil {
		t.Fatal(err)
	}
	if rss != 23456<<10 || peak != 34567<<10 {
		t.Errorf("rss %d, peak %d; want %d, %d", rss, peak, 23456<<10, 34567<<10)
	}
	for _, bad := range []string{"", "VmRSS:\t12 MB\n", "VmRSS: x kB\n", "VmHWM: 5 kB\n"} {
		if _, _, err := parseStatus(strings.NewReader(bad)); err == nil {
			t.Errorf("parseStatus(%q): no error", bad)
		}
	}
}

func TestProcMemoryOfSelf(t *testing.T) {
	rss, _, err := procMemory(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if rss < 1<<20 {
		t.Errorf("own RSS %d bytes, want at least 1 MiB", rss)
	}
}

func FuzzParseStatus(f *testing.F) {
	b, _ := os.ReadFile("testdata/status")
	f.Add(string(b))
	f.Add("VmRSS: 99999999999999999999 kB\n")
	f.Fuzz(func(t *testing.T, s string) {
		rss, peak, err := parseStatus(strings.NewReader(s))
		if err == nil && (rss == 0 || rss > 1<<60 || peak > 1<<60) {
			t.Fatalf("rss %d, peak %d accepted", rss, peak)
		}
	})
}

func TestCount(t *testing.T) {
	b := startBaseline(t)
	if n, err := Count(context.Background(), b.URL); err != nil || n != 0 {
		t.Errorf("Count of the baseline = %d, %v; want 0, nil", n, err)
	}
	for _, tc := range []struct{ header, want string }{
		{"", "no NGSILD-Results-Count"},
		{"-3", "not a count"},
		{"12x", "not a count"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.header != "" {
				w.Header().Set("NGSILD-Results-Count", tc.header)
			}
		}))
		_, err := Count(context.Background(), srv.URL)
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("header %q: error %v, want %q", tc.header, err, tc.want)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and parentheses; utime 1234, stime 66.
	stat := "4242 (qala (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 66 0 0 20 0 9 0 100 1000000 500"
	d, err := parseStatCPU(stat)
	if err != nil || d != 13*time.Second {
		t.Errorf("parseStatCPU = %v, %v; want 13s", d, err)
	}
	if _, err := parseStatCPU("4242 (qala) S 1"); err == nil {
		t.Error("a short stat line was accepted")
	}
	if d, err := procCPU(os.Getpid()); err == nil && d <= 0 {
		t.Errorf("own CPU %v", d)
	}
}

func TestParseSchedWait(t *testing.T) {
	if d, err := parseSchedWait("2432175348 11888375154 3058\n"); err != nil || d != 11888375154 {
		t.Errorf("parseSchedWait = %v, %v", d, err)
	}
	if _, err := parseSchedWait("12"); err == nil {
		t.Error("a short line was accepted")
	}
	if _, err := procWait(os.Getpid()); err != nil {
		t.Logf("no schedstats here: %v", err)
	}
}
