// Package server wires Qala together: configuration from flags and QALA_*
// environment variables, the store, the @context resolver, the API, the demo
// city, the HTTP listener, and the lifecycle (ready, drain, flush, exit).
package server

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qala-city/qala/internal/temporal"
)

// Config is the configuration of `qala serve`. Every field has a flag and a
// QALA_<NAME> environment variable (flags win).
type Config struct {
	Listen string
	Data   string
	Demo   bool
	Seed   int64 // demo city seed

	SimInterval     time.Duration
	MaxBody         int64
	MaxBatch        int
	DefaultLimit    int
	MaxLimit        int
	QueryTimeout    time.Duration
	QueryMemory     string // --query-memory, a size
	CORSOrigins     string
	ContextPrivate  bool // allow fetching @contexts from loopback/private addresses
	ContextTimeout  time.Duration
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	NoSync          bool // benchmarks only: do not fsync acknowledged writes
	MemoryLimit     string
	Pprof           bool

	// History records the history of every tenant and entity type;
	// HistoryRetention (an ISO 8601 or Go duration, "" forever) and
	// HistoryRules refine it (temporal.ParseRules). When HistorySet, they
	// replace the configuration persisted by /admin/history.
	History          bool
	HistoryRetention string
	HistoryRules     string
	HistorySet       bool
	TemporalLimit    int

	Postgres string
	NATS     string
	MQTT     string

	envErrs []string // QALA_* variables that did not parse
}

// FlagSet returns the flags of `qala serve`, bound to c, with defaults from
// the environment.
func (c *Config) FlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	str := func(p *string, name, def, usage string) { fs.StringVar(p, name, envStr(name, def), usage) }
	boolean := func(p *bool, name string, def bool, usage string) { fs.BoolVar(p, name, c.envBool(name, def), usage) }
	integer := func(p *int, name string, def int, usage string) { fs.IntVar(p, name, c.envInt(name, def), usage) }
	dur := func(p *time.Duration, name string, def time.Duration, usage string) {
		fs.DurationVar(p, name, c.envDur(name, def), usage)
	}
	str(&c.Listen, "listen", "127.0.0.1:1026", "address to listen on")
	str(&c.Data, "data", "./qala-data", "directory of the embedded store")
	boolean(&c.Demo, "demo", false, "load and animate the Astana demo city")
	fs.Int64Var(&c.Seed, "demo-seed", int64(c.envInt("demo-seed", 2030)), "seed of the demo city")
	dur(&c.SimInterval, "demo-interval", 5*time.Second, "how often the demo simulator updates sensors")
	fs.Int64Var(&c.MaxBody, "max-body", int64(c.envInt("max-body", 8<<20)), "largest request body in bytes")
	integer(&c.MaxBatch, "max-batch", 10000, "most entities in one batch operation")
	integer(&c.DefaultLimit, "default-limit", 20, "page size when a query gives no limit")
	integer(&c.MaxLimit, "max-limit", 1000, "largest limit a query may ask for")
	dur(&c.QueryTimeout, "query-timeout", 10*time.Second, "longest a query may run before it is refused as too complex")
	str(&c.QueryMemory, "query-memory", "32MiB", "most memory one query may hold, in stored (encoded) size of the entities it reads, before it is refused as too complex")
	str(&c.CORSOrigins, "cors-origins", "", "comma-separated origins allowed by CORS (* for any); empty disables CORS")
	boolean(&c.ContextPrivate, "context-allow-private", false, "allow fetching @contexts from loopback and private addresses")
	dur(&c.ContextTimeout, "context-timeout", 5*time.Second, "timeout of one remote @context fetch")
	str(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	str(&c.LogFormat, "log-format", "text", "text or json")
	dur(&c.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long SIGTERM waits for in-flight requests")
	boolean(&c.NoSync, "unsafe-no-sync", false, "do not fsync writes (benchmarks only: acknowledged writes may be lost)")
	boolean(&c.Pprof, "pprof", false, "serve /debug/pprof/ for profiling")
	str(&c.MemoryLimit, "memory-limit", "", "soft memory limit of the Go runtime, e.g. 1536MiB or 4GiB (default: GOMEMLIMIT, else none); with a limit and no GOGC the collector runs at 4x the live heap instead of 2x, bounded by the limit")
	boolean(&c.History, "history", true, "record the history of entities (the temporal API); refine with --history-rules or /admin/history")
	str(&c.HistoryRetention, "history-retention", "", "how long history is kept, e.g. P90D or 2160h (default: forever)")
	str(&c.HistoryRules, "history-rules", "", `history per tenant and type, e.g. "type=Vehicle,retention=P30D;tenant=lab,enabled=false"`)
	for _, name := range []string{"history", "history-retention", "history-rules"} {
		if _, ok := os.LookupEnv(envName(name)); ok {
			c.HistorySet = true
		}
	}
	integer(&c.TemporalLimit, "temporal-limit", 1000, "most instances of one attribute in a temporal response; more are paginated (206)")
	str(&c.Postgres, "postgres", "", "PostgreSQL DSN (not available yet)")
	str(&c.NATS, "nats", "", "NATS URL for replica events (not available yet)")
	str(&c.MQTT, "mqtt", "", "MQTT broker URL for ingestion (not available yet)")
	return fs
}

// Validate checks the configuration after parsing.
func (c *Config) Validate() error {
	if len(c.envErrs) > 0 {
		return fmt.Errorf("environment: %s", strings.Join(c.envErrs, "; "))
	}
	if c.Postgres != "" || c.NATS != "" || c.MQTT != "" {
		return fmt.Errorf("--postgres, --nats and --mqtt are not available in this version of qala")
	}
	if c.MaxBody < 1024 {
		return fmt.Errorf("--max-body must be at least 1024 bytes")
	}
	if c.MaxBatch < 1 || c.DefaultLimit < 1 || c.MaxLimit < c.DefaultLimit {
		return fmt.Errorf("--max-batch and --default-limit must be positive and --max-limit at least --default-limit")
	}
	if _, err := c.memoryLimit(); err != nil {
		return err
	}
	if _, err := c.queryMemory(); err != nil {
		return err
	}
	if c.Data == "" {
		return fmt.Errorf("--data must name a directory")
	}
	if c.TemporalLimit < 1 {
		return fmt.Errorf("--temporal-limit must be positive")
	}
	if _, err := c.historyConfig(); err != nil {
		return err
	}
	return nil
}

func envName(flag string) string {
	return "QALA_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func envStr(flag, def string) string {
	if v, ok := os.LookupEnv(envName(flag)); ok {
		return v
	}
	return def
}

func (c *Config) envBool(flag string, def bool) bool {
	v, ok := os.LookupEnv(envName(flag))
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		c.envErrs = append(c.envErrs, envName(flag)+" is not a boolean")
		return def
	}
	return b
}

