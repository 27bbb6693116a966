package server

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestKill9History streams two kinds of history into a real `qala serve`
// process and kills it with SIGKILL mid-stream: temporal API writes of
// batches of readings, and updates of entities through the entity API,
// which reach the history through the change log. After a restart, every
// acknowledged reading is in the history, and every acknowledged update
// left exactly one instance: none lost, none doubled.
func TestKill9History(t *testing.T) {
	k := newKillRig(t)
	base, client := k.base, k.client
	const sensors = 4
	for w := range sensors {
		// Entities the updaters change; their creation is acknowledged
		// before the stream starts.
		if st, err := k.send("POST", "/entities", fmt.Sprintf(`{"id":"urn:ngsi-ld:Counter:%d","type":"Counter","n":{"type":"Property","value":-1}}`, w)); st != 201 {
			t.Fatalf("create counter: %d %v", st, err)
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	ackedReadings := map[int]int{}  // sensor → readings acknowledged (a prefix of its stream)
	ackedUpdates := map[int][]int{} // counter → values acknowledged
	// Writers 0..sensors-1 write batches of 50 readings of one sensor, in
	// order, through the temporal API; writers sensors.. update one
	// counter each through the entity API (no observedAt, one value each).
	k.streamAndKill(2*sensors, 1500*time.Millisecond, func(w, i int) bool {
		if w < sensors {
			var insts []string
			for j := range 50 {
				n := i*50 + j
				insts = append(insts, fmt.Sprintf(`{"type":"Property","value":%d,"observedAt":%q}`, n, t0.Add(time.Duration(n)*time.Minute).Format(time.RFC3339)))
			}
			body := fmt.Sprintf(`{"id":"urn:ngsi-ld:Sensor:%d","type":"Sensor","pm25":[%s]}`, w, strings.Join(insts, ","))
			st, err := k.send("POST", "/temporal/entities", body)
			if err != nil {
				return false
			}
			if st != 201 && st != 204 {
				t.Errorf("temporal write: %d", st)
				return false
			}
			mu.Lock()
			ackedReadings[w] = (i + 1) * 50
			mu.Unlock()
			return true
		}
		c := w - sensors
		if !k.setCounter(c, i) {
			return false
		}
		mu.Lock()
		ackedUpdates[c] = append(ackedUpdates[c], i)
		mu.Unlock()
		return true
	})

	k.restart()
	get := func(url string, v any) int {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
		}
		return resp.StatusCode
	}
	// aggregate returns the values of the methods over the whole history
	// of an attribute (one period, aggrPeriodDuration absent).
	aggregate := func(id, attr, methods, timeproperty string) map[string]float64 {
		var d map[string]json.RawMessage
		url := fmt.Sprintf("%s/temporal/entities/%s?attrs=%s&options=aggregatedValues&aggrMethods=%s&timerel=after&timeAt=2000-01-01T00:00:00Z&timeproperty=%s",
			base, id, attr, methods, timeproperty)
		if st := get(url, &d); st != 200 {
			t.Fatalf("%s: %d", url, st)
		}
		var a map[string]any
		if err := json.Unmarshal(d[attr], &a); err != nil {
			t.Fatalf("%s: no %s in %v", url, attr, d)
		}
		out := map[string]float64{}
		for _, m := range strings.Split(methods, ",") {
			periods, _ := a[m].([]any)
			if len(periods) != 1 {
				t.Fatalf("%s %s: %v", id, m, a[m])
			}
			out[m] = periods[0].([]any)[0].(float64)
		}
		return out
	}
	readings, updates := 0, 0
	for w := range sensors {
		// The readings acknowledged are a prefix 0..n-1 of the sensor's
		// stream; a batch in flight at the kill may have landed whole, or
		// not at all.
		n := ackedReadings[w]
		if n > 0 {
			got := aggregate(fmt.Sprintf("urn:ngsi-ld:Sensor:%d", w), "pm25", "totalCount,distinctCount,min,max,sum", "observedAt")
			count := int(got["totalCount"])
			if count < n || count > n+50 || count%50 != 0 {
				t.Errorf("sensor %d: %d readings after kill -9, %d acknowledged", w, count, n)
			}
			if got["distinctCount"] != got["totalCount"] || got["min"] != 0 || int(got["max"]) != count-1 || got["sum"] != float64(count*(count-1)/2) {
				t.Errorf("sensor %d: readings are not exactly 0..%d: %v", w, count-1, got)
			}
			readings += n
		}
		// Every update wrote a new value (without observedAt: by createdAt):
		// the history holds -1 (the creation), every acknowledged value
		// once, and perhaps the one in flight.
		m := len(ackedUpdates[w])
		got := aggregate(fmt.Sprintf("urn:ngsi-ld:Counter:%d", w), "n", "totalCount,distinctCount,min,max", "createdAt")
		if got["totalCount"] != got["distinctCount"] {
			t.Errorf("counter %d: %v instances for %v distinct values: an update was recorded twice", w, got["totalCount"], got["distinctCount"])
		}
		if got["min"] != -1 || int(got["max"]) < m-1 || int(got["max"]) > m || int(got["distinctCount"]) != int(got["max"])+2 {
			t.Errorf("counter %d: %d updates acknowledged, history %v", w, m, got)
		}
		updates += m
	}
	if readings < 200 || updates < 50 {
		t.Fatalf("only %d readings and %d updates acknowledged before the kill; the test proves nothing", readings, updates)
	}
	t.Logf("%d acknowledged readings and %d acknowledged updates survived kill -9, none doubled", readings, updates)
}
