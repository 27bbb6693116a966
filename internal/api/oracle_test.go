package api_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// genEntity is one generated entity, kept as the Go values it was made of:
// the oracle answers queries from these, never through Qala's parsers or
// evaluator.
type genEntity struct {
	id, typ  string
	temp     *float64 // temperature
	acc      *float64 // temperature.accuracy (a sub-property)
	status   *string
	level    *int
	observed *time.Time // dateObserved, a DateTime string value
	city     *string    // address[city]
	zip      int
	loc      *[2]float64 // location: lon, lat
	scope    string      // "" for none
}

func (g *genEntity) doc() map[string]any {
	d := map[string]any{"id": g.id, "type": g.typ}
	if g.temp != nil {
		t := map[string]any{"type": "Property", "value": *g.temp}
		if g.acc != nil {
			t["accuracy"] = map[string]any{"type": "Property", "value": *g.acc}
		}
		d["temperature"] = t
	}
	if g.status != nil {
		d["status"] = map[string]any{"type": "Property", "value": *g.status}
	}
	if g.level != nil {
		d["level"] = map[string]any{"type": "Property", "value": *g.level}
	}
	if g.observed != nil {
		d["dateObserved"] = map[string]any{"type": "Property", "value": g.observed.Format(time.RFC3339)}
	}
	if g.city != nil {
		d["address"] = map[string]any{"type": "Property", "value": map[string]any{"city": *g.city, "zip": g.zip}}
	}
	if g.loc != nil {
		d["location"] = map[string]any{"type": "GeoProperty", "value": map[string]any{"type": "Point", "coordinates": []float64{g.loc[0], g.loc[1]}}}
	}
	if g.scope != "" {
		d["scope"] = g.scope
	}
	return d
}

var (
	oracleTypes    = []string{"Sensor", "Bus", "Shop"}
	oracleStatuses = []string{"ok", "fault", "idle", "Ok"}
	oracleCities   = []string{"Astana", "Almaty", "Shymkent"}
	oracleScopes   = []string{"/Astana/D1", "/Astana/D2", "/Astana/D1/S1", "/Astana/D1/S2", "/Almaty/D1"}
	oracleEpoch    = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

func generate(r *rand.Rand, n int) []*genEntity {
	round := func(x float64, d int) float64 { p := math.Pow10(d); return math.Round(x*p) / p }
	out := make([]*genEntity, n)
	for i := range out {
		g := &genEntity{typ: oracleTypes[[]int{0, 0, 0, 0, 0, 1, 1, 1, 2, 2}[r.IntN(10)]]}
		g.id = fmt.Sprintf("urn:ngsi-ld:%s:%05d", g.typ, i)
		if r.IntN(10) < 8 {
			t := round(-30+70*r.Float64(), 1)
			g.temp = &t
			if r.IntN(2) == 0 {
				a := round(r.Float64(), 2)
				g.acc = &a
			}
		}
		if r.IntN(10) < 7 {
			s := oracleStatuses[r.IntN(len(oracleStatuses))]
			g.status = &s
		}
		if r.IntN(10) < 6 {
			l := r.IntN(10)
			g.level = &l
		}
		if r.IntN(10) < 6 {
			t := oracleEpoch.Add(time.Duration(r.IntN(365*24*60)) * time.Minute)
			g.observed = &t
		}
		if r.IntN(2) == 0 {
			c := oracleCities[r.IntN(len(oracleCities))]
			g.city, g.zip = &c, 10000+r.IntN(90000)
		}
		if r.IntN(20) < 17 {
			g.loc = &[2]float64{round(71.3+0.3*r.Float64(), 6), round(51.05+0.15*r.Float64(), 6)}
		}
		if r.IntN(10) < 4 {
			g.scope = oracleScopes[r.IntN(len(oracleScopes))]
		}
		out[i] = g
	}
	return out
}

// haversine is the great-circle distance in metres on the sphere of the
// mean Earth radius, computed here independently of package geo.
func haversine(lon1, lat1, lon2, lat2 float64) float64 {
	const r = 6371008.8
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(math.Min(1, a)))
}

// oracleQuery is one generated query: its parameters and the predicate
// that answers it, plus the order when it asks for one.
type oracleQuery struct {
	params url.Values
	match  func(*genEntity) bool
	less   func(a, b *genEntity) int // nil: ascending id
}

