package embedded

import "hash/maphash"

// idIndex finds a tenant's recs by id. A map keyed by the ids themselves
// would hold a pointer to every entity's body (where its id lives): a
// million pointers to a million small objects, which every garbage
// collection cycle visits at the cost of a cache miss each. So it is keyed
// by a hash of the id; an id whose hash another id took first is kept in
// overflow, keyed by the id (rare: 64-bit hashes of a million ids collide
// with a probability of about 3e-8).
type idIndex struct {
	seed     maphash.Seed
	byHash   map[uint64]*rec
	overflow map[string]*rec
	hashOf   func(string) uint64 // tests force collisions with it; nil: maphash
}

func newIDIndex() idIndex {
	return idIndex{seed: maphash.MakeSeed(), byHash: make(map[uint64]*rec), overflow: make(map[string]*rec)}
}

func (x *idIndex) hash(id string) uint64 {
	if x.hashOf != nil {
		return x.hashOf(id)
	}
	return maphash.String(x.seed, id)
}

// get returns the rec of id, or nil.
func (x *idIndex) get(id string) *rec {
	if r := x.byHash[x.hash(id)]; r != nil && r.id == id {
		return r
	}
	if len(x.overflow) == 0 {
		return nil
	}
	return x.overflow[id]
}

// set enters r under r.id, or, if it is there already, makes the entry
// refer to r.id as it is now (an overflow key must not keep an old body
// alive).
func (x *idIndex) set(r *rec) {
	h := x.hash(r.id)
	switch o := x.byHash[h]; {
	case o == nil:
		x.byHash[h] = r
	case o != r:
		delete(x.overflow, r.id)
		x.overflow[r.id] = r
	}
}

// delete removes r.
func (x *idIndex) delete(r *rec) {
	h := x.hash(r.id)
	if x.byHash[h] == r {
		delete(x.byHash, h)
		return
	}
	delete(x.overflow, r.id)
}

// len returns the number of recs.
func (x *idIndex) len() int { return len(x.byHash) + len(x.overflow) }
