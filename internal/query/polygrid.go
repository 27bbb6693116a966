package query

import (
	"math"

	"github.com/qala-city/qala/internal/geo"
)

// polyGrid is an area (the polygons of a Polygon or MultiPolygon) prepared
// for point tests: a grid over its bounding box whose cells are marked
// inside, outside, or near an edge. A point in an inside or outside cell is
// answered from the cell; one in an edge cell (a small share, along the
// borders) by the plain test, coversPoint.
//
// Why a cell's answer is exact: a cell is marked near an edge when it,
// grown by gridMargin, meets the bounding box of some edge. Every point of
// an unmarked cell is then at least gridMargin (1e-9°, far beyond the
// rounding of the plane tests, ~1e-13° at city coordinates) from every
// edge: onSegment is false there, and the even-odd count of inRing is the
// same over the whole cell and over any two adjacent unmarked cells (they
// form a connected region that no edge meets). The grid tests one point of
// each run of such cells with coversPoint and gives its answer to the run.
type polyGrid struct {
	src                            geo.Geometry // the area prepared
	shape                          shape
	minLon, minLat, maxLon, maxLat float64 // the grid's extent
	nx, ny                         int
	sx, sy                         float64 // cells per degree
	cells                          []uint8
}

const (
	cellUnknown uint8 = iota
	cellEdge
	cellIn
	cellOut
)

// gridMargin is the distance (degrees) kept between an edge and a cell
// answered without the plain test.
const gridMargin = 1e-9

// Bounds of grid preparation: an area with fewer edges is tested plainly
// (a grid would not pay); the grid has about gridCellsPerEdge cells per
// edge, at most gridMaxCells.
const (
	gridMinEdges     = 24
	gridCellsPerEdge = 8
	gridMaxCells     = 1 << 16
)

// gridBudget bounds the work of preparing one area (cells marked, plus
// edges visited by the plain tests of classify): ~10 ms. A contrived area
// (many edges, many separate runs of unmarked cells) that would need more
// is left unprepared, and tested plainly.
const gridBudget = 4 << 20

// newPolyGrid prepares the area g (Polygon or MultiPolygon); nil when g is
// not an area, is too simple for a grid to pay, or is degenerate.
func newPolyGrid(g geo.Geometry) *polyGrid {
	if g.Type != geo.Polygon && g.Type != geo.MultiPolygon {
		return nil
	}
	pg := &polyGrid{src: g}
	pg.shape.add(g)
	edges := 0
	b := geo.BBox{MinLon: math.Inf(1), MinLat: math.Inf(1), MaxLon: math.Inf(-1), MaxLat: math.Inf(-1)}
	for i := range pg.shape.numPolys() {
		for _, r := range pg.shape.polyAt(i) {
			edges += max(len(r)-1, 0)
			for _, p := range r {
				b.MinLon, b.MaxLon = math.Min(b.MinLon, p.Lon), math.Max(b.MaxLon, p.Lon)
				b.MinLat, b.MaxLat = math.Min(b.MinLat, p.Lat), math.Max(b.MaxLat, p.Lat)
			}
		}
	}
	w, h := b.MaxLon-b.MinLon, b.MaxLat-b.MinLat
	if edges < gridMinEdges || !(w > 0) || !(h > 0) || math.IsInf(w, 0) || math.IsInf(h, 0) {
		return nil
	}
	pg.minLon, pg.minLat = b.MinLon-2*gridMargin, b.MinLat-2*gridMargin
	pg.maxLon, pg.maxLat = b.MaxLon+2*gridMargin, b.MaxLat+2*gridMargin
	w, h = pg.maxLon-pg.minLon, pg.maxLat-pg.minLat
	target := float64(min(gridMaxCells, edges*gridCellsPerEdge))
	pg.nx = int(math.Max(1, math.Min(1024, math.Ceil(math.Sqrt(target*w/h)))))
	pg.ny = int(math.Max(1, math.Min(1024, math.Ceil(target/float64(pg.nx)))))
	pg.sx, pg.sy = float64(pg.nx)/w, float64(pg.ny)/h
	pg.cells = make([]uint8, pg.nx*pg.ny)
	work := 0
	for i := range pg.shape.numPolys() {
		for _, r := range pg.shape.polyAt(i) {
			for k := 1; k < len(r); k++ {
				if work += pg.markEdge(r[k-1], r[k]); work > gridBudget {
					return nil
				}
			}
		}
	}
	if !pg.classify(edges, gridBudget-work) {
		return nil
	}
	return pg
}