// qTerm returns one random q term and its meaning.
func qTerm(r *rand.Rand, ents []*genEntity) (string, func(*genEntity) bool) {
	num := func() float64 { // often a value some entity has, so == and != bite
		if g := ents[r.IntN(len(ents))]; g.temp != nil && r.IntN(2) == 0 {
			return *g.temp
		}
		return math.Round((-30+70*r.Float64())*10) / 10
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	switch r.IntN(12) {
	case 0:
		ops := []string{">", ">=", "<", "<=", "==", "!="}
		op, v := ops[r.IntN(len(ops))], num()
		return "temperature" + op + f(v), func(g *genEntity) bool {
			if g.temp == nil {
				return false
			}
			t := *g.temp
			return map[string]bool{">": t > v, ">=": t >= v, "<": t < v, "<=": t <= v, "==": t == v, "!=": t != v}[op]
		}
	case 1:
		a, b := num(), num()
		if a > b {
			a, b = b, a
		}
		return "temperature==" + f(a) + ".." + f(b), func(g *genEntity) bool { return g.temp != nil && *g.temp >= a && *g.temp <= b }
	case 2:
		s := oracleStatuses[r.IntN(len(oracleStatuses))]
		if r.IntN(2) == 0 {
			return `status=="` + s + `"`, func(g *genEntity) bool { return g.status != nil && *g.status == s }
		}
		return `status!="` + s + `"`, func(g *genEntity) bool { return g.status != nil && *g.status != s }
	case 3:
		s1, s2 := oracleStatuses[r.IntN(4)], oracleStatuses[r.IntN(4)]
		return `status=="` + s1 + `","` + s2 + `"`, func(g *genEntity) bool { return g.status != nil && (*g.status == s1 || *g.status == s2) }
	case 4:
		set := map[int]bool{}
		var parts []string
		for range 1 + r.IntN(3) {
			l := r.IntN(10)
			set[l] = true
			parts = append(parts, strconv.Itoa(l))
		}
		return "level==" + strings.Join(parts, ","), func(g *genEntity) bool { return g.level != nil && set[*g.level] }
	case 5:
		switch r.IntN(3) {
		case 0:
			return "temperature", func(g *genEntity) bool { return g.temp != nil }
		case 1:
			return "!temperature", func(g *genEntity) bool { return g.temp == nil }
		}
		return "address", func(g *genEntity) bool { return g.city != nil }
	case 6:
		pat := []string{"^o", "(?i)^o", "l", "^[fi]"}[r.IntN(4)]
		re := regexp.MustCompile(pat)
		return "status~=" + pat, func(g *genEntity) bool { return g.status != nil && re.MatchString(*g.status) }
	case 7:
		t := oracleEpoch.Add(time.Duration(r.IntN(365*24)) * time.Hour)
		if r.IntN(2) == 0 {
			return "dateObserved>" + t.Format(time.RFC3339), func(g *genEntity) bool { return g.observed != nil && g.observed.After(t) }
		}
		return "dateObserved<=" + t.Format(time.RFC3339), func(g *genEntity) bool { return g.observed != nil && !g.observed.After(t) }
	case 8:
		c := oracleCities[r.IntN(len(oracleCities))]
		return `address[city]=="` + c + `"`, func(g *genEntity) bool { return g.city != nil && *g.city == c }
	case 9:
		z := 10000 + r.IntN(90000)
		return "address[zip]>=" + strconv.Itoa(z), func(g *genEntity) bool { return g.city != nil && g.zip >= z }
	case 10:
		x := math.Round(r.Float64()*100) / 100
		return "temperature.accuracy<" + f(x), func(g *genEntity) bool { return g.acc != nil && *g.acc < x }
	}
	return "level>=" + strconv.Itoa(r.IntN(10)), nil // filled below
}

func randomQuery(r *rand.Rand, ents []*genEntity) oracleQuery {
	p := url.Values{}
	var preds []func(*genEntity) bool
	// Type selection.
	types := map[string]bool{}
	var names []string
	for _, t := range oracleTypes {
		if r.IntN(2) == 0 {
			types[t], names = true, append(names, t)
		}
	}
	if len(names) == 0 {
		t := oracleTypes[r.IntN(3)]
		types[t], names = true, []string{t}
	}
	p.Set("type", strings.Join(names, ","))
	preds = append(preds, func(g *genEntity) bool { return types[g.typ] })
	// q: one term, or two joined by ";" or "|".
	if r.IntN(10) < 8 {
		s1, m1 := qTerm(r, ents)
		if m1 == nil {
			s1, m1 = "temperature>0", func(g *genEntity) bool { return g.temp != nil && *g.temp > 0 }
		}
		if r.IntN(2) == 0 {
			s2, m2 := qTerm(r, ents)
			if m2 == nil {
				s2, m2 = "temperature<0", func(g *genEntity) bool { return g.temp != nil && *g.temp < 0 }
			}
			if r.IntN(2) == 0 {
				p.Set("q", "("+s1+");("+s2+")")
				preds = append(preds, func(g *genEntity) bool { return m1(g) && m2(g) })
			} else {
				p.Set("q", s1+"|"+s2)
				preds = append(preds, func(g *genEntity) bool { return m1(g) || m2(g) })
			}
		} else {
			p.Set("q", s1)
			preds = append(preds, m1)
		}
	}
	// Geo-query: near a point, or within a box.
	if r.IntN(10) < 3 {
		lon, lat := 71.3+0.3*r.Float64(), 51.05+0.15*r.Float64()
		if r.IntN(2) == 0 {
			d := float64(200 + r.IntN(8000))
			for _, g := range ents { // keep clear of rounding at the border
				if g.loc != nil && math.Abs(haversine(lon, lat, g.loc[0], g.loc[1])-d) < 1 {
					d += 3
				}
			}
			p.Set("georel", "near;maxDistance=="+strconv.FormatFloat(d, 'f', -1, 64))
			p.Set("geometry", "Point")
			p.Set("coordinates", fmt.Sprintf("[%g,%g]", lon, lat))
			preds = append(preds, func(g *genEntity) bool { return g.loc != nil && haversine(lon, lat, g.loc[0], g.loc[1]) <= d })
		} else {
			w, h := 0.02+0.1*r.Float64(), 0.02+0.05*r.Float64()
			p.Set("georel", "within")
			p.Set("geometry", "Polygon")
			p.Set("coordinates", fmt.Sprintf("[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]", lon, lat, lon+w, lat, lon+w, lat+h, lon, lat+h, lon, lat))
			preds = append(preds, func(g *genEntity) bool {
				return g.loc != nil && g.loc[0] > lon && g.loc[0] < lon+w && g.loc[1] > lat && g.loc[1] < lat+h
			})
		}
	}
	if r.IntN(10) < 2 {
		d := r.IntN(10)
		p.Set("idPattern", fmt.Sprintf(`:0*\d*%d$`, d))
		suffix := strconv.Itoa(d)
		preds = append(preds, func(g *genEntity) bool { return strings.HasSuffix(g.id, suffix) })
	}
	if r.IntN(10) < 2 {
		switch r.IntN(3) {
		case 0:
			s := oracleScopes[r.IntN(len(oracleScopes))]
			p.Set("scopeQ", s)
			preds = append(preds, func(g *genEntity) bool { return g.scope == s })
		case 1:
			p.Set("scopeQ", "/Astana/D1/#")
			preds = append(preds, func(g *genEntity) bool {
				return g.scope == "/Astana/D1" || strings.HasPrefix(g.scope, "/Astana/D1/")
			})
		default:
			p.Set("scopeQ", "/Astana/+")
			preds = append(preds, func(g *genEntity) bool {
				rest, ok := strings.CutPrefix(g.scope, "/Astana/")
				return ok && rest != "" && !strings.Contains(rest, "/")
			})
		}
	}
	q := oracleQuery{params: p, match: func(g *genEntity) bool {
		for _, f := range preds {
			if !f(g) {
				return false
			}
		}
		return true
	}}
	// Ordering (clause 4.23 of v1.9): absent values last, ties by id.
	if r.IntN(10) < 3 {
		if r.IntN(2) == 0 {
			p.Set("orderBy", "temperature;desc")
			q.less = func(a, b *genEntity) int {
				if c := cmpPresent(a.temp, b.temp); c != 0 || a.temp == nil {
					return c
				}
				return cmp.Compare(*b.temp, *a.temp)
			}
		} else {
			p.Set("orderBy", "level,dateObserved;desc")
			q.less = func(a, b *genEntity) int {
				c := cmpPresent(a.level, b.level)
				if c == 0 && a.level != nil {
					c = cmp.Compare(*a.level, *b.level)
				}
				if c != 0 {
					return c
				}
				c = cmpPresent(a.observed, b.observed)
				if c == 0 && a.observed != nil {
					c = b.observed.Compare(*a.observed)
				}
				return c
			}
		}
	}
	return q
}

// cmpPresent orders a present value before a missing one.
func cmpPresent[T any](a, b *T) int {
	switch {
	case a != nil && b == nil:
		return -1
	case a == nil && b != nil:
		return 1
	}
	return 0
}

// TestQueriesAgainstOracle loads a few thousand random entities (numbers,
// strings, date-times, compound values, sub-properties, points, scopes)
// into a real server over HTTP, runs random queries of type selection, q,
// geo-queries, idPattern, scopeQ and orderBy through GET /entities page by
// page, and compares the ids and NGSILD-Results-Count with answers computed
// directly from the generated values. Seeded and bounded in count.
func TestQueriesAgainstOracle(t *testing.T) {
	const nEntities, nQueries = 2000, 120
	seed := uint64(20261205)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	srv := newTestServer(t)
	ents := generate(r, nEntities)
	for i := 0; i < len(ents); i += 100 {
		var docs []map[string]any
		for _, g := range ents[i:min(i+100, len(ents))] {
			docs = append(docs, g.doc())
		}
		body, _ := json.Marshal(docs)
		resp, b := do(t, "POST", srv.URL+"/ngsi-ld/v1/entityOperations/create", "application/json", string(body))
		if resp.StatusCode != 201 {
			t.Fatalf("load: %d %s", resp.StatusCode, b)
		}
	}
	nonEmpty := 0
	for i := range nQueries {
		q := randomQuery(r, ents)
		var want []*genEntity
		for _, g := range ents {
			if q.match(g) {
				want = append(want, g)
			}
		}
		slices.SortFunc(want, func(a, b *genEntity) int {
			if q.less != nil {
				if c := q.less(a, b); c != 0 {
					return c
				}
			}
			return strings.Compare(a.id, b.id)
		})
		wantIDs := make([]string, len(want))
		for j, g := range want {
			wantIDs[j] = g.id
		}
		if len(want) > 0 {
			nonEmpty++
		}
		limit := []int{7, 50, 100}[r.IntN(3)]
		got, count := fetchAll(t, srv.URL, q.params, limit)
		if count != len(wantIDs) {
			t.Errorf("query %d %s: NGSILD-Results-Count %d, oracle %d", i, q.params.Encode(), count, len(wantIDs))
		}
		if !slices.Equal(got, wantIDs) {
			t.Errorf("query %d %s (limit %d): got %d ids, oracle %d\nfirst difference: %s", i, q.params.Encode(), limit, len(got), len(wantIDs), firstDiff(got, wantIDs))
		}
	}
	if nonEmpty < nQueries/3 {
		t.Errorf("only %d of %d queries matched anything: the generator no longer exercises the evaluator", nonEmpty, nQueries)
	}
}

// fetchAll pages through GET /entities with pick=id and returns the ids in
// the order served and the count of the first page.
func fetchAll(t *testing.T, base string, params url.Values, limit int) ([]string, int) {
	t.Helper()
	var ids []string
	count := -1
	for offset := 0; ; offset += limit {
		p := url.Values{}
		for k, v := range params {
			p[k] = v
		}
		p.Set("pick", "id")
		p.Set("limit", strconv.Itoa(limit))
		p.Set("offset", strconv.Itoa(offset))
		if offset == 0 {
			p.Set("count", "true")
		}
		resp, b := do(t, "GET", base+"/ngsi-ld/v1/entities?"+p.Encode(), "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", p.Encode(), resp.StatusCode, b)
		}
		if offset == 0 {
			n, err := strconv.Atoi(resp.Header.Get("NGSILD-Results-Count"))
			if err != nil {
				t.Fatalf("NGSILD-Results-Count %q", resp.Header.Get("NGSILD-Results-Count"))
			}
			count = n
		}
		var page []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("page: %v: %s", err, b)
		}
		for _, e := range page {
			ids = append(ids, e.ID)
		}
		if len(page) < limit || offset > 100000 {
			return ids, count
		}
	}
}

func firstDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("at %d: got %q, oracle %q", i, g, w)
		}
	}
	return "none"
}
