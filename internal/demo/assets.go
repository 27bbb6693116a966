package demo

import (
	"fmt"
	"strings"
	"time"
)

// installedBase is the earliest installation date given to simulated devices.
var installedBase = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)

// dataProvider names the origin of simulated readings.
const dataProvider = "Qala demo city (simulated readings)"

// installed draws a deterministic installation date between 2021 and 2024.
func (gen *generator) installed() map[string]any {
	return dateTime(installedBase.Add(time.Duration(gen.rng.IntN(4*365)) * 24 * time.Hour))
}

// areas adds the city and its five districts as AdministrativeArea entities.
func (gen *generator) areas() {
	g := gen.city.geo
	city := &asset{
		kind: kindStatic, typ: "AdministrativeArea", id: "urn:ngsi-ld:AdministrativeArea:astana",
		idx: uint64(len(gen.city.assets)), at: point{cityLon, cityLat},
		static: map[string]any{
			"name":          langProp("Astana", "Астана", "Астана"),
			"alternateName": prop("Astana"),
			"description":   prop("City of Astana, capital of Kazakhstan (OSM relation 3087155). " + Attribution),
			"location":      map[string]any{"type": "GeoProperty", "value": g.BoundaryGeom.value()},
			"population":    observed(1502102.0, time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)),
			"source":        prop("https://www.openstreetmap.org/relation/3087155"),
		},
	}
	gen.city.assets = append(gen.city.assets, city)
	for _, d := range g.Districts {
		rels := make([]string, len(d.OSMRelations))
		for i, r := range d.OSMRelations {
			rels[i] = fmt.Sprintf("https://www.openstreetmap.org/relation/%d", r)
		}
		a := &asset{
			kind: kindStatic, typ: "AdministrativeArea", id: "urn:ngsi-ld:AdministrativeArea:astana-" + d.Key,
			district: d.Key, idx: uint64(len(gen.city.assets)), at: d.Label,
			static: map[string]any{
				"name":             langProp(d.NameEN, d.NameKK, d.NameRU),
				"alternateName":    prop(d.NameEN),
				"description":      prop(d.NameEN + " district of Astana. " + Attribution),
				"location":         map[string]any{"type": "GeoProperty", "value": d.Geometry.value()},
				"area":             map[string]any{"type": "Property", "value": d.AreaKm2, "unitCode": "KMK"},
				"containedInPlace": rel(city.id),
				"source":           prop(strings.Join(rels, " ")),
			},
		}
		gen.city.assets = append(gen.city.assets, a)
	}
}

// landmarks adds the 12 landmarks as PointOfInterest entities.
func (gen *generator) landmarks() {
	g := gen.city.geo
	for _, l := range g.Landmarks {
		d := g.district(l.District)
		a := &asset{
			kind: kindStatic, typ: "PointOfInterest", id: "urn:ngsi-ld:PointOfInterest:astana-" + l.District + "-" + l.Key,
			district: l.District, idx: uint64(len(gen.city.assets)), at: l.At,
			static: map[string]any{
				"name":          langProp(l.NameEN, l.NameKK, l.NameRU),
				"alternateName": prop(l.NameEN),
				"category":      prop(strs(l.Category)),
				"location":      geoPoint(l.At),
				"address":       address(d, ""),
				"areaServed":    prop(d.NameEN),
				"description":   prop("Position accuracy: " + l.Accuracy + ". Source: " + l.Source),
			},
		}
		gen.city.assets = append(gen.city.assets, a)
	}
}

