#!/usr/bin/env bash
# Runs the ETSI NGSI-LD conformance areas Qala implements against a fresh
# bin/qala. The suite is not part of the repository: set it up once as
# ../shared/conformance/README.md says (it lands in ~/.cache/qala-conformance).
#
# env:
#   ETSI_SUITE    the suite checkout (default ~/.cache/qala-conformance/etsi, the
#                 reference commit; ~/.cache/qala-conformance/etsi-head for the
#                 v1.9 extension test purposes)
#   ETSI_TESTS    the areas (default: the core and query issues' areas)
#   PORT          Qala's port (default 1026)
#   ETSI_GEOJSON  1 (default): rewrite the suite's own @context URLs in its
#                 *.geojson expectation files too, as etsi-run.sh does for
#                 *.json/*.jsonld; 0: run the suite as etsi-run.sh leaves it
#                 (the GeoJSON TPs then compare against forge URLs no broker
#                 without internet can echo)
#   ETSI_MQTT     1: also the MQTT notification TPs, on local Mosquitto (below)
# Extra arguments go to robot (e.g. --include 4_23).
set -uo pipefail
cd "$(dirname "$0")/.."
S=${ETSI_SUITE:-$HOME/.cache/qala-conformance/etsi}
RUN=${ETSI_RUN:-../shared/conformance/etsi-run.sh}
[ -d "$S/TP" ] && [ -x "$RUN" ] || { echo "ETSI suite not set up (see ../shared/conformance/README.md); skipping"; exit 0; }
DATA=$(mktemp -d)
PORT=${PORT:-1026}
# The suite's temporal pagination tests (020_13, 020_14, 021_15, 021_16)
# write 20 instances an attribute and expect a 206: they assume a server
# instance limit below that (clause 6.3.10 leaves it to the server).
export QALA_TEMPORAL_LIMIT=${QALA_TEMPORAL_LIMIT:-10}
bin/qala serve --listen 127.0.0.1:$PORT --data "$DATA/store" --context-allow-private --log-level warn >"$DATA/qala.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

# etsi-run.sh points the suite's @context URLs at its local file server in
# *.json, *.jsonld, *.robot, *.resource and *.py files, but not in the
# *.geojson expectations of the GeoJSON query TPs (019_02_05, 019_05, ...):
# give it a copy of the suite where those are rewritten the same way.
if [ "${ETSI_GEOJSON:-1}" = 1 ]; then
  COPY=$DATA/suite
  mkdir -p "$COPY"
  tar -C "$S" --exclude=.git --exclude='./results*' -cf - . | tar -C "$COPY" -xf -
  LOCAL_CTX="http://127.0.0.1:${ETSI_CTX_PORT:-8089}"
  grep -rlE 'forge\.etsi\.org/rep/cim/ngsi-ld-test-suite/-/raw/[^/]+/resources/jsonld-contexts/|raw\.githubusercontent\.com/[^/]+/ngsi-ld-test-suite/[^/]+/resources/jsonld-contexts/' \
      --include='*.geojson' "$COPY" 2>/dev/null \
    | xargs -r sed -i -E \
        -e "s#https://forge\.etsi\.org/rep/cim/ngsi-ld-test-suite/-/raw/[^/]+/resources/jsonld-contexts/#$LOCAL_CTX/#g" \
        -e "s#https://raw\.githubusercontent\.com/[^/]+/ngsi-ld-test-suite/[^/]+/resources/jsonld-contexts/#$LOCAL_CTX/#g"
  S=$COPY
fi

# ETSI_MQTT=1 (passed on to etsi-run.sh, which then keeps the MQTT
# notification TPs 058_*): those TPs start Mosquitto in docker; give them
# .ci/etsi-mqtt/MqttUtils.resource instead, which uses the machine's
# Mosquitto on 127.0.0.1:1883 and starts a local one for the non-default
# port (ETSI_MQTT_PORT, default 1884: the suite's 8085 is the notification
# receiver's port).
if [ "${ETSI_MQTT:-0}" = 1 ]; then
  if [ "$S" != "${COPY:-}" ]; then
    COPY=$DATA/suite; mkdir -p "$COPY"
    tar -C "$S" --exclude=.git --exclude='./results*' -cf - . | tar -C "$COPY" -xf -
    S=$COPY
  fi
  cp .ci/etsi-mqtt/MqttUtils.resource "$S/resources/mqttUtils/MqttUtils.resource"
  set -- --variable "mqtt_broker_non_default_port:${ETSI_MQTT_PORT:-1884}" "$@"
fi

MAP=$HOME/.cache/qala-conformance/ctxmap/context-url-map.csv
[ -f "$MAP" ] && export ETSI_CTX_MAP=$MAP
ETSI_TESTS=${ETSI_TESTS:-"TP/NGSI-LD/ContextInformation/Provision/Entities TP/NGSI-LD/ContextInformation/Consumption/Entity TP/NGSI-LD/ContextInformation/Provision/BatchEntities TP/NGSI-LD/ContextInformation/Consumption/Discovery TP/NGSI-LD/ContextInformation/Provision/PurgeEntities TP/NGSI-LD/jsonldContext TP/NGSI-LD/CommonBehaviours TP/NGSI-LD/ContextInformation/Provision/TemporalEntity TP/NGSI-LD/ContextInformation/Provision/TemporalEntityAttributes TP/NGSI-LD/ContextInformation/Consumption/TemporalEntity TP/NGSI-LD/ContextInformation/Subscription"} \
  "$RUN" "$S" "http://127.0.0.1:$PORT" "$@"
