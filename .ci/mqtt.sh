#!/usr/bin/env bash
# The MQTT interop tier: Qala's MQTT client and notifier against a real
# Mosquitto. Installs mosquitto (and openssl) with apt when missing, starts
# Mosquitto on 127.0.0.1:1883 (QALA_MQTT_ADDR) when nothing listens there,
# starts a second, private one for mqtts:// with a password file, runs
# `make test-mqtt`, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
addr=${QALA_MQTT_ADDR:-127.0.0.1:1883}
host=${addr%:*}
port=${addr##*:}
tport=${QALA_MQTTS_PORT:-18883}
started= tpid= tdir=
cleanup() {
  [ -n "$started" ] && kill "$started" 2>/dev/null
  [ -n "$tpid" ] && kill "$tpid" 2>/dev/null
  [ -n "$tdir" ] && rm -rf "$tdir"
  true
}
trap cleanup EXIT
open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
waitopen() { for _ in $(seq 50); do open "$1" "$2" && return 0; sleep 0.1; done; return 1; }

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ] || ! command -v openssl >/dev/null 2>&1; then
  sudo=; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mosquitto mosquitto-clients openssl
fi
mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)
tdir=$(mktemp -d /tmp/qala-mosquitto.XXXXXX)
chmod 755 "$tdir" # mosquitto started as root reads its files as its own user

if ! open "$host" "$port"; then
  printf 'listener %s %s\nallow_anonymous true\npersistence false\n' "$port" "$host" >"$tdir/plain.conf"
  "$mosq" -c "$tdir/plain.conf" >"$tdir/plain.log" 2>&1 &
  started=$!
  waitopen "$host" "$port" || { echo "mosquitto did not start on $addr:"; cat "$tdir/plain.log"; exit 1; }
  echo "started mosquitto (pid $started) on $addr"
fi

# mqtts:// with credentials: a fresh self-signed certificate for 127.0.0.1,
# only qala/s3cret accepted.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$tdir/key.pem" -out "$tdir/cert.pem" 2>/dev/null
mosquitto_passwd -b -c "$tdir/passwd" qala s3cret
printf 'listener %s 127.0.0.1\nallow_anonymous false\npassword_file %s\ncertfile %s\nkeyfile %s\npersistence false\n' \
  "$tport" "$tdir/passwd" "$tdir/cert.pem" "$tdir/key.pem" >"$tdir/tls.conf"
chmod 644 "$tdir"/*
"$mosq" -c "$tdir/tls.conf" >"$tdir/tls.log" 2>&1 &
tpid=$!
waitopen 127.0.0.1 "$tport" || { echo "the TLS mosquitto did not start on 127.0.0.1:$tport:"; cat "$tdir/tls.log"; exit 1; }

QALA_MQTT_ADDR=$addr QALA_MQTTS_ADDR=127.0.0.1:$tport QALA_MQTTS_CA=$tdir/cert.pem QALA_MQTTS_USER=qala:s3cret \
  make test-mqtt
