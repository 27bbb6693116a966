package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected responses of testdata/*.txt")

// A script file in testdata/ is a sequence of steps, each a request and the
// expected response, run in order against one fresh server:
//
//	=== what the step checks
//	POST /ngsi-ld/v1/entities
//	Content-Type: application/json
//
//	{"id": "urn:ngsi-ld:X:1", "type": "X"}
//	----
//	201
//	Location: /ngsi-ld/v1/entities/urn:ngsi-ld:X:1
//
// The response part names the status, the headers to check (only those are
// compared) and, after a blank line, the expected JSON body (compared as JSON,
// with system DateTimes (createdAt, modifiedAt…) replaced by "<time>" and array order kept). With -update the
// response parts are rewritten from what the server answers.
type step struct {
	title   string
	method  string
	path    string
	header  http.Header
	body    string
	status  int
	expHdr  []string // "Name: value"
	expBody string
}

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scripts in testdata")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			runScript(t, f)
		})
	}
}

func runScript(t *testing.T, file string) {
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := parseScript(string(src))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	srv := newTestServer(t)
	var out strings.Builder
	for i, st := range steps {
		req, err := http.NewRequest(st.method, srv.URL+st.path, strings.NewReader(st.body))
		if err != nil {
			t.Fatalf("step %d (%s): %v", i+1, st.title, err)
		}
		req.Header = st.header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("step %d (%s): %v", i+1, st.title, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		gotBody := volatile(strings.ReplaceAll(normalizeBody(b), srv.URL, "http://SERVER"))
		for k, v := range resp.Header {
			for j := range v {
				v[j] = volatile(strings.ReplaceAll(v[j], srv.URL, "http://SERVER"))
			}
			resp.Header[k] = v
		}
		if *update {
			writeStep(&out, st, resp, gotBody)
			continue
		}
		if resp.StatusCode != st.status {
			t.Errorf("step %d (%s): status %d, want %d; body %s", i+1, st.title, resp.StatusCode, st.status, b)
		}
		for _, h := range st.expHdr {
			k, v, _ := strings.Cut(h, ":")
			if got := strings.Join(resp.Header.Values(strings.TrimSpace(k)), ", "); got != strings.TrimSpace(v) {
				t.Errorf("step %d (%s): header %s = %q, want %q", i+1, st.title, k, got, strings.TrimSpace(v))
			}
		}
		if st.expBody != gotBody {
			t.Errorf("step %d (%s): body\n%s\nwant\n%s", i+1, st.title, gotBody, st.expBody)
		}
	}
	if *update {
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func parseScript(src string) ([]step, error) {
	var steps []step
	chunks := strings.Split("\n"+src, "\n=== ")
	for _, ch := range chunks[1:] {
		title, rest, _ := strings.Cut(ch, "\n")
		req, resp, ok := strings.Cut(rest, "\n----\n")
		if !ok {
			req, ok = strings.CutSuffix(strings.TrimRight(rest, "\n"), "\n----")
			if !ok {
				return nil, fmt.Errorf("step %q has no ---- line", title)
			}
			resp = ""
		}
		st := step{title: title, header: http.Header{}}
		sc := bufio.NewScanner(strings.NewReader(req))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		if !sc.Scan() {
			return nil, fmt.Errorf("step %q has no request line", title)
		}
		st.method, st.path, _ = strings.Cut(sc.Text(), " ")
		inBody := false
		var body []string
		for sc.Scan() {
			line := sc.Text()
			if !inBody && line == "" {
				inBody = true
				continue
			}
			if inBody {
				body = append(body, line)
				continue
			}
			k, v, _ := strings.Cut(line, ":")
			st.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		st.body = strings.TrimSpace(strings.Join(body, "\n"))
		lines := strings.Split(strings.TrimRight(resp, "\n"), "\n")
		if len(lines) > 0 && lines[0] != "" {
			fmt.Sscanf(lines[0], "%d", &st.status)
			i := 1
			for ; i < len(lines) && lines[i] != ""; i++ {
				st.expHdr = append(st.expHdr, lines[i])
			}
			if i < len(lines) {
				st.expBody = strings.TrimSpace(strings.Join(lines[i+1:], "\n"))
			}
		}
		steps = append(steps, st)
	}
	return steps, nil
}

var checkedHeaders = []string{"Location", "Content-Type", "Link", "NGSILD-Results-Count", "NGSILD-Tenant", "Allow", "Content-Range"}

func writeStep(out *strings.Builder, st step, resp *http.Response, body string) {
	fmt.Fprintf(out, "=== %s\n%s %s\n", st.title, st.method, st.path)
	keys := make([]string, 0, len(st.header))
	for k := range st.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range st.header[k] {
			fmt.Fprintf(out, "%s: %s\n", k, v)
		}
	}
	if st.body != "" {
		fmt.Fprintf(out, "\n%s\n", st.body)
	}
	fmt.Fprintf(out, "----\n%d\n", resp.StatusCode)
	for _, k := range checkedHeaders {
		if v := resp.Header.Values(k); len(v) > 0 && !(k == "Content-Type" && resp.StatusCode == 204) {
			fmt.Fprintf(out, "%s: %s\n", k, strings.Join(v, ", "))
		}
	}
	if body != "" {
		fmt.Fprintf(out, "\n%s\n", body)
	}
	out.WriteString("\n")
}

var timeRE = regexp.MustCompile(`"(createdAt|modifiedAt|deletedAt|contextSourceTimeAt|lastUsage)": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"`)

// normalizeBody pretty-prints a JSON body with stable key order and DateTimes
// that the server generates (createdAt, modifiedAt…) replaced by "<time>"; a non-JSON body is kept.
func normalizeBody(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	p, _ := json.MarshalIndent(v, "", "  ")
	return timeRE.ReplaceAllString(string(p), `"$1": "<time>"`)
}

var (
	localIDRE = regexp.MustCompile(`/jsonldContexts/[0-9A-Za-z_-]{8,}`)
	uptimeRE  = regexp.MustCompile(`"contextSourceUptime": "PT[0-9HMS.]+"`)
)

// volatile replaces what differs from run to run (generated context ids,
// uptimes) by placeholders.
func volatile(s string) string {
	s = localIDRE.ReplaceAllString(s, "/jsonldContexts/<localId>")
	return uptimeRE.ReplaceAllString(s, `"contextSourceUptime": "<duration>"`)
}
