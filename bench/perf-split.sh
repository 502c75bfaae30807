#!/usr/bin/env bash
# Where one server process's time per request goes, split by what the kernel can tell without
# JIT symbols: user space, each system call, page faults. `perf record -e cpu-clock -g` samples
# the process while wrk loads it, and each sample is booked to the first kernel entry on its
# stack. No hardware counters needed (this VM has none); the split does not depend on V8's code
# map, which goes stale once the process has run other workloads.
#
#   bench/perf-split.sh PID URL        e.g. bench/perf-split.sh "$(pgrep -f worker-main)" https://127.0.0.1:18443/1k
#
# Run it for two servers in turn (A B B A) and compare the per-request figures: user time that
# differs is the work to look for in a CPU profile; syscall time that differs with the same
# syscall counts is bytes or batching. DURATION (4s), CONNS (50), WRK_SCRIPT as in cpu-ab.sh;
# FREQ (4999 Hz). perf slows what it samples: compare figures taken the same way, not with
# cpu-ab.sh's. Only loopback URLs: nothing else is loaded.
set -euo pipefail
pid=$1 url=$2
case $url in https://127.*|http://127.*|https://localhost*|http://localhost*) ;; *) echo "perf-split: $url is not a loopback URL" >&2; exit 2 ;; esac
command -v perf >/dev/null || { echo "perf-split: perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "perf-split: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[ -d "/proc/$pid" ] || { echo "perf-split: no process $pid" >&2; exit 2; }
duration=${DURATION:-4s} conns=${CONNS:-50} freq=${FREQ:-4999}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
secs=${duration%s}
perf record -q -e cpu-clock -F "$freq" -g -p "$pid" -o "$tmp/perf.data" -- sleep "$((secs + 1))" >/dev/null 2>&1 &
rec=$!
sleep 0.5
res=$(taskset -c 1 timeout 60 wrk -t1 -c"$conns" -d"$duration" ${WRK_SCRIPT:+-s "$WRK_SCRIPT"} "$url")
wait "$rec"
n=$(awk '/requests in/{print $1}' <<<"$res")
# perf runs from 0.5 s before wrk to ~0.5 s after; cpu-clock samples only time on a CPU, and
# the server idles outside wrk's window, so every sample is booked to wrk's requests.
perf script -i "$tmp/perf.data" -F period,ip,sym 2>/dev/null | awk -v n="$n" -v freq="$freq" '
  function flush() {
    if (!started) return
    total++
    if (entry == "") entry = "user"
    c[entry]++
    entry = ""; started = 0
  }
  /^ *[0-9]+ *$/ { flush(); started = 1; next }
  NF == 0 { flush(); next }
  {
    sym = $2
    if (entry == "" && (sym == "asm_exc_page_fault" || sym == "exc_page_fault")) entry = "page faults"
    if (entry == "" && sym == "do_syscall_64") {
      # The frame below do_syscall_64 names the call (ksys_write, __x64_sys_epoll_pwait); a
      # sample taken on the way out of the kernel has none.
      name = prev
      if (sub(/^(__x64_sys_|__do_sys_|ksys_|do_)/, "", name)) entry = "syscall " name
      else entry = "syscall entry/exit"
    }
    prev = sym
  }
  END {
    flush()
    if (n == 0 || total == 0) { print "perf-split: no requests or no samples" > "/dev/stderr"; exit 1 }
    # One cpu-clock sample per 1/freq s on a CPU.
    printf "%d requests, %d samples, %.2f µs per request on a CPU:\n", n, total, total * 1e6 / freq / n
    for (k in c) if (c[k] * 1e6 / freq / n >= 0.01) printf "%8.2f µs/req  %s\n", c[k] * 1e6 / freq / n, k | "sort -rn"
  }'
