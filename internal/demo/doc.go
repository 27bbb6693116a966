// Package demo is the Astana demo city that `qala serve --demo` loads and animates, so that a new
// user can query a living city at once.
//
// The city holds about 3,700 NGSI-LD entities in normalized form, following the FIWARE Smart
// Data Models (attribute names, unit codes, Relationships such as refDevice and refParkingSite):
//
//   - the city boundary and its 5 districts (Almaty incl. Saraishyk, Baikonur, Yesil, Saryarka,
//     Nura) as AdministrativeArea entities with (Multi)Polygon locations and a LanguageProperty
//     name in English, Kazakh and Russian (plus a plain alternateName);
//   - 12 landmarks as PointOfInterest; 28 shopping malls as Building (OSM footprints), each with
//     an OffStreetParking car park and 1,000 sensored ParkingSpot entities among them;
//   - 60 AirQualityObserved and 15 WeatherObserved stations and 200 TrafficFlowObserved counters
//     on synthetic avenues (the stations linked to their Device); 1,500 Streetlight,
//     600 WasteContainer, 60 EVChargingStation; 80 buses (Vehicle) shuttling along 7 synthetic
//     routes;
//   - 12 KeyPerformanceIndicator entities (mean PM2.5 and car-park occupancy per district and
//     for the city), recalculated from the simulated sensors.
//
// Assets are spread over the districts by point-in-polygon sampling, denser in central Yesil,
// Almaty and Saryarka. Ids read urn:ngsi-ld:<Type>:astana-<district>-<n>. Documents carry the
// @context [SmartDataModelsContext, CoreContext]; ContextDocuments returns the embedded Smart
// Data Models context so a server can resolve it offline.
//
// Every value is a pure function of the seed and the time (Astana local time, UTC+5), so runs
// are reproducible: rush-hour traffic at 08:00–09:00 and 18:00–19:00, PM2.5 high on winter
// evenings (coal heating) and at rush hours, a continental climate (−14 °C in January, +21 °C in
// July) with a daily cycle, mall car parks busiest in the evening, streetlights on between
// sunset and sunrise at 51° N with rare faults, waste containers filling and being emptied,
// chargers in use, buses moving. Use it as:
//
//	c, _ := demo.New(seed)
//	n, err := demo.Load(ctx, w, tenant, c, time.Now())
//	go (&demo.Simulator{City: c, Writer: w, Tenant: tenant}).Run(ctx)
//
// Attribution: the boundary, district, mall and most landmark geometry is © OpenStreetMap
// contributors, available under the Open Database License (ODbL) 1.0,
// https://www.openstreetmap.org/copyright — see Attribution and data/SOURCES.md; whatever shows
// these data must carry that line. Landmark coordinates from Wikipedia are facts. Roads and bus
// routes are synthetic. The data models are from the Smart Data Models Program
// (https://smartdatamodels.org), CC BY 4.0.
package demo
