package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

const usage = `qala — the NGSI-LD context platform of a city

usage:
  qala serve [flags]   run the broker (qala serve -h lists the flags; each is also QALA_<NAME>)
  qala version         print the version
`

// Main runs the qala command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "qala %s (%s, %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "serve":
		return serve(args[1:], stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "qala: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func serve(args []string, stderr io.Writer) int {
	var cfg Config
	fs := cfg.FlagSet()
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "qala serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "history", "history-retention", "history-rules":
			cfg.HistorySet = true
		}
	})
	log, err := NewLogger(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "qala serve:", err)
		return 2
	}
	s, err := New(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "qala serve:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := s.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "qala serve:", err)
		return 1
	}
	return 0
}
