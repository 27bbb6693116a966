#!/usr/bin/env bash
# The MQTT interop tier: Qala's MQTT client and notifier against a real
# Mosquitto. Installs mosquitto with apt when it is missing, starts it on
# 127.0.0.1:1883 when nothing listens there (and stops it afterwards), then
# runs `make test-mqtt`.
set -euo pipefail
cd "$(dirname "$0")/.."
addr=${QALA_MQTT_ADDR:-127.0.0.1:1883}
host=${addr%:*}
port=${addr##*:}
listening() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }
started=
if ! listening; then
  if ! command -v mosquitto >/dev/null 2>&1; then
    sudo=; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mosquitto mosquitto-clients
  fi
  mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)
  conf=$(mktemp /tmp/qala-mosquitto.XXXXXX.conf)
  printf 'listener %s %s\nallow_anonymous true\npersistence false\n' "$port" "$host" >"$conf"
  "$mosq" -c "$conf" >/tmp/qala-mosquitto.log 2>&1 &
  started=$!
  trap 'kill "$started" 2>/dev/null || true; rm -f "$conf"' EXIT
  for _ in $(seq 50); do listening && break; sleep 0.1; done
  listening || { echo "mosquitto did not start on $addr:"; cat /tmp/qala-mosquitto.log; exit 1; }
  echo "started mosquitto (pid $started) on $addr"
fi
QALA_MQTT_ADDR=$addr make test-mqtt
