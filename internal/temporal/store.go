// Package temporal is Qala's history: the Temporal Evolution of Entities
// (clauses 4.5.7, 4.5.9, 4.5.19, 5.6.11–5.6.16, 5.7.3 and 5.7.4 of ETSI GS
// CIM 009) kept in its own pebble database, built for sensor data.
//
// Every attribute instance belongs to a series (tenant, entity, attribute,
// datasetId). A series is stored as chunks per UTC day, column by column
// (chunk.go), with hourly and daily roll-ups beside them (rollup.go) that
// answer long aggregations without reading instances.
//
// History is written two ways, both atomic and durable when they return:
// the change log of the entity store, consumed in order by Handle (a
// store.Follower whose cursor is written in the same batch as the
// instances, so that kill -9 neither loses nor doubles anything), and the
// temporal API's own writes (Append and the instance operations).
//
// An instance with the same observedAt as one already in its series
// replaces it, keeping its instanceId: writing the same readings twice (a
// client retrying after a timeout) does not double them.
package temporal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qala-city/qala/internal/ngsild"
)

// Errors of the store. Others are I/O errors.
var (
	// ErrNotFound: no history for that entity, attribute or instance.
	ErrNotFound = errors.New("temporal: not found")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("temporal: closed")
	// ErrDisabled: history is turned off for that tenant and entity type.
	ErrDisabled = errors.New("temporal: history is disabled for this entity")
)

// Options configure Open.
type Options struct {
	// Dir is the directory of the history database (created if needed).
	Dir string
	// Logger receives errors; nil means slog.Default().
	Logger *slog.Logger
	// Registerer, when not nil, receives the store's metrics.
	Registerer prometheus.Registerer
	// NoSync skips the WAL fsync (tests and benchmarks only).
	NoSync bool
	// Config, when not nil, replaces the configuration persisted in the
	// database (and is persisted); nil keeps the persisted one, or the
	// default (history on, kept forever) for a new database.
	Config *Config
	// Expand expands the entity types named in Config rules (short names
	// or IRIs); nil leaves them as given.
	Expand func(string) string
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
	// CompactInterval is how often windows written in small pieces are
	// merged (default 2 s); RetentionInterval how often retention runs
	// (default 1 h). Negative disables the background job.
	CompactInterval, RetentionInterval time.Duration
}

// Store is the history store. It is safe for concurrent use.
type Store struct {
	db     *pebble.DB
	log    *slog.Logger
	noSync bool
	now    func() time.Time
	expand func(string) string
	cat    *catalog

	cfgMu sync.Mutex
	cfg   atomic.Pointer[effectiveConfig]

	cursor atomic.Uint64 // the change log cursor persisted so far

	dirtyMu sync.Mutex
	dirty   map[dirtyKey]winCounts // windows to look at for compaction
	rescan  []uint32               // series whose last window's counts are unknown (loaded at Open)
	// passSlice bounds the work of a background compaction pass.
	passSlice time.Duration

	metrics  *metrics
	stop     chan struct{}
	bgCtx    context.Context // cancelled by Close
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
	closed   atomic.Bool
}

// Open opens (creating if needed) the history database in opts.Dir and
// loads its catalog.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("temporal: no directory given")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	po := &pebble.Options{
		Logger:             pebbleLogger{log},
		MemTableSize:       32 << 20,
		FormatMajorVersion: pebble.FormatNewest,
	}
	for i := range po.Levels {
		// Chunks compress well; large blocks give zstd more to work with,
		// and bloom filters keep roll-up lookups of absent buckets cheap.
		po.Levels[i].BlockSize = 32 << 10
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	po.ApplyCompressionSettings(func() pebble.DBCompressionSettings {
		return pebble.UniformDBCompressionSettings(pebbleZstd)
	})
	db, err := pebble.Open(opts.Dir, po)
	if err != nil {
		return nil, fmt.Errorf("temporal: open %s: %w", opts.Dir, err)
	}
	s := &Store{
		db:        db,
		log:       log,
		noSync:    opts.NoSync,
		now:       opts.Now,
		expand:    opts.Expand,
		cat:       newCatalog(),
		dirty:     map[dirtyKey]winCounts{},
		passSlice: defaultPassSlice,
		stop:      make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	if s.expand == nil {
		s.expand = func(t string) string { return t }
	}
	start := time.Now()
	if err := s.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("temporal: load %s: %w", opts.Dir, err)
	}
	if err := s.initConfig(opts.Config); err != nil {
		db.Close()
		return nil, err
	}
	if opts.Registerer != nil {
		if s.metrics, err = newMetrics(opts.Registerer, s); err != nil {
			db.Close()
			return nil, fmt.Errorf("temporal: metrics: %w", err)
		}
	}
	log.Info("history store opened", "dir", opts.Dir, "series", s.cat.seriesCount(), "cursor", s.cursor.Load(),
		"took", time.Since(start).Round(time.Millisecond))
	s.startBackground(opts.CompactInterval, opts.RetentionInterval)
	return s, nil
}

