package embedded

import (
	"slices"

	"github.com/qala-city/qala/internal/ngsild"
)

// scanIndex computes an entity's index entries straight from its encoding,
// decoding only GeoProperty values: rebuilding the indexes at startup this
// way costs a fraction of full decoding. It agrees with indexKeys on the
// decoded entity (checked by a test).
func scanIndex(syms *symbols, data []byte) (indexed, error) {
	syms.mu.RLock()
	d := decoder{b: data, names: syms.names}
	ix := d.scan()
	syms.mu.RUnlock()
	if d.err != nil {
		return indexed{}, d.err
	}
	vals, err := valuesOf(data, nil, false)
	if err != nil {
		return indexed{}, err
	}
	ix.vals = vals
	return ix, nil
}

func (d *decoder) scan() indexed {
	var ix indexed
	if d.byte() != codecVersion {
		d.fail()
		return ix
	}
	nt := d.count()
	all := make([]uint32, 0, nt+8)
	for i := 0; i < nt && d.err == nil; i++ {
		all = append(all, d.symID())
	}
	slices.Sort(all)
	all = slices.Compact(all)
	ix.ntypes = int32(len(all))
	for n, i := d.count(), 0; i < n && d.err == nil; i++ {
		d.skipStr()
	}
	d.time()
	d.time()
	d.time()
	for n, i := d.count(), 0; i < n && d.err == nil; i++ {
		name := d.symID()
		all = append(all, name)
		ak := attrKinds{attr: name}
		for k, j := d.count(), 0; j < k && d.err == nil; j++ {
			if len(d.b) > 0 {
				ak.n++
				ak.kinds |= kindBit(ngsild.AttrType(d.b[0]))
			}
			if v, ok := d.scanAttr(0, true); ok {
				if g, ok := geoBoxOf(name, v); ok {
					ix.geo = append(ix.geo, g)
				}
			}
		}
		ix.kinds = append(ix.kinds, ak)
	}
	slices.Sort(all[ix.ntypes:])
	sortKinds(ix.kinds)
	ix.syms = all
	return ix
}

func (d *decoder) symID() uint32 {
	x := d.uvarint()
	if x >= uint64(len(d.names)) {
		d.fail()
		return 0
	}
	return uint32(x)
}

// scanAttr skips one attribute, returning its value when it is a
// GeoProperty's and wantGeo is set. Like skipValue, it needs no symbol table.
func (d *decoder) scanAttr(depth int, wantGeo bool) (geo any, isGeo bool) {
	if depth > maxDepth {
		d.fail()
		return nil, false
	}
	typ := ngsild.AttrType(d.byte())
	flags := d.uvarint()
	if flags&fValue != 0 {
		if wantGeo && typ == ngsild.GeoProperty && depth == 0 {
			geo, isGeo = d.value(0), true
		} else {
			d.skipValue(0)
		}
	}
	if flags&fLangMap != 0 {
		for n, i := d.count(), 0; i < n && d.err == nil; i++ {
			d.skipStr()
			d.skipValue(0)
		}
	}
	if flags&fObject != 0 {
		d.skipValue(0)
	}
	d.skipAttrTail(flags, depth)
	return geo, isGeo
}

// skipAttrTail skips the members of an attribute that follow its object:
// objectType, datasetId, times, unitCode and sub-attributes.
func (d *decoder) skipAttrTail(flags uint64, depth int) {
	if flags&fObjectType != 0 {
		d.skipValue(0)
	}
	if flags&fDatasetID != 0 {
		d.skipStr()
	}
	for _, f := range []uint64{fObservedAt, fUnitCode, fCreatedAt, fModifiedAt, fDeletedAt} {
		if flags&f == 0 {
			continue
		}
		if f == fUnitCode {
			d.skipStr()
		} else {
			d.time()
		}
	}
	if flags&fSub != 0 {
		for n, i := d.count(), 0; i < n && d.err == nil; i++ {
			d.uvarint()
			d.scanAttr(depth+1, false)
		}
	}
}

// skipStr skips a str (a symbol reference or an inline string).
func (d *decoder) skipStr() {
	if x := d.uvarint(); x&1 == 1 {
		d.bytes(int(min(x>>1, uint64(len(d.b)+1))))
	}
}

func (d *decoder) skipValue(depth int) {
	if depth > maxDepth {
		d.fail()
		return
	}
	switch d.byte() {
	case tagNil, tagFalse, tagTrue:
	case tagInt:
		d.varint()
	case tagFloat:
		d.bytes(8)
	case tagString, tagJSON:
		d.bytes(d.count())
	case tagArray:
		for n, i := d.count(), 0; i < n && d.err == nil; i++ {
			d.skipValue(depth + 1)
		}
	case tagObject:
		for n, i := d.count(), 0; i < n && d.err == nil; i++ {
			d.skipStr()
			d.skipValue(depth + 1)
		}
	default:
		d.fail()
	}
}