// col and row return the cell column and row of a longitude and latitude,
// clamped to the grid.
func (pg *polyGrid) col(lon float64) int {
	return min(max(int((lon-pg.minLon)*pg.sx), 0), pg.nx-1)
}

func (pg *polyGrid) row(lat float64) int {
	return min(max(int((lat-pg.minLat)*pg.sy), 0), pg.ny-1)
}

// markEdge marks the cells that, grown by gridMargin, meet the box of the
// edge a–b: column by column, the rows of the part of a–b in the column.
// It returns the number of cells it visited.
func (pg *polyGrid) markEdge(a, b geo.Pos) (visited int) {
	if a.Lon > b.Lon {
		a, b = b, a
	}
	i0, i1 := pg.col(a.Lon-gridMargin), pg.col(b.Lon+gridMargin)
	for i := i0; i <= i1; i++ {
		// The column's longitudes, grown, clipped to the edge's.
		x0 := math.Max(a.Lon, pg.minLon+float64(i)/pg.sx-gridMargin)
		x1 := math.Min(b.Lon, pg.minLon+float64(i+1)/pg.sx+gridMargin)
		lo, hi := math.Min(a.Lat, b.Lat), math.Max(a.Lat, b.Lat)
		if dx := b.Lon - a.Lon; dx > 0 && x0 <= x1 {
			t0, t1 := (x0-a.Lon)/dx, (x1-a.Lon)/dx
			y0, y1 := a.Lat+t0*(b.Lat-a.Lat), a.Lat+t1*(b.Lat-a.Lat)
			lo, hi = math.Max(lo, math.Min(y0, y1)), math.Min(hi, math.Max(y0, y1))
		}
		j0, j1 := pg.row(lo-gridMargin), pg.row(hi+gridMargin)
		for j := j0; j <= j1; j++ {
			pg.cells[j*pg.nx+i] = cellEdge
		}
		visited += j1 - j0 + 2
	}
	return visited
}

// classify gives every unmarked cell its answer: that of the neighbour to
// its left or below when unmarked, else that of coversPoint at its centre.
// It gives up (false) when the plain tests would visit more than budget
// edges in all.
func (pg *polyGrid) classify(edges, budget int) bool {
	for j := range pg.ny {
		for i := range pg.nx {
			c := &pg.cells[j*pg.nx+i]
			if *c == cellEdge {
				continue
			}
			switch {
			case i > 0 && pg.cells[j*pg.nx+i-1] != cellEdge:
				*c = pg.cells[j*pg.nx+i-1]
			case j > 0 && pg.cells[(j-1)*pg.nx+i] != cellEdge:
				*c = pg.cells[(j-1)*pg.nx+i]
			default:
				if budget -= edges; budget < 0 {
					return false
				}
				centre := geo.Pos{Lon: pg.minLon + (float64(i)+0.5)/pg.sx, Lat: pg.minLat + (float64(j)+0.5)/pg.sy}
				*c = cellOut
				if pg.shape.coversPoint(centre) {
					*c = cellIn
				}
			}
		}
	}
	return true
}

// covers reports whether p lies in the area (borders included): what
// coversPoint of its shape reports.
func (pg *polyGrid) covers(p geo.Pos) bool {
	if !(p.Lon >= pg.minLon && p.Lon <= pg.maxLon && p.Lat >= pg.minLat && p.Lat <= pg.maxLat) {
		// Beyond the grown box every edge is far: outside (NaN falls
		// through to the plain test).
		if !math.IsNaN(p.Lon) && !math.IsNaN(p.Lat) {
			return false
		}
		return pg.shape.coversPoint(p)
	}
	switch pg.cells[pg.row(p.Lat)*pg.nx+pg.col(p.Lon)] {
	case cellIn:
		return true
	case cellOut:
		return false
	}
	return pg.shape.coversPoint(p)
}