// malls adds each mall as a Building with an OffStreetParking car park and its sensored
// ParkingSpots.
func (gen *generator) malls() {
	g := gen.city.geo
	weights, total := make([]int, len(g.Malls)), 0
	for i, m := range g.Malls {
		weights[i] = 2 + m.Levels
		total += weights[i]
	}
	assigned := 0
	for i, m := range g.Malls {
		d := g.district(m.District)
		street := strings.TrimSpace(m.Street + " " + m.House)
		b := gen.add(kindBuilding, "Building", d.Key, m.Centroid)
		b.capacity = 600 * m.Levels
		b.static["location"] = map[string]any{"type": "GeoProperty", "value": m.Geometry.value()}
		b.static["name"] = prop(m.Name)
		b.static["category"] = prop(strs("commercial", "retail"))
		b.static["address"] = address(d, street)
		b.static["areaServed"] = prop(d.NameEN)
		b.static["floorsAboveGround"] = prop(float64(m.Levels))
		b.static["description"] = prop("Shopping centre; footprint from OpenStreetMap " + m.OSMID + ". " + Attribution)
		b.static["source"] = prop("https://www.openstreetmap.org/" + m.OSMID)

		// The car park sits next to the mall, about 80 m to the south.
		dx, dy := metresToDegrees(0, -80)
		at, pd := gen.near(point{m.Centroid[0] + dx, m.Centroid[1] + dy}, 10)
		p := gen.add(kindOffStreetParking, "OffStreetParking", pd.Key, at)
		n := numParkingSpots * weights[i] / total
		if i == len(g.Malls)-1 {
			n = numParkingSpots - assigned
		}
		assigned += n
		p.static["name"] = prop(m.Name + " parking")
		p.static["category"] = prop(strs("forCustomers", "feeCharged"))
		p.static["allowedVehicleType"] = prop(strs("car"))
		p.static["occupancyDetectionType"] = prop(strs("singleSpaceDetection"))
		p.static["address"] = address(d, street)
		p.static["areaServed"] = prop(d.NameEN)
		p.static["totalSpotNumber"] = prop(float64(n))
		p.capacity = n

		for k := range n {
			east, north := float64(k%12)*2.6-14, -float64(k/12)*6
			dx, dy := metresToDegrees(east, north)
			sp := roundPoint(point{at[0] + dx, at[1] + dy})
			sd := g.district(g.districtAt(sp))
			if sd == nil || !g.Boundary.contains(sp) {
				sp, sd = at, pd
			}
			s := gen.add(kindParkingSpot, "ParkingSpot", sd.Key, sp)
			s.static["name"] = prop(fmt.Sprintf("P-%03d", k+1))
			s.static["category"] = prop(strs("offStreet"))
			s.static["refParkingSite"] = rel(p.id)
			s.static["areaServed"] = prop(sd.NameEN)
			s.static["width"] = map[string]any{"type": "Property", "value": 2.5, "unitCode": "MTR"}
			s.static["length"] = map[string]any{"type": "Property", "value": 5.0, "unitCode": "MTR"}
			s.period = time.Duration(20+gen.rng.IntN(100)) * time.Minute
			p.spots = append(p.spots, s)
		}
	}
}

// device adds the Device entity that produces a sensor's readings and links the sensor to it.
func (gen *generator) device(sensor *asset, d *district, model string, props ...string) {
	dev := gen.add(kindStatic, "Device", d.Key, sensor.at)
	dev.static["name"] = prop(fmt.Sprintf("%s %s", model, strings.TrimPrefix(dev.id, "urn:ngsi-ld:Device:")))
	dev.static["category"] = prop(strs("sensor"))
	dev.static["controlledProperty"] = prop(strs(props...))
	dev.static["deviceState"] = prop("ok")
	dev.static["serialNumber"] = prop(fmt.Sprintf("QD-%06d", 100000+gen.rng.IntN(900000)))
	dev.static["dateInstalled"] = prop(gen.installed())
	dev.static["address"] = address(d, "")
	dev.static["areaServed"] = prop(d.NameEN)
	sensor.static["refDevice"] = rel(dev.id)
}

// coalFactor scales heating emissions: the right-bank districts with private houses burning
// coal are worse than the new left bank.
var coalFactor = map[string]float64{"saryarka": 1.25, "almaty": 1.2, "baikonur": 1.15, "yesil": 0.9, "nura": 0.85}