// load rebuilds the catalog from the entity and series records.
func (s *Store) load() error {
	if v, closer, err := s.db.Get(keyCursor); err == nil {
		if len(v) == 8 {
			s.cursor.Store(binary.BigEndian.Uint64(v))
		}
		closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return err
	}
	if v, closer, err := s.db.Get(keyNextSeries); err == nil {
		if len(v) == 8 {
			s.cat.nextSeries = max(s.cat.nextSeries, binary.BigEndian.Uint64(v))
		}
		closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return err
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixEntity}, UpperBound: []byte{prefixEntity + 1}})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()[1:]
		i := 0
		for i < len(k) && k[i] != 0 {
			i++
		}
		if i == len(k) {
			it.Close()
			return fmt.Errorf("entity record key %q: %w", it.Key(), errCorrupt)
		}
		types, created, modified, deleted, err := decodeEntityRecord(it.Value())
		if err != nil {
			it.Close()
			return fmt.Errorf("entity record %q: %w", it.Key(), err)
		}
		// Views of the key: the catalog copies what it keeps.
		e := s.cat.getOrCreate(unsafe.String(unsafe.SliceData(k), i), unsafe.String(unsafe.SliceData(k[i+1:]), len(k)-i-1))
		e.types, e.created, e.modified, e.deleted = s.cat.typeList(types), created, modified, deleted
		e.committed.Store(true)
	}
	if err := it.Close(); err != nil {
		return err
	}
	it, err = s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixSeries}, UpperBound: []byte{prefixSeries + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if len(it.Key()) != 9 {
			return fmt.Errorf("series record key %q: %w", it.Key(), errCorrupt)
		}
		id := binary.BigEndian.Uint64(it.Key()[1:])
		sr, err := decodeSeriesRecord(it.Value())
		if err != nil {
			return fmt.Errorf("series record %d: %w", id, err)
		}
		e := s.cat.getOrCreate(sr.tenant, sr.id)
		ser := s.cat.addSeries(e, id, sKey{sr.attr, sr.dataset})
		ser.nextNum, ser.maxObs, ser.lastT, ser.last = sr.nextNum, sr.maxObs, sr.lastT, unknownCounts
		ser.setInfo(sr.kind, sr.classes, sr.noObs)
		ser.setCommitted()
		// The last window of each series may hold small chunks a crash
		// left unmerged: compaction passes read them, a few at a time.
		if sr.lastT != math.MinInt64 {
			s.rescan = append(s.rescan, ser.slot)
		}
	}
	return it.Error()
}

// Close stops the background jobs and closes the database.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.stop)
	s.bgCancel()
	s.bg.Wait()
	return s.db.Close()
}

// Cursor returns the Seq of the last change event whose effects are
// durable: the change log consumer (a store.Follower) starts after it.
func (s *Store) Cursor() uint64 { return s.cursor.Load() }

// writeOpts returns the options of commits that acknowledge a write.
func (s *Store) writeOpts() *pebble.WriteOptions {
	if s.noSync {
		return pebble.NoSync
	}
	return pebble.Sync
}

// HasTenant reports whether the tenant has history.
func (s *Store) HasTenant(tenant string) bool { return s.cat.hasTenant(tenant) }

// DiskBytes returns the size of the database on disk.
func (s *Store) DiskBytes() uint64 { return s.db.Metrics().DiskSpaceUsage() }

func (s *Store) nowMs() int64 { return s.now().UnixMilli() }

// checkOpen fails once the store is closed.
func (s *Store) checkOpen(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// pebbleLogger routes pebble's logs to slog.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug("pebble (history): " + fmt.Sprintf(format, args...))
}
func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error("pebble (history): " + fmt.Sprintf(format, args...))
}
func (l pebbleLogger) Fatalf(format string, args ...any) {
	l.log.Error("pebble (history) fatal: " + fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}

// kindOf returns the kind of the instances of a series from an instance.
func kindOf(x *inst) ngsild.AttrType {
	if x.flags&flagNumber != 0 {
		return ngsild.Property
	}
	return x.a.Type
}

// Resync moves the change log cursor to seq without recording the events
// before it: the consumer's way out when the log no longer holds them.
func (s *Store) Resync(ctx context.Context, seq uint64) error {
	if err := s.checkOpen(ctx); err != nil {
		return err
	}
	if err := s.db.Set(keyCursor, binary.BigEndian.AppendUint64(nil, seq), s.writeOpts()); err != nil {
		return err
	}
	s.cursor.Store(seq)
	return nil
}
