#!/usr/bin/env bash
# Server CPU per request, two or more builds alternated in one sitting: the method behind
# most rows of bench/results/optimisations/README.md. Each round starts `anyedge start`
# (1 worker) from each build in turn, pinned to core 0, loads it with wrk pinned to core 1,
# and reads the worker's CPU time (utime+stime) from /proc before and after.
#
#   bench/cpu-ab.sh CONFIG URL BUILD_DIR...      e.g. bench/cpu-ab.sh edge.yaml https://127.0.0.1:18443/1k .dist-base dist
#
# CONFIG must run one worker on the URL's port; an origin, if it needs one, is yours to
# start. ROUNDS (4), DURATION (3s), CONNS (50) override the defaults; H2=1 loads over h2
# with h2load instead (CONNS connections × STREAMS (10) streams). Prints per build:
# req/s / µs per request for each round. Only loopback URLs: nothing else is loaded.
set -euo pipefail
cfg=$1 url=$2; shift 2
case $url in https://127.*|http://127.*|https://localhost*|http://localhost*) ;; *) echo "cpu-ab: $url is not a loopback URL" >&2; exit 2 ;; esac
rounds=${ROUNDS:-4} duration=${DURATION:-3s} conns=${CONNS:-50}
if [ -n "${H2:-}" ]; then
  command -v h2load >/dev/null || { echo "cpu-ab: h2load is not installed (apt-get install nghttp2-client)" >&2; exit 2; }
else
  command -v wrk >/dev/null || { echo "cpu-ab: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
fi
pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap stop EXIT
tick=$(getconf CLK_TCK)
declare -A out
for _ in $(seq "$rounds"); do
  for build in "$@"; do
    taskset -c 0 node "$build/src/cli.js" start --config "$cfg" >/dev/null 2>&1 & pid=$!
    worker=
    for _ in $(seq 50); do
      worker=$(pgrep -P "$pid" | head -1 || true)
      [ -n "$worker" ] && curl -sk -o /dev/null "$url" && break
      sleep 0.1
    done
    [ -n "$worker" ] || { echo "cpu-ab: $build did not start" >&2; exit 1; }
    c0=$(awk '{print $14+$15}' "/proc/$worker/stat")
    if [ -n "${H2:-}" ]; then
      res=$(taskset -c 1 timeout 60 h2load -c"$conns" -m"${STREAMS:-10}" -D"${duration%s}" "$url")
      c1=$(awk '{print $14+$15}' "/proc/$worker/stat")
      n=$(awk '/^requests:/{print $8}' <<<"$res")
      rps=$(awk '/^finished in/{print int($4)}' <<<"$res")
    else
      res=$(taskset -c 1 timeout 60 wrk -t1 -c"$conns" -d"$duration" ${WRK_SCRIPT:+-s "$WRK_SCRIPT"} "$url")
      c1=$(awk '{print $14+$15}' "/proc/$worker/stat")
      n=$(awk '/requests in/{print $1}' <<<"$res")
      rps=$(awk '/Requests\/sec/{print int($2)}' <<<"$res")
    fi
    out[$build]+=" ${rps}/$(( (c1 - c0) * 1000000 / tick / n ))us"
    stop
  done
done
for build in "$@"; do echo "$build:${out[$build]}"; done
