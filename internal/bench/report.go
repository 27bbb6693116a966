package bench

import (
	"bufio"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine describes where a suite ran.
type Machine struct {
	CPUs      int    `json:"nproc"`
	CPU       string `json:"cpu,omitempty"`
	MemTotal  string `json:"mem_total,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	GoVersion string `json:"go_version"`                // of the load tool
	QalaGo    string `json:"qala_go_version,omitempty"` // the binary was built with
	QalaRev   string `json:"qala_revision,omitempty"`
	Date      string `json:"date"`
}

// MachineInfo gathers the machine description, reading the build
// information of the qala binary if it has any.
func MachineInfo(qala string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Date: time.Now().UTC().Format(time.RFC3339)}
	m.CPU = procField("/proc/cpuinfo", "model name")
	if f := strings.Fields(procField("/proc/meminfo", "MemTotal")); len(f) == 2 && f[1] == "kB" {
		if kb, err := strconv.ParseUint(f[0], 10, 64); err == nil {
			m.MemTotal = fmtBytes(kb << 10)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if qala == "" {
		return m
	}
	if bi, err := buildinfo.ReadFile(qala); err == nil {
		m.QalaGo = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				m.QalaRev = s.Value + m.QalaRev
			case "vcs.modified":
				if s.Value == "true" {
					m.QalaRev += " (modified)"
				}
			}
		}
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(file, key string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

func fmtBytes(n uint64) string {
	switch {
	case n >= gib:
		return strconv.FormatFloat(float64(n)/gib, 'f', 2, 64) + " GiB"
	case n >= mib:
		return strconv.FormatFloat(float64(n)/mib, 'f', 1, 64) + " MiB"
	default:
		return strconv.FormatFloat(float64(n)/kib, 'f', 0, 64) + " KiB"
	}
}

func fmtDur(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatFloat(ms(d), 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

// fmtRate renders a rate with thousands separators.
func fmtRate(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// goal is a target of DESIGN.md: a comparison with a threshold.
type goal struct {
	text  string
	check func(v float64) bool
}

func atLeast(text string, min float64) *goal {
	return &goal{text, func(v float64) bool { return v >= min }}
}

func atMost(text string, max float64) *goal {
	return &goal{text, func(v float64) bool { return v <= max }}
}

// shapeRow says how a shape appears in the table.
var shapeRow = map[Shape]struct {
	label string
	unit  string // "req/s" or "entities/s"
	goal  *goal
}{
	ShapeHealth:   {"trivial GET /health (anchor ~90k)", "req/s", nil},
	ShapeCreate:   {"create one entity (~1 KB, durable)", "req/s", atLeast("≥ 15,000 req/s", 15000)},
	ShapeRetrieve: {"retrieve by id", "req/s", atLeast("≥ 25,000 req/s", 25000)},
	ShapePatch:    {"patch 3 attributes by id", "req/s", nil},
	ShapeUpsert:   {"batch upsert (1,000 per request)", "entities/s", atLeast("≥ 100,000 entities/s", 100000)},
	ShapeQuery:    {"query type, limit 20", "req/s", nil},
}

// figure returns the headline figure of a shape run: successful requests per
// second, or entities per second for upsert.
func figure(r *Result) float64 {
	if r.Shape == ShapeUpsert {
		return r.EntitiesPerSec
	}
	return r.OKPerSec
}

// verdict says whether v meets g; a figure obtained with errors never does.
func verdict(g *goal, v float64, errs uint64) string {
	switch {
	case g == nil:
		return ""
	case errs > 0:
		return "no (errors)"
	case g.check(v):
		return "yes"
	default:
		return "no"
	}
}

// Markdown writes the report as Markdown: the goals table, the latency
// details of every run, the machine, and any failed step.
func (s *SuiteReport) Markdown(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("## Qala benchmark, %s\n\n", s.Machine.Date)
	p("| workload | Qala | baseline | ratio | goal | met |\n|---|---:|---:|---:|---|---|\n")
	for _, pr := range s.Pairs {
		row := shapeRow[pr.Shape]
		qv, bv, ratio, met := "—", "—", "—", ""
		var errs uint64
		if pr.Qala != nil {
			qv = fmtRate(figure(pr.Qala)) + " " + row.unit
			if pr.Qala.Errors > 0 {
				qv += fmt.Sprintf(" (%d errors)", pr.Qala.Errors)
			}
			errs = pr.Qala.Errors
			met = verdict(row.goal, figure(pr.Qala), errs)
		} else if row.goal != nil {
			met = "no (failed)"
		}
		if pr.Baseline != nil {
			bv = fmtRate(figure(pr.Baseline)) + " " + row.unit
		}
		if pr.Qala != nil && pr.Baseline != nil && figure(pr.Baseline) > 0 {
			ratio = strconv.FormatFloat(figure(pr.Qala)/figure(pr.Baseline), 'f', 2, 64)
		}
		gt := "—"
		if row.goal != nil {
			gt = row.goal.text
		}
		p("| %s | %s | %s | %s | %s | %s |\n", row.label, qv, bv, ratio, gt, met)
	}
	full := s.Config.Load >= 1000000
	scaled := func(g *goal, v float64) string {
		if !full {
			return "— (goal is for 1M)"
		}
		return verdict(g, v, 0)
	}
	if s.Load != nil {
		loadGoal := atMost("≤ 60 s (1M)", 60)
		p("| load %s entities (batch upsert, %d workers) | %.1f s (%s entities/s%s) | — | — | %s | %s |\n",
			fmtRate(float64(s.Loaded)), s.Config.LoadWorkers, s.Load.Seconds, fmtRate(s.Load.EntitiesPerSec),
			errNote(s.Load.Errors), loadGoal.text, scaled(loadGoal, s.Load.Seconds))
		rssGoal := atMost("≤ 2 GiB (1M)", gib)
		p("| RSS after load | %s (peak %s) | — | — | %s | %s |\n", fmtBytes(s.LoadRSS),
			fmtBytes(s.LoadPeakRSS), rssGoal.text, scaled(rssGoal, float64(max(s.LoadRSS, s.LoadPeakRSS))))
		intact := "count intact"
		if s.CountAfter != s.CountBefore || s.CountBefore != s.Loaded {
			intact = fmt.Sprintf("count %d before, %d after, %d loaded", s.CountBefore, s.CountAfter, s.Loaded)
		}
		restartGoal := atMost("≤ 30 s (1M)", 30)
		p("| restart with the load (exec → /health 200) | %s (%s; stop %s) | — | — | %s | %s |\n",
			fmtDur(secs(s.RestartSecs)), intact, fmtDur(secs(s.StopSeconds)), restartGoal.text,
			scaled(restartGoal, s.RestartSecs))
	}
	startGoal := atMost("≤ 100 ms", 0.1)
	p("| idle start (exec → /health 200) | %s | — | — | %s | %s |\n",
		fmtDur(secs(s.StartSeconds)), startGoal.text, verdict(startGoal, s.StartSeconds, 0))
	rssGoal := atMost("≤ 40 MiB", 40*mib)
	p("| idle RSS | %s | — | — | %s | %s |\n", fmtBytes(s.IdleRSS), rssGoal.text,
		verdict(rssGoal, float64(s.IdleRSS), 0))

	p("\n| server | shape | c | requests | errors | req/s | entities/s | p50 | p90 | p99 | max |\n")
	p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	line := func(server string, r *Result) {
		if r == nil {
			return
		}
		ent := "—"
		if r.EntitiesPerSec > 0 {
			ent = fmtRate(r.EntitiesPerSec)
		}
		p("| %s | %s | %d | %d | %d | %s | %s | %s | %s | %s | %s |\n", server, r.Shape, r.Concurrency,
			r.Requests, r.Errors, fmtRate(r.ReqPerSec), ent, fmtMS(r.Latency.P50), fmtMS(r.Latency.P90),
			fmtMS(r.Latency.P99), fmtMS(r.Latency.Max))
	}
	for _, pr := range s.Pairs {
		line("baseline", pr.Baseline)
		line("qala", pr.Qala)
	}
	line("qala (load)", s.Load)

	m := s.Machine
	p("\nMachine: %d CPUs (%s), %s memory, Linux %s; load tool %s; qala built with %s%s; "+
		"load generator on the same machine; %s per shape, %d workers, %d prepared entities.\n",
		m.CPUs, orDash(m.CPU), orDash(m.MemTotal), orDash(m.Kernel), m.GoVersion, orDash(m.QalaGo),
		revNote(m.QalaRev), s.Config.Duration, s.Config.Concurrency, s.Config.Entities)
	if len(s.Errors) > 0 {
		p("\nFailed steps:\n")
		for _, e := range s.Errors {
			p("- %s\n", e)
		}
	}
	for _, pr := range s.Pairs {
		for _, r := range []*Result{pr.Baseline, pr.Qala} {
			if r != nil && r.ErrorSample != "" {
				p("\nFirst error of %s against %s: `%s`\n", r.Shape, r.URL, r.ErrorSample)
			}
		}
	}
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func errNote(n uint64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d failed requests", n)
}

func orDash(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func revNote(rev string) string {
	if rev == "" {
		return ""
	}
	return " at " + rev
}
