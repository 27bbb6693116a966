#!/usr/bin/env bash
# Runs the ETSI NGSI-LD conformance areas Qala implements against a fresh
# bin/qala. The suite is not part of the repository: set it up once as
# ../shared/conformance/README.md says (it lands in ~/.cache/qala-conformance).
set -uo pipefail
cd "$(dirname "$0")/.."
S=${ETSI_SUITE:-$HOME/.cache/qala-conformance/etsi}
RUN=../shared/conformance/etsi-run.sh
[ -d "$S/TP" ] && [ -x "$RUN" ] || { echo "ETSI suite not set up (see ../shared/conformance/README.md); skipping"; exit 0; }
DATA=$(mktemp -d)
PORT=${PORT:-1026}
# The suite's temporal pagination tests (020_13, 020_14, 021_15, 021_16)
# write 20 instances an attribute and expect a 206: they assume a server
# instance limit below that (clause 6.3.10 leaves it to the server).
export QALA_TEMPORAL_LIMIT=${QALA_TEMPORAL_LIMIT:-10}
bin/qala serve --listen 127.0.0.1:$PORT --data "$DATA" --context-allow-private --log-level warn >"$DATA/qala.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DATA"' EXIT
sleep 1
MAP=$HOME/.cache/qala-conformance/ctxmap/context-url-map.csv
[ -f "$MAP" ] && export ETSI_CTX_MAP=$MAP
ETSI_TESTS=${ETSI_TESTS:-"TP/NGSI-LD/ContextInformation/Provision/Entities TP/NGSI-LD/ContextInformation/Consumption/Entity TP/NGSI-LD/ContextInformation/Provision/BatchEntities TP/NGSI-LD/ContextInformation/Consumption/Discovery TP/NGSI-LD/jsonldContext TP/NGSI-LD/CommonBehaviours TP/NGSI-LD/ContextInformation/Provision/TemporalEntity TP/NGSI-LD/ContextInformation/Provision/TemporalEntityAttributes TP/NGSI-LD/ContextInformation/Consumption/TemporalEntity"} \
  "$RUN" "$S" "http://127.0.0.1:$PORT" "$@"
