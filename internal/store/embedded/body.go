package embedded

import (
	"unsafe"
)

// body is what a rec holds of one version of its entity. Everything but the
// id lives in ONE allocation without pointers (so the garbage collector
// marks it without scanning it), laid out in 8-byte words as
//
//	geo   ngeo × geoBox   the boxes of its GeoProperty instances, as in the R-trees
//	nums  nnum × numVal   its numeric value-index entries, by attribute then value
//	syms  nsyms × uint32  type symbols, then attribute-name symbols; each part sorted
//	data  dataLen bytes   the entity's encoding (codec.go)
//	id    idLen bytes     the entity id (rec.id points here)
//
// A million entities thus take two heap objects each (rec and its body)
// instead of one per slice and string. The numbers let a walk check value
// conditions without reading the encoding, which is the costly part of a
// candidate (several cache lines, cold on a large store). An entity with more
// than maxInlineNums numbers keeps none inline (numOverflow) and is checked on
// its encoding.
type body struct {
	p       unsafe.Pointer
	idLen   uint32
	dataLen uint32
	nsyms   uint32
	ntypes  uint32
	ngeo    uint32
	nnum    uint32
}

// numVal is one inline number of an entity.
type numVal struct {
	v    float64
	attr uint32
}

const (
	maxInlineNums = 32
	numOverflow   = 1 << 31
)

// newBody lays id, data and ix out in one allocation.
func newBody(id string, data []byte, ix *indexed) body {
	b := body{idLen: uint32(len(id)), dataLen: uint32(len(data)), nsyms: uint32(len(ix.syms)), ntypes: uint32(ix.ntypes), ngeo: uint32(len(ix.geo))}
	var nums int
	for _, k := range ix.vals {
		if !k.isStr {
			nums++
		}
	}
	if nums > maxInlineNums {
		b.nnum, nums = numOverflow, 0
	} else {
		b.nnum = uint32(nums)
	}
	words := len(ix.geo)*geoWords + nums*numWords + (len(ix.syms)+1)/2 + (len(data)+len(id)+7)/8
	if words == 0 {
		return b
	}
	mem := make([]uint64, words)
	b.p = unsafe.Pointer(&mem[0])
	copy(b.geo(), ix.geo)
	ns := b.nums()
	for _, k := range ix.vals {
		if !k.isStr && len(ns) > 0 {
			ns[0] = numVal{v: k.num, attr: k.attr}
			ns = ns[1:]
		}
	}
	copy(b.syms(), ix.syms)
	copy(b.data(), data)
	copy(unsafe.Slice((*byte)(b.idAt()), b.idLen), id)
	return b
}

const (
	geoWords = int(unsafe.Sizeof(geoBox{}) / 8)
	numWords = int(unsafe.Sizeof(numVal{}) / 8)
)

func (b *body) numCount() int {
	if b.nnum == numOverflow {
		return 0
	}
	return int(b.nnum)
}

func (b *body) at(words int) unsafe.Pointer { return unsafe.Add(b.p, words*8) }

func (b *body) geo() []geoBox {
	if b.ngeo == 0 {
		return nil
	}
	return unsafe.Slice((*geoBox)(b.p), b.ngeo)
}

func (b *body) nums() []numVal {
	n := b.numCount()
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*numVal)(b.at(int(b.ngeo)*geoWords)), n)
}

func (b *body) symsOffset() int { return int(b.ngeo)*geoWords + b.numCount()*numWords }

func (b *body) syms() []uint32 {
	if b.nsyms == 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(b.at(b.symsOffset())), b.nsyms)
}

func (b *body) dataAt() unsafe.Pointer { return b.at(b.symsOffset() + (int(b.nsyms)+1)/2) }

func (b *body) data() []byte {
	if b.dataLen == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(b.dataAt()), b.dataLen)
}

func (b *body) idAt() unsafe.Pointer { return unsafe.Add(b.dataAt(), b.dataLen) }

// id returns the entity id held in the body.
func (b *body) id() string {
	if b.idLen == 0 {
		return ""
	}
	return unsafe.String((*byte)(b.idAt()), b.idLen)
}

func (b *body) types() []uint32 { return b.syms()[:b.ntypes] }
func (b *body) attrs() []uint32 { return b.syms()[b.ntypes:] }

// numsOf returns the inline numbers of attribute attr, and false when the
// entity keeps its numbers in its encoding only.
func (b *body) numsOf(attr uint32) ([]numVal, bool) {
	if b.nnum == numOverflow {
		return nil, false
	}
	ns := b.nums()
	i := 0
	for i < len(ns) && ns[i].attr < attr {
		i++
	}
	j := i
	for j < len(ns) && ns[j].attr == attr {
		j++
	}
	return ns[i:j], true
}
