#!/usr/bin/env bash
# What each request leaves to the garbage collector, for two or more builds alternated in one
# sitting: young-generation bytes allocated per request, bytes promoted to the old generation
# per request, and scavenge and mark-sweep pause per request. Allocation is a count, not a
# time, so it barely moves with this machine's slow and fast phases, which swing CPU per
# request by 2x within minutes (cpu-ab.sh); it is the figure to compare small changes by.
#
#   bench/gc-ab.sh CONFIG URL BUILD_DIR[:NODE_FLAG,...]...
#     e.g. bench/gc-ab.sh edge.yaml https://127.0.0.1:18443/1k .dist-base dist
#     or   bench/gc-ab.sh edge.yaml https://127.0.0.1:18443/1k dist dist:--max-semi-space-size=64
#
# Each round starts `node --trace-gc-nvp [NODE_FLAG...] BUILD/src/cli.js start --config CONFIG`
# (1 worker; the flags reach the worker through cluster's execArgv) pinned to core 0, loads it with
# wrk on core 1 and reads the worker's GC lines. CONFIG must run one worker on the URL's
# port; an origin, if it needs one, is yours to start. ROUNDS (3), DURATION (4s), CONNS (50),
# WRK_SCRIPT (bench/unique-query.lua for misses) as in cpu-ab.sh. Only loopback
# URLs: nothing else is loaded.
set -euo pipefail
cfg=$1 url=$2; shift 2
case $url in https://127.*|http://127.*|https://localhost*|http://localhost*) ;; *) echo "gc-ab: $url is not a loopback URL" >&2; exit 2 ;; esac
command -v wrk >/dev/null || { echo "gc-ab: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
rounds=${ROUNDS:-3} duration=${DURATION:-4s} conns=${CONNS:-50}
log=$(mktemp)
pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap 'stop; rm -f "$log"' EXIT
declare -A out
for _ in $(seq "$rounds"); do
  for arg in "$@"; do
    build=${arg%%:*} flags=()
    [ "$build" != "$arg" ] && IFS=, read -r -a flags <<<"${arg#*:}"
    taskset -c 0 node --trace-gc-nvp "${flags[@]}" "$build/src/cli.js" start --config "$cfg" >"$log" 2>&1 & pid=$!
    ok=
    for _ in $(seq 50); do curl -sk -o /dev/null "$url" && { ok=1; break; }; sleep 0.1; done
    [ -n "$ok" ] || { echo "gc-ab: $build did not start" >&2; exit 1; }
    from=$(wc -l <"$log")
    res=$(taskset -c 1 timeout 60 wrk -t1 -c"$conns" -d"$duration" ${WRK_SCRIPT:+-s "$WRK_SCRIPT"} "$url")
    to=$(wc -l <"$log")
    stop
    n=$(awk '/requests in/{print $1}' <<<"$res")
    # Scavenge (gc=s) and mark-sweep (gc=ms) lines written while wrk ran; fields are name=value.
    out[$arg]+=" $(sed -n "$((from + 1)),${to}p" "$log" | awk -v n="$n" '
      /gc=s / { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "allocated") a += kv[2]; else if (kv[1] == "promoted") p += kv[2]; else if (kv[1] == "pause") t += kv[2] } }
      /gc=ms / { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "pause") m += kv[2] } }
      END { printf "%.1fKiB/%dB/%.1fus+%.1fus", a / n / 1024, p / n, t * 1000 / n, m * 1000 / n }')"
  done
done
echo "per round: young-generation KiB allocated / B promoted / scavenge pause µs + mark-sweep pause µs, per request"
for arg in "$@"; do echo "$arg:${out[$arg]}"; done