// environment adds air-quality and weather stations, each with its Device.
func (gen *generator) environment() {
	g := gen.city.geo
	for range numAirQuality {
		d := gen.pickDistrict()
		a := gen.add(kindAirQuality, "AirQualityObserved", d.Key, gen.pointIn(d, 0.6, 1500))
		a.scale = coalFactor[d.Key] * (0.85 + 0.3*gen.rng.Float64())
		a.static["name"] = prop("Air quality station " + strings.TrimPrefix(a.id, "urn:ngsi-ld:AirQualityObserved:"))
		a.static["address"] = address(d, "")
		a.static["areaServed"] = prop(d.NameEN)
		a.static["dataProvider"] = prop(dataProvider)
		gen.device(a, d, "Air quality monitor", "airPollution", "temperature", "humidity")
	}
	for i := range numWeather {
		d := &g.Districts[i%len(g.Districts)]
		a := gen.add(kindWeather, "WeatherObserved", d.Key, gen.pointIn(d, 0.3, 2000))
		a.static["name"] = prop("Weather station " + strings.TrimPrefix(a.id, "urn:ngsi-ld:WeatherObserved:"))
		a.static["address"] = address(d, "")
		a.static["areaServed"] = prop(d.NameEN)
		a.static["dataProvider"] = prop(dataProvider)
		gen.device(a, d, "Weather station", "temperature", "humidity", "atmosphericPressure", "windSpeed", "windDirection", "precipitation")
	}
}

// traffic adds traffic counters along the synthetic avenues. The TrafficFlowObserved model has
// no refDevice, so the counters have no Device entities.
func (gen *generator) traffic() {
	roads := gen.city.geo.roads()
	for i := range numTraffic {
		at, d, r := gen.onRoad(roads, 0)
		a := gen.add(kindTraffic, "TrafficFlowObserved", d.Key, at)
		a.capacity = 18 + gen.rng.IntN(12) // vehicles per lane per minute at saturation
		a.scale = 0.8 + 0.4*gen.rng.Float64()
		dir := "forward"
		if i%2 == 1 {
			dir = "backward"
		}
		a.static["name"] = prop(fmt.Sprintf("%s counter %s", r.Name, strings.TrimPrefix(a.id, "urn:ngsi-ld:TrafficFlowObserved:")))
		a.static["address"] = address(d, r.Name)
		a.static["areaServed"] = prop(d.NameEN)
		a.static["laneDirection"] = prop(dir)
		a.static["laneId"] = prop(float64(1 + gen.rng.IntN(3)))
		a.static["dataProvider"] = prop(dataProvider)
	}
}

// streetlights adds lamps, two thirds along the avenues and the rest spread over the districts.
func (gen *generator) streetlights() {
	roads := gen.city.geo.roads()
	for i := range numStreetlights {
		var (
			at     point
			d      *district
			street string
		)
		if i < numStreetlights*2/3 {
			var r *polyline
			at, d, r = gen.onRoad(roads, 18)
			street = r.Name
		} else {
			d = gen.pickDistrict()
			at = gen.pointIn(d, 0.5, 1000)
		}
		a := gen.add(kindStreetlight, "Streetlight", d.Key, at)
		a.static["address"] = address(d, street)
		a.static["areaServed"] = prop(d.NameEN)
		a.static["circuit"] = prop(fmt.Sprintf("AST-%s-%02d", strings.ToUpper(d.Key[:3]), gen.rng.IntN(40)+1))
	}
}

// wasteKinds are the separate-collection streams of Astana's containers.
var wasteKinds = []string{"inorganic", "inorganic", "inorganic", "plastic", "paper", "glass"}

// waste adds waste containers, emptied every one to three days.
func (gen *generator) waste() {
	for range numWaste {
		d := gen.pickDistrict()
		a := gen.add(kindWaste, "WasteContainer", d.Key, gen.pointIn(d, 0.55, 1300))
		a.period = time.Duration(24*(1+gen.rng.IntN(3))) * time.Hour
		a.scale = 0.75 + 0.5*gen.rng.Float64() // > 1 means the container overflows before collection
		a.static["address"] = address(d, "")
		a.static["areaServed"] = prop(d.NameEN)
		a.static["category"] = prop(strs("fixed"))
		a.static["storedWasteKind"] = prop(wasteKinds[gen.rng.IntN(len(wasteKinds))])
		a.static["serialNumber"] = prop(fmt.Sprintf("WC-%06d", 100000+gen.rng.IntN(900000)))
	}
}

