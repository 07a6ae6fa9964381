#!/usr/bin/env bash
# Runs the whole test suite (vitest, after the build) N times in a row (default 2) beside two busy loops pinned to
# CPUs 0 and 1, and prints each run's exit code and duration: the suite must pass every time with no retries on a
# machine whose CPUs are taken. Usage: scripts/suite-under-cpu-hog.sh [runs] [log-dir]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-2}"
logs="${2:-$(mktemp -d -t autodev-hog-XXXXXX)}"
mkdir -p "$logs"

hogs=()
for cpu in 0 1; do
  taskset -c "$cpu" sh -c 'while :; do :; done' &
  hogs+=($!)
done
trap 'kill "${hogs[@]}" 2>/dev/null || true' EXIT
echo "hog: two busy loops (pids ${hogs[*]}) pinned to CPUs 0 and 1; logs in $logs"

npm run --silent build:emit >/dev/null
failed=0
for run in $(seq 1 "$runs"); do
  started=$(date +%s)
  set +e
  npx vitest run >"$logs/run-$run.log" 2>&1
  code=$?
  set -e
  summary=$(sed 's/\x1b\[[0-9;]*m//g' "$logs/run-$run.log" | grep -E '^ +(Test Files|Tests) ' | tr -s ' ' | paste -sd ';' -)
  echo "run $run: exit $code in $(($(date +%s) - started)) s; load $(cut -d' ' -f1-3 /proc/loadavg);$summary"
  [ "$code" -eq 0 ] || failed=1
done
exit "$failed"
