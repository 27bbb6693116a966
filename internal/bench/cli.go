// Package bench is the load tool of Qala (the qala-bench command): a baseline
// server that anchors the figures, closed-loop HTTP load shapes against any
// NGSI-LD broker on this machine, and a suite that runs everything against
// the qala binary in one go and prints a Markdown table for BENCHMARKS.md.
//
// Every address the tool binds or targets is a loopback address, and every
// loop it runs is bounded both in count and in time.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const usage = `qala-bench measures Qala against a plain Go net/http anchor, on this machine.

Usage:
  qala-bench baseline [-listen 127.0.0.1:0]
      Serve the baseline: a net/http server that only decodes JSON bodies
      (POST entities → 201, PATCH attrs → 204, upsert → 204), answers canned
      entities to GETs, the query city's types and attributes, and a trivial
      GET /health and /trivial. Runs until interrupted.

  qala-bench run -url http://127.0.0.1:1026 -shape SHAPE [-c 64] [-d 10s] [-n N] ...
      Load one server with one shape and print the figures.
      Shapes: create    POST /ngsi-ld/v1/entities, a new ~1 KB entity each
              retrieve  GET /ngsi-ld/v1/entities/{id}, random prepared ids
              patch     PATCH /ngsi-ld/v1/entities/{id}/attrs, 3 attributes
              upsert    POST /ngsi-ld/v1/entityOperations/upsert, -batch new entities
              query     GET /ngsi-ld/v1/entities?type=AirQualityObserved&limit=-limit
              health    GET /health
      Query shapes (for a broker holding the query city; load it with -city N).
      Each draws its parameters per request from a generator seeded by -seed,
      escapes them, and counts any answer but 200 as an error:
              qfilter     GET /ngsi-ld/v1/entities?type=AirQualityObserved
                          &q=pm25>T;pm10<80&limit=-limit, T in 33..37
              near        ...?type=AirQualityObserved&georel=near;maxDistance==500
                          &geometry=Point&coordinates=[lon,lat]&limit=-limit,
                          a random point in Astana (lon 71.35-71.55, lat 51.08-51.20)
              within      ...&georel=within&geometry=Polygon&coordinates=a random
                          2 km x 2 km square inside Astana&limit=-limit
              district    ...&georel=within&geometry=Polygon|MultiPolygon&coordinates=
                          the boundary of a random Astana district (OSM)&limit=-limit
              offset      ...?type=AirQualityObserved&offset=-offset+[0,1000)&limit=-limit
              count       ...?type=AirQualityObserved&count=true&limit=0
              types       GET /ngsi-ld/v1/types?details=true
              attributes  GET /ngsi-ld/v1/attributes
      retrieve, patch and query first create -entities entities by batch
      upsert (the prepare phase) unless -prepare=false.

  qala-bench querysuite -qala PATH [-short] [-memory-limit SIZE] [-json FILE]
      Start the baseline and a fresh "qala serve", load the query city into
      Qala by batch upsert (1,000,000 entities of which 100,000
      AirQualityObserved; 100,000 and 10,000 with -short), run every query
      shape against both, and print a Markdown table with the goals of
      "Query the city", the load time and the RSS.

  qala-bench temporalsuite -qala PATH [-short] [-sensors N] [-days D] [-json FILE]
      Start the baseline and a fresh "qala serve", ingest 1-minute readings of
      3 attributes of -sensors sensors over -days days through POST
      /temporal/entities (1,000 sensors × 30 days = 129.6 M instances; 100 × 3
      with -short), compact and weigh the history, then run the temporal query
      shapes (a month in hourly buckets, lastN=100, a type-wide daily
      aggregation) against both, and print a Markdown table with the goals of
      "The city's memory".

  qala-bench notifysuite -qala PATH [-short] [-subs N] [-rate R] [-d D] [-json FILE]
      Start a fresh "qala serve" and -receivers local HTTP receivers, create
      -entities entities, stream -rate updates/s for -d without subscriptions,
      create -subs subscriptions (1,000: 20 per entity type, each update
      matching 10 of them), probe them, stream again and wait for delivery;
      print delivered/owed, duplicates, notifications/s, end-to-end latency
      and write latency with and without subscriptions (30 s streams; 5 s
      with -short).

  qala-bench suite -qala PATH [-short] [-json FILE] [-pprof DIR]
      Start the baseline (in its own process) and PATH as "qala serve" on free ports;
      measure idle start and memory, run every shape against both, load
      -load entities (1,000,000; 50,000 with -short) into a fresh Qala,
      restart it, and print a Markdown table of figures next to the goals.

