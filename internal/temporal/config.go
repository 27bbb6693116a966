package temporal

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
)

// pebbleZstd compresses every level of the history with zstd.
var pebbleZstd = sstable.ZstdCompression

// Config says which history is kept and for how long. History is kept by
// default, forever; Rules override the defaults for a tenant, an entity
// type, or both.
type Config struct {
	// Enabled records history for every tenant and type no rule says
	// otherwise.
	Enabled bool `json:"enabled"`
	// Retention is how long instances are kept, an ISO 8601 duration such
	// as P90D or P1Y; "" keeps them forever.
	Retention string `json:"retention,omitempty"`
	Rules     []Rule `json:"rules,omitempty"`
}

// Rule overrides the defaults for the entities of one tenant, of one type,
// or of one type in one tenant.
type Rule struct {
	// Tenant names the tenant ("" the default one); nil means any tenant.
	Tenant *string `json:"tenant,omitempty"`
	// Type names an entity type (a short name of the core @context or an
	// IRI); "" means any type.
	Type string `json:"type,omitempty"`
	// Enabled, when set, turns history on or off.
	Enabled *bool `json:"enabled,omitempty"`
	// Retention, when set, replaces the retention ("" keeps forever).
	Retention *string `json:"retention,omitempty"`
}

// DefaultConfig keeps all history forever.
func DefaultConfig() Config { return Config{Enabled: true} }

// effectiveConfig is a validated Config with types expanded and
// retentions parsed.
type effectiveConfig struct {
	Config
	retention Duration // zero: forever
	rules     []effRule
}

type effRule struct {
	tenant       *string
	typ          string // expanded; "" any
	enabled      *bool
	retention    *Duration
	specificity  int // 3 tenant and type, 2 type, 1 tenant
	retentionSet bool
}

// compile validates c.
func compile(c Config, expand func(string) string) (*effectiveConfig, error) {
	ec := &effectiveConfig{Config: c}
	var err error
	if c.Retention != "" {
		if ec.retention, err = parseRetention(c.Retention); err != nil {
			return nil, err
		}
	}
	for i, r := range c.Rules {
		if r.Tenant == nil && r.Type == "" {
			return nil, fmt.Errorf("rule %d names neither a tenant nor a type", i+1)
		}
		if r.Enabled == nil && r.Retention == nil {
			return nil, fmt.Errorf("rule %d sets neither enabled nor retention", i+1)
		}
		er := effRule{tenant: r.Tenant, enabled: r.Enabled}
		if r.Type != "" {
			if strings.ContainsAny(r.Type, " \t\n\"<>") {
				return nil, fmt.Errorf("rule %d: %q is not an entity type", i+1, r.Type)
			}
			er.typ = expand(r.Type)
			er.specificity = 2
		}
		if r.Tenant != nil {
			er.specificity++
		}
		if r.Retention != nil {
			er.retentionSet = true
			d := Duration{}
			if *r.Retention != "" {
				if d, err = parseRetention(*r.Retention); err != nil {
					return nil, fmt.Errorf("rule %d: %w", i+1, err)
				}
			}
			er.retention = &d
		}
		ec.rules = append(ec.rules, er)
	}
	return ec, nil
}

// parseRetention parses a retention: an ISO 8601 duration (P30D, P1Y,
// PT12H) or a Go duration (720h).
func parseRetention(s string) (Duration, error) {
	if strings.HasPrefix(s, "P") {
		d, err := ParseDuration(s)
		if err != nil {
			return Duration{}, fmt.Errorf("retention %q is not an ISO 8601 duration such as P90D or P1Y", s)
		}
		return d, nil
	}
	gd, err := time.ParseDuration(s)
	if err != nil || gd < 0 {
		return Duration{}, fmt.Errorf("retention %q is neither an ISO 8601 duration (P90D) nor a duration such as 720h", s)
	}
	return Duration{Millis: gd.Milliseconds()}, nil
}

