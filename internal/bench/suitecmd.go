package bench

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
)

// suiteCmd is what the suite commands (suite, querysuite, temporalsuite,
// notifysuite) share: the -qala, -short, -json and -keep flags (and
// -baseline-in-process for suites with a baseline), the check that -qala
// is given, and the ending: the report as Markdown on stdout, as JSON in
// the -json file, and an error when a step of the suite failed.
type suiteCmd struct {
	fs        *flag.FlagSet
	qala      *string
	short     *bool
	jsonFile  *string
	keep      *bool
	inProcess *bool // nil for a suite without a baseline
}

// suiteReport is a suite's report.
type suiteReport interface {
	Markdown(io.Writer)
	failures() []string // the steps that failed
}

func newSuiteCmd(name, shortHelp string, baseline bool, stderr io.Writer) *suiteCmd {
	fs := newFlagSet(name, name+" -qala PATH [-short] [flags]", stderr)
	sc := &suiteCmd{fs: fs,
		qala:     fs.String("qala", "", "`path` of the qala binary (required)"),
		short:    fs.Bool("short", false, shortHelp),
		jsonFile: fs.String("json", "", "also write every figure as JSON to `file`"),
		keep:     fs.Bool("keep", false, "keep the data and qala.log (their place is logged)"),
	}
	if baseline {
		sc.inProcess = fs.Bool("baseline-in-process", false, "run the baseline in the load tool's process instead of its own (it then shares the tool's CPU and GC)")
	}
	return sc
}

// parse parses args and checks that -qala is given.
func (sc *suiteCmd) parse(args []string) error {
	if err := parse(sc.fs, args); err != nil {
		return err
	}
	if *sc.qala == "" {
		fmt.Fprintln(sc.fs.Output(), "-qala is required")
		sc.fs.Usage()
		return errUsage
	}
	return nil
}

// baselineBin is the binary the baseline runs from: this one, in its own
// process, unless -baseline-in-process ("").
func (sc *suiteCmd) baselineBin() (string, error) {
	if sc.inProcess == nil || *sc.inProcess {
		return "", nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own binary for the baseline process: %w", err)
	}
	return self, nil
}

// finish writes rep and returns err, or an error naming the failed steps.
func (sc *suiteCmd) finish(stdout io.Writer, rep suiteReport, err error) error {
	rep.Markdown(stdout)
	if *sc.jsonFile != "" {
		data, jerr := json.MarshalIndent(rep, "", "  ")
		if jerr == nil {
			jerr = writeFile(*sc.jsonFile, append(data, '\n'))
		}
		if jerr != nil {
			return fmt.Errorf("json report: %w", jerr)
		}
	}
	if n := len(rep.failures()); err == nil && n > 0 {
		err = fmt.Errorf("%d steps failed (see the report)", n)
	}
	return err
}

// mkdirPprof creates the -pprof directory, if one is given.
func mkdirPprof(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pprof directory: %w", err)
	}
	return nil
}

func (r *SuiteReport) failures() []string    { return r.Errors }
func (r *QueryReport) failures() []string    { return r.Errors }
func (r *TemporalReport) failures() []string { return r.Errors }
func (r *NotifyReport) failures() []string   { return r.Errors }
