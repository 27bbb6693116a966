package embedded

import (
	"cmp"
	"slices"
	"strings"
)

// Building a value index. The first query that filters on an attribute
// builds its index; at a million entities that is a pass of about a second
// over their encodings, too long to hold the tenant's write lock (every
// write and every query of the tenant would wait). So a build reads the
// entities under the read lock (writes wait, queries go on), sorts outside
// any lock, and installs the index under the write lock, after re-reading
// the entities published in between: from the moment the build is
// registered, every publication notes the recs it changed in the build's
// touched set (tenant.noteTouched), so the install drops what the snapshot
// holds of them and indexes their state at that moment. The install is
// linear in the index's size (a filter, a merge and an in-order load).
//
// A second query for the same attribute waits for the build in progress.

// afterSnapshot, when set (by tests only), runs between a build's snapshot
// and its install, with no lock held.
var afterSnapshot func()

// valBuild is a value index being built.
type valBuild struct {
	touched map[*rec]struct{}
	done    chan struct{}
}

// numBuild and strBuild are entries of a build: the rec's id is copied
// under the lock, so that sorting outside it reads no rec.
type numBuild struct {
	v  float64
	id string
	r  *rec
}

type strBuild struct {
	s, id string
	r     *rec
}

func cmpNumBuild(a, b numBuild) int {
	if c := cmp.Compare(a.v, b.v); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func cmpStrBuild(a, b strBuild) int {
	if c := strings.Compare(a.s, b.s); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// valEntries collects the entries of one attribute's index.
type valEntries struct {
	nums  []numBuild
	strs  []strBuild
	multi int
}

// add appends the entries of r (its keys of the attribute). The caller
// holds t.mu.
func (e *valEntries) add(r *rec, keys []valKey) {
	for _, k := range keys {
		if k.isStr {
			e.strs = append(e.strs, strBuild{k.str, r.id, r})
		} else {
			e.nums = append(e.nums, numBuild{k.num, r.id, r})
		}
	}
	if len(keys) > 1 {
		e.multi++
	}
}

// noteTouched records, for the builds in progress, that r changed. The
// caller holds t.mu for writing.
func (t *tenant) noteTouched(r *rec) {
	for _, b := range t.building {
		b.touched[r] = struct{}{}
	}
}

// buildValues builds the value index of attr unless it exists, the tenant
// has no entity with attr, or another query is building it (then it waits
// for that build). It takes t.mu.
func (t *tenant) buildValues(attr uint32) {
	t.mu.Lock()
	if t.vals[attr] != nil || t.attrs[attr] == nil {
		t.mu.Unlock()
		return
	}
	if b := t.building[attr]; b != nil {
		t.mu.Unlock()
		<-b.done
		return
	}
	b := &valBuild{touched: map[*rec]struct{}{}, done: make(chan struct{})}
	t.building[attr] = b
	t.mu.Unlock()
	defer close(b.done)

	only := func(a uint32) bool { return a == attr }
	var e valEntries
	t.mu.RLock()
	if tr := t.attrs[attr]; tr != nil {
		tr.Scan(func(r *rec) bool {
			if keys, err := valuesOf(r.data(), only, true); err == nil { // an error cannot happen: the encoding was read when stored
				e.add(r, keys)
			}
			return true
		})
	}
	t.mu.RUnlock()
	if afterSnapshot != nil {
		afterSnapshot()
	}
	slices.SortFunc(e.nums, cmpNumBuild)
	slices.SortFunc(e.strs, cmpStrBuild)

	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.building, attr)
	if len(b.touched) > 0 {
		e.retouch(t, b.touched, only)
	}
	x := newValIndex()
	for _, n := range e.nums {
		x.nums.Load(numEnt{n.v, n.r})
	}
	for _, s := range e.strs {
		x.strs.Load(strEnt{t.strings.intern(s.s), s.r})
	}
	x.multi = e.multi
	t.vals[attr] = x
}

// retouch replaces the entries of the touched recs by those of their
// present state (none for a rec no longer in the tenant). The entries are
// sorted and stay so. The caller holds t.mu for writing.
func (e *valEntries) retouch(t *tenant, touched map[*rec]struct{}, only func(uint32) bool) {
	per := map[*rec]int{}
	e.nums = slices.DeleteFunc(e.nums, func(n numBuild) bool {
		_, ok := touched[n.r]
		if ok {
			per[n.r]++
		}
		return ok
	})
	e.strs = slices.DeleteFunc(e.strs, func(s strBuild) bool {
		_, ok := touched[s.r]
		if ok {
			per[s.r]++
		}
		return ok
	})
	for _, n := range per {
		if n > 1 {
			e.multi--
		}
	}
	var now valEntries
	for r := range touched {
		if r.id == "" || t.byID.Get(r.id) != r {
			continue // removed (and perhaps reused, then touched again)
		}
		if keys, err := valuesOf(r.data(), only, true); err == nil {
			now.add(r, keys)
		}
	}
	slices.SortFunc(now.nums, cmpNumBuild)
	slices.SortFunc(now.strs, cmpStrBuild)
	e.nums = mergeSorted(e.nums, now.nums, cmpNumBuild)
	e.strs = mergeSorted(e.strs, now.strs, cmpStrBuild)
	e.multi += now.multi
}

// mergeSorted merges two sorted slices.
func mergeSorted[T any](a, b []T, cmp func(T, T) int) []T {
	if len(b) == 0 {
		return a
	}
	out := make([]T, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if cmp(b[j], a[i]) < 0 {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
