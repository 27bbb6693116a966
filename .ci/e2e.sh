#!/usr/bin/env bash
# End-to-end smoke of the built binary, as a new user runs it from the README:
# serve the Astana demo city, walk the README's curl tour, stop with SIGTERM.
set -eu  # no pipefail: `curl | grep -q` may end curl with SIGPIPE
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/qala}
PORT=${PORT:-18026}
DATA=$(mktemp -d)
URL=http://127.0.0.1:$PORT
LOG=$DATA/qala.log
"$BIN" serve --demo --listen 127.0.0.1:$PORT --data "$DATA" >"$LOG" 2>&1 &
PID=$!
trap 'kill -9 $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
for i in $(seq 1 100); do
  curl -sf "$URL/health" >/dev/null && break
  sleep 0.1
done
curl -sf "$URL/health" >/dev/null || { echo "qala did not become healthy"; cat "$LOG"; exit 1; }

fail() { echo "e2e: $*"; cat "$LOG" | tail -20; exit 1; }
SDM='Link: <https://smartdatamodels.org/context.jsonld>; rel="http://www.w3.org/ns/json-ld#context"'
n=$(curl -s -D - -o /dev/null "$URL/ngsi-ld/v1/entities?type=AirQualityObserved&count=true&limit=0" -H "$SDM" | tr -d '\r' | awk -F': ' 'tolower($1)=="ngsild-results-count"{print $2}')
[ "${n:-0}" -gt 10 ] || fail "demo city has $n air-quality stations"
curl -sf "$URL/ngsi-ld/v1/entities?type=AirQualityObserved&limit=3&options=keyValues" -H "$SDM" | grep -q '"pm25"' || fail "no pm25 in the demo city"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/ngsi-ld/v1/entities" -H 'Content-Type: application/json' -d '{
  "id": "urn:ngsi-ld:AirQualityObserved:school-42", "type": "AirQualityObserved",
  "pm25": {"type": "Property", "value": 38.2, "unitCode": "GQ", "observedAt": "2026-11-22T08:00:00Z"},
  "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [71.4306, 51.1282]}}}')
[ "$code" = 201 ] || fail "create answered $code"
curl -sf "$URL/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:school-42?format=concise&options=sysAttrs" | grep -q '"createdAt"' || fail "retrieve"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH "$URL/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:school-42/attrs/pm25" -H 'Content-Type: application/json' -d '{"value": 41.0}')
[ "$code" = 204 ] || fail "partial update answered $code"
curl -sf "$URL/ngsi-ld/v1/entities?type=AirQualityObserved&q=pm25>40&georel=near;maxDistance==500&geometry=Point&coordinates=\[71.4304,51.1283\]&options=keyValues" | grep -q 'school-42' || fail "q + near query"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/ngsi-ld/v1/entities" -H 'Content-Type: application/json' -d '{"id": "nope"')
[ "$code" = 400 ] || fail "malformed JSON answered $code"
curl -sf "$URL/metrics" | grep -q 'qala_http_requests_total' || fail "metrics"
kill -TERM $PID
for i in $(seq 1 100); do kill -0 $PID 2>/dev/null || break; sleep 0.1; done
wait $PID && echo "e2e: demo city, README tour and SIGTERM OK" || fail "qala exited non-zero after SIGTERM"
