#!/usr/bin/env bash
# The overload scenario by hand, several builds or configurations alternated in one sitting:
# each run starts `anyedge start` (1 worker) from BUILD with CONFIG, pinned to core 0, opens
# CONNS (400) connections with wrk on core 1 for 1 s (unrecorded, as the harness does), then
# offers RATE requests/s paced by one schedule (bench/load/generators.ts) for DURATION, and
# prints goodput, latency percentiles, wrk's socket errors, what admission did (from the admin
# plane's /metrics) and how much of its core wrk used (when it is near 100 %, the generator
# bounds the figures).
#
#   bench/overload-ab.sh URL ADMIN_URL RATE BUILD:CONFIG...
#     e.g. bench/overload-ab.sh https://127.0.0.1:18443/1k http://127.0.0.1:18543 36000 .dist-base:edge.yaml dist:edge.yaml
#
# ROUNDS (3), DURATION (8s), CONNS (400), WORKLOAD (mixed: 90 % the URL, 10 % unique misses;
# fixed: the URL only). Each CONFIG must run one worker on URL's port with its admin plane at
# ADMIN_URL; an origin is yours to start (node dist/bench/origin.js PORT). Loopback only.
set -euo pipefail
url=$1 admin=$2 rate=$3; shift 3
for u in "$url" "$admin"; do
  case $u in https://127.*|http://127.*|https://localhost*|http://localhost*) ;; *) echo "overload-ab: $u is not a loopback URL" >&2; exit 2 ;; esac
done
command -v wrk >/dev/null || { echo "overload-ab: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
rounds=${ROUNDS:-3} duration=${DURATION:-8s} conns=${CONNS:-400} workload=${WORKLOAD:-mixed}
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap 'stop; rm -rf "$dir"' EXIT
path=/${url#*://*/}
script() { node -e "import('$here/dist/bench/load/generators.js').then(m => process.stdout.write(m.wrkScript({ workload: '$workload', path: '$path', uniquePrefix: 'ab' + Date.now(), rate: $rate })))"; }
for _ in $(seq "$rounds"); do
  for subject in "$@"; do
    build=${subject%%:*} cfg=${subject#*:}
    script > "$dir/load.lua"
    taskset -c 0 node "$build/src/cli.js" start --config "$cfg" >/dev/null 2>&1 & pid=$!
    for _ in $(seq 100); do curl -sk -o /dev/null "$url" && break; sleep 0.1; done
    taskset -c 1 timeout 30 wrk -t1 -c"$conns" -d1s --timeout 10s -s "$dir/load.lua" "$url" >/dev/null
    out=$( { /usr/bin/env time -f 'wrk-cpu %P' taskset -c 1 timeout 120 wrk -t1 -c"$conns" -d"$duration" --timeout 10s --latency -s "$dir/load.lua" "$url"; } 2>&1 )
    metrics=$(curl -s "$admin/metrics")
    m() { awk -v k="$1" '$1 == k { print $2 }' <<<"$metrics"; }
    refused=$(awk '/^anyedge_connections_refused_total\{/ { s += $2 } END { print s + 0 }' <<<"$metrics")
    printf '%s %s: %s req/s, p50 %s, p99 %s, socket errors %s, told to go %s, refused (since start) %s, limit %s, wrk %s\n' "$build" "$cfg" \
      "$(awk '/Requests\/sec/ { print int($2) }' <<<"$out")" "$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")" \
      "$(sed -n 's/.*Socket errors: //p' <<<"$out" | tr -d ',' | grep . || echo none)" "$(m anyedge_connections_shed_total)" "$refused" \
      "$(m anyedge_admission_limit_connections)" "$(awk '/^wrk-cpu/ { print $2 }' <<<"$out")"
    stop
  done
done
