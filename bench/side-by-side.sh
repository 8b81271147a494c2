#!/bin/bash
# Cold synthesis of 1000 generated jobs by two checkouts of this project, side by side:
#   bench/side-by-side.sh <before-checkout> <after-checkout> <output-base> [rounds] [jobs]
# Each checkout must be built (npm run build). Per round, in this order: the before checkout's
# `full` (synth --force into an empty folder, bench/incremental.ts), the after checkout's `full`,
# and its `threads` (the same with a worker thread; skipped when that checkout has no such mode).
# Every run is a fresh process writing into <output-base>-<variant> on the file system that
# holds it (pass a path on the disk users write to, and one on tmpfs, to separate the file
# system's cost). One line per run: wall seconds (process), files written, and the child's JSON
# (buildMs, synthMs: in-process wall; cpuMs: all threads; peakMiB).
set -euo pipefail
before=$1; after=$2; base=$3; rounds=${4:-3}; jobs=${5:-1000}
variants="before after"
if grep -q "'threads'" "$after/build/bench/incremental.js"; then variants="$variants threads"; fi
trap 'rm -rf "$base-before" "$base-after" "$base-threads"' EXIT
for r in $(seq 1 "$rounds"); do
  for v in $variants; do
    d=$base-$v; rm -rf "$d"; mkdir -p "$d"; sync; sleep 3
    case $v in
      before) js=$before/build/bench/incremental.js; mode=full ;;
      after) js=$after/build/bench/incremental.js; mode=full ;;
      threads) js=$after/build/bench/incremental.js; mode=threads ;;
    esac
    s=$(date +%s%N); out=$(node "$js" --child "$mode" "$jobs" "$d"); e=$(date +%s%N)
    echo "round=$r variant=$v wall=$(( (e - s) / 1000000 ))ms files=$(find "$d" -type f | wc -l) $out"
  done
done