// chargers adds EV charging stations: one at each mall car park and the rest in the districts.
func (gen *generator) chargers() {
	g := gen.city.geo
	for i := range numEVChargers {
		var (
			at   point
			d    *district
			name string
		)
		if i < len(g.Malls) {
			m := g.Malls[i]
			at, d = gen.near(m.Centroid, 60)
			name = m.Name + " EV charging"
		} else {
			d = gen.pickDistrict()
			at = gen.pointIn(d, 0.6, 1200)
		}
		a := gen.add(kindEVCharger, "EVChargingStation", d.Key, at)
		if name == "" {
			name = "EV charging " + strings.TrimPrefix(a.id, "urn:ngsi-ld:EVChargingStation:")
		}
		a.capacity = 2 + gen.rng.IntN(5)
		a.static["name"] = prop(name)
		a.static["address"] = address(d, "")
		a.static["areaServed"] = prop(d.NameEN)
		a.static["capacity"] = prop(float64(a.capacity))
		a.static["allowedVehicleType"] = prop(strs("car"))
		a.static["socketType"] = prop(strs("Type2", "CCS/SAE"))
		a.static["chargeType"] = prop(strs("flat"))
	}
}

// buses adds the city buses, spread over the synthetic routes.
func (gen *generator) buses() {
	g := gen.city.geo
	routes := g.busRoutes()
	for i := range numBuses {
		r := &routes[i%len(routes)]
		start := r.Line.Pts[0]
		d := g.district(g.districtAt(start))
		a := gen.add(kindBus, "Vehicle", d.Key, start)
		delete(a.static, "location") // dynamic
		a.route = r
		a.static["name"] = prop(fmt.Sprintf("Bus %s #%d", r.Number, i/len(routes)+1))
		a.static["description"] = prop("Route " + r.Number + ": " + r.Line.Name + " (synthetic route)")
		a.static["vehicleType"] = prop("bus")
		a.static["category"] = prop(strs("public", "tracked"))
		a.static["serviceProvided"] = prop(strs("urbanTransit"))
		a.static["fleetVehicleId"] = prop(fmt.Sprintf("AST-%s-%02d", r.Number, i/len(routes)+1))
		a.static["vehiclePlateIdentifier"] = prop(fmt.Sprintf("%03d AB 01", 100+gen.rng.IntN(900)))
		a.static["areaServed"] = prop("Astana")
	}
}

// KPI metrics computed per district and for the whole city.
const (
	metricPM25    = "pm25"
	metricParking = "parking"
)

// kpis adds KeyPerformanceIndicator entities: mean PM2.5 and car-park occupancy, per district
// and for the whole city, recalculated every 15 minutes from the simulated sensors.
func (gen *generator) kpis() {
	g := gen.city.geo
	areas := append([]*district{nil}, func() []*district {
		var ds []*district
		for i := range g.Districts {
			ds = append(ds, &g.Districts[i])
		}
		return ds
	}()...)
	for _, d := range areas {
		for _, m := range []struct{ metric, name, process string }{
			{metricPM25, "Mean PM2.5 concentration (µg/m³)", "Air quality monitoring"},
			{metricParking, "Mall car-park occupancy (%)", "Parking management"},
		} {
			var a *asset
			area := "Astana"
			if d == nil {
				a = gen.add(kindKPI, "KeyPerformanceIndicator", "", point{cityLon, cityLat})
				a.id = fmt.Sprintf("urn:ngsi-ld:KeyPerformanceIndicator:astana-%s", m.metric)
			} else {
				a = gen.add(kindKPI, "KeyPerformanceIndicator", d.Key, d.Label)
				area = d.NameEN
			}
			a.metric = m.metric
			a.static["name"] = prop(m.name + ", " + area)
			a.static["description"] = prop(m.name + " over the simulated sensors in " + area + ", recalculated every 15 minutes")
			a.static["category"] = prop(strs("quantitative"))
			a.static["calculationFrequency"] = prop("quarterHourly")
			a.static["calculationMethod"] = prop("automatic")
			a.static["process"] = prop(m.process)
			a.static["organization"] = prop("Astana city akimat (simulated)")
			a.static["area"] = prop(area)
		}
	}
}
