#!/usr/bin/env bash
# Runs every Fuzz* target of the module for a short time each (default 10s).
set -euo pipefail
t=${1:-10s}
cd "$(dirname "$0")/.."
fail=0
for f in $(grep -rl --include='*_test.go' '^func Fuzz' internal cmd 2>/dev/null | sort); do
  pkg=./$(dirname "$f")
  for name in $(grep -h '^func Fuzz' "$f" | sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/'); do
    echo "--- fuzz $pkg $name ($t)"
    if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$t" >/tmp/fuzz-$name.log 2>&1; then
      tail -30 /tmp/fuzz-$name.log; fail=1
    else
      tail -1 /tmp/fuzz-$name.log
    fi
  done
done
exit $fail
