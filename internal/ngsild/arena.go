package ngsild

import "sync"

// arena hands out the Docs of a renderer from one backing array, so that
// rendering a page of entities straight to bytes (RenderEach) allocates no
// Doc per entity, attribute and sub-attribute. A Doc taken from it has a
// capped capacity: growing past it moves the Doc to the heap, never over a
// neighbour.
type arena struct {
	buf  []Member
	hdrs []Doc    // the Docs boxed as *Doc attribute values
	strs []string // the strings boxed as *string member values
}

// arenaChunk is the size of a fresh backing array: a page entity of ten
// attributes uses ~120 members.
const arenaChunk = 1024

func (a *arena) doc(n int) Doc {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]Member, 0, max(n, arenaChunk))
	}
	l := len(a.buf)
	a.buf = a.buf[:l+n]
	return Doc(a.buf[l : l : l+n])
}

// box keeps d in the arena and returns a pointer to it, which an
// interface holds without allocating; appendValue encodes *Doc like Doc.
func (a *arena) box(d Doc) any {
	if len(a.hdrs) == cap(a.hdrs) {
		a.hdrs = make([]Doc, 0, arenaChunk/8)
	}
	a.hdrs = append(a.hdrs, d)
	return &a.hdrs[len(a.hdrs)-1]
}

// str keeps s in the arena and returns a pointer to it; appendValue
// encodes *string like string.
func (a *arena) str(s string) any {
	if len(a.strs) == cap(a.strs) {
		a.strs = make([]string, 0, arenaChunk/8)
	}
	a.strs = append(a.strs, s)
	return &a.strs[len(a.strs)-1]
}

// reset makes every Doc handed out invalid and the room reusable.
func (a *arena) reset() {
	clear(a.buf)
	a.buf = a.buf[:0]
	clear(a.hdrs)
	a.hdrs = a.hdrs[:0]
	clear(a.strs)
	a.strs = a.strs[:0]
}

var arenaPool = sync.Pool{New: func() any { return new(arena) }}

// RenderEach renders each entity of es as Render(e, o) does and passes its
// Doc to fn, stopping at the first error. The Doc, and every Doc inside it,
// is valid only during the call: their memory is reused for the next
// entity. Encode it (Doc.AppendJSON) inside fn; values reached through it
// that come from the entity itself stay valid.
func RenderEach(es []*Entity, o RenderOptions, fn func(Doc) error) error {
	a := arenaPool.Get().(*arena)
	defer func() {
		a.reset()
		if cap(a.buf) <= 4*arenaChunk && cap(a.hdrs) <= arenaChunk && cap(a.strs) <= arenaChunk {
			arenaPool.Put(a)
		}
	}()
	r := newRenderer(&o)
	r.arena = a
	for _, e := range es {
		err := fn(r.entity(e, o.IncludeContext, true))
		a.reset()
		if err != nil {
			return err
		}
	}
	return nil
}
