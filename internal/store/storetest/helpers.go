package storetest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// IRIs used by the suite's entities.
const (
	typeA     = "https://example.org/ns/Streetlight"
	typeB     = "https://example.org/ns/Sensor"
	typeC     = "https://example.org/ns/Unused"
	attrLevel = "https://example.org/ns/level"
	attrName  = "https://example.org/ns/name"
	attrCount = "https://example.org/ns/counter"
	attrOwner = "https://example.org/ns/owner"
	attrGeo   = ngsild.IRILocation
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

// entityOpts compares entities read back from a store: empty and nil slices
// and maps are the same, times compare by instant.
var entityOpts = cmp.Options{cmpopts.EquateEmpty()}

func prop(v any) []*ngsild.Attr {
	return []*ngsild.Attr{{Type: ngsild.Property, Value: v}}
}

// newEntity builds an entity with one type and the given attributes
// (name, value pairs; values become Properties).
func newEntity(id, typ string, kv ...any) *ngsild.Entity {
	e := &ngsild.Entity{ID: id, Types: []string{typ}, CreatedAt: t0, ModifiedAt: t0,
		Attrs: map[string][]*ngsild.Attr{}}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Attrs[kv[i].(string)] = prop(kv[i+1])
	}
	return e
}

// put stores e whatever the entity's current state.
func put(op store.Operation, e *ngsild.Entity) store.Change {
	return store.Change{ID: e.ID, Op: op, Apply: func(*ngsild.Entity) (*ngsild.Entity, []string, error) {
		return e, attrNames(e), nil
	}}
}

// create stores e unless the entity exists.
func create(e *ngsild.Entity) store.Change {
	return store.Change{ID: e.ID, Op: store.OpCreate, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		if before != nil {
			return nil, nil, errExists
		}
		return e, attrNames(e), nil
	}}
}

// del deletes the entity, failing with errMissing when it does not exist.
func del(id string) store.Change {
	return store.Change{ID: id, Op: store.OpDelete, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		if before == nil {
			return nil, nil, errMissing
		}
		return nil, nil, nil
	}}
}

// setAttr sets one Property of an existing entity, on a clone.
func setAttr(id, name string, v any) store.Change {
	return store.Change{ID: id, Op: store.OpUpdate, Apply: func(before *ngsild.Entity) (*ngsild.Entity, []string, error) {
		if before == nil {
			return nil, nil, errMissing
		}
		after := before.Clone()
		after.Attrs[name] = prop(v)
		after.ModifiedAt = after.ModifiedAt.Add(time.Millisecond)
		return after, []string{name}, nil
	}}
}

var (
	errExists  = errors.New("storetest: entity exists")
	errMissing = errors.New("storetest: entity missing")
)

func attrNames(e *ngsild.Entity) []string {
	names := make([]string, 0, len(e.Attrs))
	for n := range e.Attrs {
		names = append(names, n)
	}
	return names
}

// write runs one Write and fails the test on a group error or on a change
// error that is not expected (want[i] nil means success).
func write(t *testing.T, s store.Store, tenant string, changes ...store.Change) []error {
	t.Helper()
	errs, err := s.Write(context.Background(), tenant, changes)
	if err != nil {
		t.Fatalf("Write(%q): %v", tenant, err)
	}
	if len(errs) != len(changes) {
		t.Fatalf("Write(%q) returned %d errors for %d changes", tenant, len(errs), len(changes))
	}
	return errs
}

// mustWrite is write where every change must succeed.
func mustWrite(t *testing.T, s store.Store, tenant string, changes ...store.Change) {
	t.Helper()
	for i, err := range write(t, s, tenant, changes...) {
		if err != nil {
			t.Fatalf("Write(%q) change %d (%s): %v", tenant, i, changes[i].ID, err)
		}
	}
}

func mustGet(t *testing.T, s store.Store, tenant, id string) *ngsild.Entity {
	t.Helper()
	e, err := s.Get(context.Background(), tenant, id)
	if err != nil {
		t.Fatalf("Get(%q, %q): %v", tenant, id, err)
	}
	return e
}

func wantEntity(t *testing.T, got, want *ngsild.Entity) {
	t.Helper()
	if d := cmp.Diff(want, got, entityOpts); d != "" {
		t.Errorf("entity %s (-want +got):\n%s", want.ID, d)
	}
}

func ids(es []*ngsild.Entity) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// recorder collects the events a store hands to a subscriber.
type recorder struct {
	ch chan []store.Event
}

func record(s store.Store) (*recorder, func()) {
	r := &recorder{ch: make(chan []store.Event, 1024)}
	cancel := s.Subscribe(func(evs []store.Event) { r.ch <- evs })
	return r, cancel
}

// events returns the events received so far (Write hands them over before
// it returns, so none are in flight after it).
func (r *recorder) events() []store.Event {
	var out []store.Event
	for {
		select {
		case evs := <-r.ch:
			out = append(out, evs...)
		default:
			return out
		}
	}
}

func num(e *ngsild.Entity, name string) float64 {
	a := e.Instance(name, "")
	if a == nil {
		return -1
	}
	f, _ := a.Value.(float64)
	return f
}

func idf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func regexpOf(s string) *regexp.Regexp { return regexp.MustCompile(s) }
