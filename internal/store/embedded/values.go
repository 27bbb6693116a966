package embedded

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/tidwall/btree"

	"github.com/qala-city/qala/internal/ngsild"
	"github.com/qala-city/qala/internal/store"
)

// Value indexes. Per tenant and attribute name, two ordered sets hold the
// targets of the attribute's instances (store.ValueCond): the numbers, and
// the strings of at most maxIndexedString bytes, each paired with the
// entity. They are derived from the entity's encoding (so they agree with
// what a decoded entity offers to q), built the first time a query filters
// on the attribute (tenant.buildValues, valbuild.go) and maintained when groups are
// published. Nothing is kept per entity for them: the entries to remove are
// read again from the entity's old encoding. (Every entity's numbers are
// also in its body, for walks: body.go.)

// maxIndexedString is the longest string a value index holds. Conditions
// on longer strings are checked on the encoding instead.
const maxIndexedString = 128

// target is one number or string that an attribute instance offers to q.
type target struct {
	num   float64
	str   []byte // aliases the encoding
	isStr bool
}

// valKey is one value-index entry of an entity.
type valKey struct {
	attr  uint32
	isStr bool
	num   float64
	str   string
}

func cmpValKey(a, b valKey) int {
	switch {
	case a.attr != b.attr:
		return cmpU32(a.attr, b.attr)
	case a.isStr != b.isStr:
		if a.isStr {
			return 1
		}
		return -1
	case a.isStr:
		return strings.Compare(a.str, b.str)
	}
	switch {
	case a.num < b.num:
		return -1
	case a.num > b.num:
		return 1
	}
	return 0
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// valuesOf returns the value-index entries of an encoded entity, sorted and
// without duplicates: those of the attributes want accepts (nil: all), and
// only numbers unless strs is set (strings are copied out of the encoding).
func valuesOf(data []byte, want func(uint32) bool, strs bool) ([]valKey, error) {
	var keys []valKey
	err := eachTarget(data, want, func(attr uint32, t target) bool {
		switch {
		case !t.isStr:
			keys = append(keys, valKey{attr: attr, num: t.num})
		case strs && len(t.str) <= maxIndexedString:
			keys = append(keys, valKey{attr: attr, isStr: true, str: string(t.str)})
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(keys, cmpValKey)
	return slices.CompactFunc(keys, func(a, b valKey) bool { return cmpValKey(a, b) == 0 }), nil
}

// eachTarget calls fn with every target of every top-level attribute
// instance of the encoded entity whose attribute symbol want accepts (nil:
// all), in encoding order, until fn returns false. It needs no symbol
// table and allocates nothing (but for values of exotic Go types, stored as
// JSON).
func eachTarget(data []byte, want func(uint32) bool, fn func(uint32, target) bool) error {
	d := decoder{b: data}
	if d.byte() != codecVersion {
		d.fail()
		return d.err
	}
	for n, i := d.count(), 0; i < n && d.err == nil; i++ {
		d.uvarint()
	}
	for n, i := d.count(), 0; i < n && d.err == nil; i++ {
		d.skipStr()
	}
	d.time()
	d.time()
	d.time()
	for n, i := d.count(), 0; i < n && d.err == nil; i++ {
		sym := uint32(d.uvarint())
		k := d.count()
		if want != nil && !want(sym) {
			for j := 0; j < k && d.err == nil; j++ {
				d.scanAttr(0, false)
			}
			continue
		}
		for j := 0; j < k && d.err == nil; j++ {
			if !d.instTargets(sym, fn) {
				return d.err
			}
		}
	}
	return d.err
}

// instTargets reads one top-level attribute instance, passing its targets
// to fn; it returns false when fn did (the rest is then left unread).
func (d *decoder) instTargets(sym uint32, fn func(uint32, target) bool) bool {
	typ := ngsild.AttrType(d.byte())
	flags := d.uvarint()
	rel := typ == ngsild.Relationship || typ == ngsild.ListRelationship
	lang := typ == ngsild.LanguageProperty
	if flags&fValue != 0 {
		if rel || lang {
			d.skipValue(0)
		} else if !d.valueTargets(0, sym, fn) {
			return false
		}
	}
	if flags&fLangMap != 0 {
		for n, i := d.count(), 0; i < n && d.err == nil; i++ {
			d.skipStr()
			if !lang {
				d.skipValue(0)
			} else if !d.valueTargets(0, sym, fn) {
				return false
			}
		}
	}
	if flags&fObject != 0 {
		if !rel {
			d.skipValue(0)
		} else if !d.valueTargets(0, sym, fn) {
			return false
		}
	}
	d.skipAttrTail(flags, 0)
	return true
}

// valueTargets reads one tagged value, passing the numbers and strings in
// it (through arrays, not objects) to fn; false when fn returned false.
func (d *decoder) valueTargets(depth int, sym uint32, fn func(uint32, target) bool) bool {
	if depth > maxDepth {
		d.fail()
		return true
	}
	switch d.byte() {
	case tagNil, tagFalse, tagTrue:
	case tagInt:
		x := d.varint()
		if d.err == nil {
			return fn(sym, target{num: float64(x)})
		}
	case tagFloat:
		b := d.bytes(8)
		if d.err == nil {
			if f := math.Float64frombits(leUint64(b)); f == f {
				return fn(sym, target{num: f})
			}
		}
	case tagString:
		b := d.bytes(d.count())
		if d.err == nil {
			return fn(sym, target{str: b, isStr: true})
		}
	case tagArray:
		for n, i := d.count(), 0; i < n && d.err == nil; i++ {
			if !d.valueTargets(depth+1, sym, fn) {
				return false
			}
		}
	case tagObject:
		for n, i := d.count(), 0; i < n && d.err == nil; i++ {
			d.skipStr()
			d.skipValue(depth + 1)
		}
	case tagJSON:
		var v any
		if err := json.Unmarshal(d.bytes(d.count()), &v); err != nil {
			d.fail()
			return true
		}
		return goTargets(v, sym, fn)
	default:
		d.fail()
	}
	return true
}

// goTargets passes the targets of a decoded JSON value to fn.
func goTargets(v any, sym uint32, fn func(uint32, target) bool) bool {
	switch x := v.(type) {
	case float64:
		if x == x {
			return fn(sym, target{num: x})
		}
	case string:
		return fn(sym, target{str: []byte(x), isStr: true})
	case []any:
		for _, m := range x {
			if !goTargets(m, sym, fn) {
				return false
			}
		}
	}
	return true
}

func leUint64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// pcond is a store.ValueCond resolved for the embedded store.
type pcond struct {
	*store.ValueCond
	sym uint32
	// indexed: every string of Strings fits in the value index, so the
	// index can list the condition's matches.
	indexed bool
}

func (c *pcond) matchTarget(t target) bool {
	if !t.isStr {
		return c.Strings == nil && c.MatchNumber(t.num)
	}
	if c.Strings == nil {
		return false
	}
	for _, s := range c.Strings {
		if string(t.str) == s {
			return true
		}
	}
	return false
}

// condState checks a plan's value conditions on encodings, reusing its
// memory across entities (one per query, not shared).
type condState struct {
	conds  []pcond
	skip   int // index of the condition the source guarantees, or -1
	sat    []bool
	needed int
	want   func(uint32) bool
	take   func(uint32, target) bool
}

func newCondState(conds []pcond) *condState {
	st := &condState{conds: conds, skip: -1, sat: make([]bool, len(conds))}
	st.want = func(sym uint32) bool {
		for i := range st.conds {
			if st.conds[i].sym == sym && !st.sat[i] {
				return true
			}
		}
		return false
	}
	st.take = func(sym uint32, t target) bool {
		for i := range st.conds {
			c := &st.conds[i]
			if c.sym == sym && !st.sat[i] && c.matchTarget(t) {
				st.sat[i] = true
				if st.needed--; st.needed == 0 {
					return false
				}
			}
		}
		return true
	}
	return st
}

// match reports whether the entity of body b satisfies every condition but
// the skipped one: numeric conditions on its inline numbers when it has
// them, the others on its encoding.
func (st *condState) match(b *body) bool {
	st.needed = 0
	for i := range st.sat {
		c := &st.conds[i]
		sat := i == st.skip
		if !sat && c.Strings == nil {
			if ns, ok := b.numsOf(c.sym); ok {
				for _, n := range ns {
					if sat = c.MatchNumber(n.v); sat {
						break
					}
				}
				if !sat {
					return false
				}
			}
		}
		st.sat[i] = sat
		if !sat {
			st.needed++
		}
	}
	if st.needed == 0 {
		return true
	}
	if err := eachTarget(b.data(), st.want, st.take); err != nil {
		return false
	}
	return st.needed == 0
}

// The value index of one attribute in one tenant.

type numEnt struct {
	v float64
	r *rec
}

type strEnt struct {
	s string
	r *rec
}

func lessNum(a, b numEnt) bool {
	if a.v != b.v {
		return a.v < b.v
	}
	return a.r.id < b.r.id
}

func lessStr(a, b strEnt) bool {
	if a.s != b.s {
		return a.s < b.s
	}
	return a.r.id < b.r.id
}

// valIndex holds one attribute's value index. multi counts the entities
// with more than one entry in it: while it is 0, a range scan meets each
// entity at most once.
type valIndex struct {
	nums  *btree.BTreeG[numEnt]
	strs  *btree.BTreeG[strEnt]
	multi int
}

func newValIndex() *valIndex {
	return &valIndex{
		nums: btree.NewBTreeGOptions(lessNum, btree.Options{NoLocks: true, Degree: 64}),
		strs: btree.NewBTreeGOptions(lessStr, btree.Options{NoLocks: true, Degree: 64}),
	}
}

// interner shares the strings of the value indexes that many entities hold
// (a status, a category): short strings are held once per store, up to a
// bound on how many it remembers. Only the publishing writer and the loader
// use it, one at a time.
type interner struct {
	m map[string]string
}

const (
	maxInternedLen = 32
	maxInterned    = 1 << 16
)

func (in *interner) intern(s string) string {
	if len(s) > maxInternedLen {
		return s
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}

// lowest is a rec that sorts before every other (pivot of range scans).
var lowest = &rec{}

// addValues inserts r's entries keys (sorted by attribute) into the value
// indexes that exist. The caller holds t.mu.
func (t *tenant) addValues(r *rec, keys []valKey) {
	t.eachAttrRun(keys, func(x *valIndex, run []valKey) {
		for _, k := range run {
			if k.isStr {
				x.strs.Set(strEnt{t.strings.intern(k.str), r})
			} else {
				x.nums.Set(numEnt{k.num, r})
			}
		}
		if len(run) > 1 {
			x.multi++
		}
	})
}

// dropValues removes r's entries keys. The caller holds t.mu.
func (t *tenant) dropValues(r *rec, keys []valKey) {
	t.eachAttrRun(keys, func(x *valIndex, run []valKey) {
		for _, k := range run {
			if k.isStr {
				x.strs.Delete(strEnt{k.str, r})
			} else {
				x.nums.Delete(numEnt{k.num, r})
			}
		}
		if len(run) > 1 {
			x.multi--
		}
	})
}

// eachAttrRun calls fn with each run of keys of one attribute that has a
// value index.
func (t *tenant) eachAttrRun(keys []valKey, fn func(*valIndex, []valKey)) {
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j].attr == keys[i].attr {
			j++
		}
		if x := t.vals[keys[i].attr]; x != nil {
			fn(x, keys[i:j])
		}
		i = j
	}
}

// revalue moves r's entries in the value indexes that exist from those of
// its old encoding to those of its new one. The caller holds t.mu.
func (t *tenant) revalue(r *rec, old, next []byte) {
	if len(t.vals) == 0 {
		return
	}
	indexed := func(attr uint32) bool { return t.vals[attr] != nil }
	var prev, cur []valKey
	// Encodings in the store were valid when they were indexed.
	if old != nil {
		prev, _ = valuesOf(old, indexed, true)
	}
	if next != nil {
		cur, _ = valuesOf(next, indexed, true)
	}
	if slices.EqualFunc(prev, cur, func(a, b valKey) bool { return cmpValKey(a, b) == 0 }) {
		return
	}
	t.dropValues(r, prev)
	t.addValues(r, cur)
}

// count returns how many entries of x satisfy c (an upper bound of the
// entities), in O(log² n).
func (x *valIndex) count(c *pcond) int {
	if c.Strings != nil {
		n := 0
		for _, s := range c.Strings {
			lo := searchBTree(x.strs, func(e strEnt) bool { return e.s >= s })
			hi := searchBTree(x.strs, func(e strEnt) bool { return e.s > s })
			n += hi - lo
		}
		return n
	}
	lo := searchBTree(x.nums, func(e numEnt) bool { return e.v > c.Min || (!c.MinOpen && e.v == c.Min) })
	hi := searchBTree(x.nums, func(e numEnt) bool { return e.v > c.Max || (c.MaxOpen && e.v == c.Max) })
	return max(hi-lo, 0)
}

// searchBTree returns the smallest position i of tr whose item satisfies
// f, f being false then true along the order (len when none).
func searchBTree[T any](tr *btree.BTreeG[T], f func(T) bool) int {
	return sort.Search(tr.Len(), func(i int) bool {
		it, _ := tr.GetAt(i)
		return f(it)
	})
}

// scan calls fn with the recs of the entries of x that satisfy c, until fn
// returns false (a rec may come more than once when x.multi > 0).
func (x *valIndex) scan(c *pcond, fn func(*rec) bool) {
	if c.Strings != nil {
		for _, s := range c.Strings {
			ok := true
			x.strs.Ascend(strEnt{s, lowest}, func(e strEnt) bool {
				if e.s != s {
					return false
				}
				ok = fn(e.r)
				return ok
			})
			if !ok {
				return
			}
		}
		return
	}
	x.nums.Ascend(numEnt{c.Min, lowest}, func(e numEnt) bool {
		if e.v > c.Max || (c.MaxOpen && e.v == c.Max) {
			return false
		}
		if c.MinOpen && e.v == c.Min {
			return true
		}
		return fn(e.r)
	})
}