Run "qala-bench COMMAND -h" for the flags of a command.
`

// Main runs the qala-bench command with args (without the program name) and
// returns its exit code: 0 on success, 1 on failure, 2 on bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "baseline":
		err = cmdBaseline(ctx, args[1:], stdout, stderr)
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "suite":
		err = cmdSuite(ctx, args[1:], stdout, stderr)
	case "querysuite":
		err = cmdQuerySuite(ctx, args[1:], stdout, stderr)
	case "temporalsuite":
		err = cmdTemporalSuite(ctx, args[1:], stdout, stderr)
	case "notifysuite":
		err = cmdNotifySuite(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "qala-bench: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "qala-bench %s: %v\n", args[0], err)
		return 1
	}
}

// errUsage marks a command line the flag package rejected (it has already
// printed why).
var errUsage = errors.New("bad usage")

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: qala-bench %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

func cmdBaseline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("baseline", "baseline [-listen 127.0.0.1:0]", stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback `address` to listen on; port 0 picks a free one")
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := StartBaseline(*listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "baseline listening on %s\n", b.URL)
	<-ctx.Done()
	return b.Close()
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("run", "run -url URL -shape SHAPE [flags]", stderr)
	fs.StringVar(&cfg.URL, "url", cfg.URL, "base `URL` of the server (loopback only)")
	shape := fs.String("shape", string(cfg.Shape), "`shape`: create, retrieve, patch, upsert, query, health,\nqfilter, near, within, district, offset, count, types or attributes")
	fs.IntVar(&cfg.Concurrency, "c", cfg.Concurrency, "closed-loop workers (connections)")
	fs.DurationVar(&cfg.Duration, "d", cfg.Duration, "`duration` of the run")
	fs.Int64Var(&cfg.MaxRequests, "n", 0, "stop after this many requests (0: only -d bounds the run)")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "entities per upsert request (upsert shape and prepare phase)")
	fs.IntVar(&cfg.Entities, "entities", cfg.Entities, "entities to prepare for retrieve, patch and query")
	fs.IntVar(&cfg.Limit, "limit", cfg.Limit, "limit of the query shapes")
	fs.IntVar(&cfg.Offset, "offset", cfg.Offset, "smallest offset of the offset shape (it adds [0,1000))")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the query shapes' parameters")
	city := fs.Int("city", 0, "first load a query city of `N` entities (a tenth AirQualityObserved) by batch upsert")
	fs.BoolVar(&cfg.Prepare, "prepare", cfg.Prepare, "create the entities first; with false they must exist under -run-id")
	fs.StringVar(&cfg.RunID, "run-id", "", "`id` that makes this run's entity ids unique (default random)")
	fs.BoolVar(&cfg.LD, "ld", false, "send application/ld+json bodies with the core @context")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "per-request timeout")
	fs.DurationVar(&cfg.PrepareTimeout, "prepare-timeout", cfg.PrepareTimeout, "bound of the prepare phase")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "save the server's CPU profile during the run to `file` (needs /debug/pprof on the server)")
	fs.BoolVar(&cfg.StdClient, "std-client", false, "use net/http's Client instead of the lean built-in one (to cross-check; costs more CPU)")
	jsonOut := fs.Bool("json", false, "print the result as JSON instead of a line of text")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg.Shape = Shape(*shape)
	if *city > 0 {
		if err := checkLoopbackURL(cfg.URL); err != nil {
			return err
		}
		c := NewCity(NewRunID(), *city)
		load, err := LoadCity(ctx, cfg.URL, c, cfg.Batch, 4, cfg.PrepareTimeout)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "city", load.Line())
		if load.Errors > 0 {
			return fmt.Errorf("load city: %d upserts failed", load.Errors)
		}
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintln(stdout, res.Line())
	if res.ProfileError != "" {
		fmt.Fprintln(stderr, res.ProfileError)
	}
	return nil
}

func cmdSuite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sc := newSuiteCmd("suite", "quick variant: 3 s per run, 2,000 prepared, 50,000 loaded entities", true, stderr)
	fs := sc.fs
	d := fs.Duration("d", 0, "`duration` of each run (default 10s; 3s with -short)")
	c := fs.Int("c", 0, "workers of each run (default 64)")
	entities := fs.Int("entities", 0, "entities prepared for retrieve, patch and query (default 10000; 2000 with -short)")
	load := fs.Int("load", 0, "entities of the load test (default 1000000; 50000 with -short)")
	loadC := fs.Int("load-c", 0, "workers of the load test (default 4)")
	loadTimeout := fs.Duration("load-timeout", 0, "bound of the load test (default 10m; 2m with -short)")
	pprofDir := fs.String("pprof", "", "save Qala's CPU profile of each shape to `dir`/qala-SHAPE.pprof (needs /debug/pprof)")
	if err := sc.parse(args); err != nil {
		return err
	}
	cfg := DefaultSuiteConfig(*sc.short)
	cfg.Qala, cfg.Pprof, cfg.Keep, cfg.Log = *sc.qala, *pprofDir, *sc.keep, stderr
	var err error
	if cfg.BaselineBin, err = sc.baselineBin(); err != nil {
		return err
	}
	setPositive(&cfg.Duration, *d)
	setPositive(&cfg.Concurrency, *c)
	setPositive(&cfg.Entities, *entities)
	setPositive(&cfg.Load, *load)
	setPositive(&cfg.LoadWorkers, *loadC)
	setPositive(&cfg.LoadTimeout, *loadTimeout)
	if err := mkdirPprof(cfg.Pprof); err != nil {
		return err
	}
	rep, err := RunSuite(ctx, cfg)
	if rep == nil {
		return err
	}
	return sc.finish(stdout, rep, err)
}

func setPositive[T int | time.Duration](dst *T, v T) {
	if v > 0 {
		*dst = v
	}
}

func cmdQuerySuite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sc := newSuiteCmd("querysuite", "quick variant: 3 s per shape, 100,000 entities of which 10,000 AirQualityObserved", true, stderr)
	fs := sc.fs
	d := fs.Duration("d", 0, "`duration` of each shape run (default 10s; 3s with -short)")
	c := fs.Int("c", 0, "workers of each shape run (default 16)")
	slowC := fs.Int("slow-c", 0, "workers of the types and attributes runs (default 2)")
	entities := fs.Int("entities", 0, "entities of the city (default 1000000; 100000 with -short)")
	aq := fs.Int("aq", 0, "of which AirQualityObserved (default a tenth)")
	loadC := fs.Int("load-c", 0, "workers of the load (default 4)")
	loadTimeout := fs.Duration("load-timeout", 0, "bound of the load (default 15m; 3m with -short)")
	seed := fs.Uint64("seed", 1, "seed of the query shapes' parameters")
	memLimit := fs.String("memory-limit", "", "start Qala with --memory-limit `size` (e.g. 1536MiB)")
	historySettle := fs.Duration("history-settle", 0, "after the load, wait up to `duration` until the history store has recorded it (qala_history_cursor reaches qala_store_last_seq) before the query shapes")
	if err := sc.parse(args); err != nil {
		return err
	}
	cfg := DefaultQuerySuiteConfig(*sc.short)
	cfg.Qala, cfg.Keep, cfg.Log, cfg.Seed, cfg.MemoryLimit = *sc.qala, *sc.keep, stderr, *seed, *memLimit
	cfg.HistorySettle = *historySettle
	var err error
	if cfg.BaselineBin, err = sc.baselineBin(); err != nil {
		return err
	}
	setPositive(&cfg.Duration, *d)
	setPositive(&cfg.Concurrency, *c)
	setPositive(&cfg.SlowConcurrency, *slowC)
	if *entities > 0 {
		cfg.Entities, cfg.AQ = *entities, *entities/10
	}
	setPositive(&cfg.AQ, *aq)
	setPositive(&cfg.LoadWorkers, *loadC)
	setPositive(&cfg.LoadTimeout, *loadTimeout)
	rep, err := RunQuerySuite(ctx, cfg)
	if rep == nil {
		return err
	}
	return sc.finish(stdout, rep, err)
}

func cmdTemporalSuite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sc := newSuiteCmd("temporalsuite", "CI variant: 100 sensors × 3 days, 3 s per query shape", true, stderr)
	fs := sc.fs
	sensors := fs.Int("sensors", 0, "sensors of the data set (default 1000; 100 with -short)")
	days := fs.Int("days", 0, "days of 1-minute readings (default 30; 3 with -short)")
	batch := fs.Int("batch", 0, "readings of each attribute per ingest request (default 1000)")
	loadC := fs.Int("load-c", 0, "concurrent ingest requests (default 4)")
	d := fs.Duration("d", 0, "`duration` of each query shape (default 10s; 3s with -short)")
	c := fs.Int("c", 0, "workers of the query shapes (default 2: the goals are latencies)")
	typeLimit := fs.Int("type-limit", 0, "sensors of the type-wide aggregation (default 100)")
	if err := sc.parse(args); err != nil {
		return err
	}
	cfg := DefaultTemporalConfig(*sc.short)
	cfg.Qala, cfg.Keep, cfg.Log = *sc.qala, *sc.keep, stderr
	var err error
	if cfg.BaselineBin, err = sc.baselineBin(); err != nil {
		return err
	}
	setPositive(&cfg.Sensors, *sensors)
	setPositive(&cfg.Days, *days)
	setPositive(&cfg.Batch, *batch)
	setPositive(&cfg.LoadWorkers, *loadC)
	setPositive(&cfg.Duration, *d)
	setPositive(&cfg.Concurrency, *c)
	setPositive(&cfg.TypeLimit, *typeLimit)
	rep, err := RunTemporalSuite(ctx, cfg)
	if rep == nil {
		return err
	}
	return sc.finish(stdout, rep, err)
}

func cmdNotifySuite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sc := newSuiteCmd("notifysuite", "CI variant: 5 s streams, 2,000 entities, 4 receivers", false, stderr)
	fs := sc.fs
	subs := fs.Int("subs", 0, "subscriptions, a multiple of 20 (default 1000)")
	entities := fs.Int("entities", 0, "entities updated in turn (default 5000; 2000 with -short)")
	rate := fs.Float64("rate", 0, "updates per second (default 2000)")
	d := fs.Duration("d", 0, "`duration` of each stream (default 30s; 5s with -short)")
	batch := fs.Int("batch", 0, "updates per request: 1 sends PATCH /entities/{id}/attrs, more POST /entityOperations/update (default 1)")
	c := fs.Int("c", 0, "connections of the stream (default 64)")
	receivers := fs.Int("receivers", 0, "HTTP receivers (default 8; 4 with -short)")
	receiver := fs.String("receiver", "lean", "the receivers' HTTP server: lean (minimal HTTP/1.1, cheap on a shared box) or nethttp (Go's net/http)")
	drainTimeout := fs.Duration("drain-timeout", 0, "bound of the wait for delivery after the stream (default 2m; 1m with -short)")
	qalaArgs := fs.String("qala-args", "", "extra arguments of qala serve, space-separated")
	pprofDir := fs.String("pprof", "", "save Qala's CPU profile and goroutines during the stream with subscriptions to `dir` (starts qala with --pprof)")
	if err := sc.parse(args); err != nil {
		return err
	}
	if *receiver != "lean" && *receiver != "nethttp" {
		fmt.Fprintf(stderr, "-receiver %q: lean or nethttp\n", *receiver)
		return errUsage
	}
	cfg := DefaultNotifyConfig(*sc.short)
	cfg.Qala, cfg.Keep, cfg.Log, cfg.QalaArgs, cfg.Pprof = *sc.qala, *sc.keep, stderr, strings.Fields(*qalaArgs), *pprofDir
	cfg.Receiver = *receiver
	if err := mkdirPprof(cfg.Pprof); err != nil {
		return err
	}
	setPositive(&cfg.Subs, *subs)
	setPositive(&cfg.Entities, *entities)
	if *rate > 0 {
		cfg.Rate = *rate
	}
	setPositive(&cfg.Duration, *d)
	setPositive(&cfg.Batch, *batch)
	setPositive(&cfg.Workers, *c)
	setPositive(&cfg.Receivers, *receivers)
	setPositive(&cfg.DrainTimeout, *drainTimeout)
	rep, err := RunNotifySuite(ctx, cfg)
	if rep == nil {
		return err
	}
	return sc.finish(stdout, rep, err)
}
