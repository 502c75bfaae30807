#!/usr/bin/env bash
# Two servers already running side by side, loaded in turn: throughput of B over A in short
# windows, alternated A B B A so that a drift of the machine's speed within a pair cancels.
# This machine's speed swings 2-3x within minutes (bench/results/optimisations), far more
# than most changes move; a ratio taken within a few seconds, many times, is what can still
# tell a 10 % difference. Both servers should be pinned to the same core (e.g. taskset -c 0),
# wrk runs on core 1.
#
#   bench/pair-ab.sh URL_A URL_B        e.g. bench/pair-ab.sh https://127.0.0.1:18443/1k https://127.0.0.1:18444/1k
#
# PAIRS (10), WINDOW (2s), CONNS (50), WRK_SCRIPT (bench/unique-query.lua for misses: each
# window asks queries under a random prefix of its own, so a server that kept the previous
# window's objects still misses) as in cpu-ab.sh. Prints each pair's req/s and B/A, then the
# median and range of B/A. Only loopback URLs: nothing else is loaded.
set -euo pipefail
a=$1 b=$2
for url in "$a" "$b"; do
  case $url in https://127.*|http://127.*|https://localhost*|http://localhost*) ;; *) echo "pair-ab: $url is not a loopback URL" >&2; exit 2 ;; esac
done
command -v wrk >/dev/null || { echo "pair-ab: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
pairs=${PAIRS:-10} window=${WINDOW:-2s} conns=${CONNS:-50}
load() { taskset -c 1 timeout 60 wrk -t1 -c"$conns" -d"$2" ${WRK_SCRIPT:+-s "$WRK_SCRIPT"} "$1" | awk '/Requests\/sec/{print int($2)}'; }
# Warm-up: each server's code paths compiled before the first window counts.
load "$a" 1s >/dev/null; load "$b" 1s >/dev/null
ratios=()
echo "pair  A req/s  B req/s  B/A"
for i in $(seq "$pairs"); do
  if [ $((i % 2)) = 1 ]; then ra=$(load "$a" "$window"); rb=$(load "$b" "$window"); else rb=$(load "$b" "$window"); ra=$(load "$a" "$window"); fi
  [ "$ra" -gt 0 ] || { echo "pair-ab: $a answered nothing" >&2; exit 1; }
  r=$(awk -v x="$rb" -v y="$ra" 'BEGIN { printf "%.3f", x / y }')
  ratios+=("$r")
  printf '%4d %8d %8d  %s\n' "$i" "$ra" "$rb" "$r"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "B/A median %.3f, range %.3f-%.3f over %d pairs\n", m, v[1], v[NR], NR }'