func (c *Config) envInt(flag string, def int) int {
	v, ok := os.LookupEnv(envName(flag))
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		c.envErrs = append(c.envErrs, envName(flag)+" is not an integer")
		return def
	}
	return n
}

func (c *Config) envDur(flag string, def time.Duration) time.Duration {
	v, ok := os.LookupEnv(envName(flag))
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		c.envErrs = append(c.envErrs, envName(flag)+" is not a duration (e.g. 5s)")
		return def
	}
	return d
}

// memoryLimit parses --memory-limit (a byte count with an optional B, KiB,
// MiB or GiB suffix, as GOMEMLIMIT takes it); 0 means none was given.
func (c *Config) memoryLimit() (int64, error) {
	return parseSize("memory-limit", c.MemoryLimit, "1536MiB or 2GiB")
}

// queryMemory parses --query-memory like --memory-limit; 0 means no bound.
func (c *Config) queryMemory() (int64, error) {
	return parseSize("query-memory", c.QueryMemory, "32MiB")
}

// parseSize reads a byte count with an optional B, KiB, MiB or GiB suffix;
// "" is 0.
func parseSize(flag, v, example string) (int64, error) {
	s := strings.TrimSpace(v)
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.n
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("--%s %q is not a size such as %s", flag, v, example)
	}
	return int64(f * float64(mult)), nil
}

// historyConfig returns the history configuration the flags give, or nil
// when none was given (the persisted one then applies).
func (c *Config) historyConfig() (*temporal.Config, error) {
	if !c.HistorySet {
		return nil, nil
	}
	rules, err := temporal.ParseRules(c.HistoryRules)
	if err != nil {
		return nil, fmt.Errorf("--history-rules: %w", err)
	}
	return &temporal.Config{Enabled: c.History, Retention: c.HistoryRetention, Rules: rules}, nil
}