// matching returns the rules that apply to an entity of the tenant with
// these types.
func (ec *effectiveConfig) matching(tenant string, types []string) []effRule {
	var out []effRule
	for _, r := range ec.rules {
		if r.tenant != nil && *r.tenant != tenant {
			continue
		}
		if r.typ != "" && !slices.Contains(types, r.typ) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// enabled reports whether history is kept for an entity: the most specific
// rule that says so decides; among rules as specific, one keeping history
// wins (an entity with several types keeps history if one type does).
func (ec *effectiveConfig) enabled(tenant string, types []string) bool {
	best, on := -1, ec.Enabled
	for _, r := range ec.matching(tenant, types) {
		if r.enabled == nil {
			continue
		}
		switch {
		case r.specificity > best:
			best, on = r.specificity, *r.enabled
		case r.specificity == best:
			on = on || *r.enabled
		}
	}
	return on
}

// retentionFor returns how long an entity's history is kept (zero:
// forever): the most specific rule decides; among rules as specific the
// longest retention wins.
func (ec *effectiveConfig) retentionFor(tenant string, types []string) Duration {
	best, ret := -1, ec.retention
	for _, r := range ec.matching(tenant, types) {
		if !r.retentionSet {
			continue
		}
		switch {
		case r.specificity > best:
			best, ret = r.specificity, *r.retention
		case r.specificity == best && longer(*r.retention, ret):
			ret = *r.retention
		}
	}
	return ret
}

// longer reports whether retention a keeps more than b (zero is forever).
func longer(a, b Duration) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() && !b.IsZero()
	}
	return a.approxMillis() > b.approxMillis()
}

// initConfig loads the persisted configuration, or persists the one given.
func (s *Store) initConfig(given *Config) error {
	if given != nil {
		_, err := s.SetConfig(*given)
		return err
	}
	c := DefaultConfig()
	v, closer, err := s.db.Get(keyConfig)
	switch {
	case err == nil:
		jerr := json.Unmarshal(v, &c)
		closer.Close()
		if jerr != nil {
			return fmt.Errorf("temporal: persisted configuration: %w", jerr)
		}
	case !errors.Is(err, pebble.ErrNotFound):
		return err
	}
	ec, err := compile(c, s.expand)
	if err != nil {
		return fmt.Errorf("temporal: persisted configuration: %w", err)
	}
	s.cfg.Store(ec)
	return nil
}

// Config returns the configuration in force.
func (s *Store) Config() Config { return s.cfg.Load().Config }

// SetConfig validates, persists and applies a configuration; the returned
// error explains what is invalid.
func (s *Store) SetConfig(c Config) (Config, error) {
	ec, err := compile(c, s.expand)
	if err != nil {
		return Config{}, err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return Config{}, err
	}
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	if err := s.db.Set(keyConfig, b, s.writeOpts()); err != nil {
		return Config{}, err
	}
	s.cfg.Store(ec)
	return c, nil
}

// Enabled reports whether history is kept for an entity of the tenant with
// these (expanded) types.
func (s *Store) Enabled(tenant string, types []string) bool {
	return s.cfg.Load().enabled(tenant, types)
}

// ParseRules parses the rules of --history-rules: rules separated by ";",
// each a list of comma-separated key=value among tenant, type, enabled
// (true/false, or on/off) and retention, e.g.
// "type=Vehicle,retention=P30D;tenant=lab,enabled=false".
func ParseRules(s string) ([]Rule, error) {
	var out []Rule
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var r Rule
		for _, kv := range strings.Split(part, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok {
				return nil, fmt.Errorf("history rule %q: %q is not key=value", part, kv)
			}
			switch k = strings.TrimSpace(k); k {
			case "tenant":
				t := strings.TrimSpace(v)
				r.Tenant = &t
			case "type":
				r.Type = strings.TrimSpace(v)
			case "enabled":
				var b bool
				switch strings.TrimSpace(v) {
				case "true", "on":
					b = true
				case "false", "off":
				default:
					return nil, fmt.Errorf("history rule %q: enabled must be true or false", part)
				}
				r.Enabled = &b
			case "retention":
				ret := strings.TrimSpace(v)
				r.Retention = &ret
			default:
				return nil, fmt.Errorf("history rule %q: unknown key %q (tenant, type, enabled, retention)", part, k)
			}
		}
		out = append(out, r)
	}
	return out, nil
}
