#!/usr/bin/env bash
# Profiles one side of the throughput scenario with perf (cpu-clock sampling, frame-pointer call
# graphs), client and server process separately. Needs Debian's linux-perf; the build must exist
# (run.sh builds it).
#
#   tools/bench/profile.sh                      # chorus side, 2,000,000 events
#   tools/bench/profile.sh grpc 300000          # grpc side
set -euo pipefail
cd "$(dirname "$0")"
side="${1:-chorus}"
events="${2:-2000000}"
command -v perf >/dev/null || { echo "profile.sh: needs perf (apt-get install linux-perf)" >&2; exit 1; }
bin="$(swift build -c release --show-bin-path)/chorus-bench"
out="${PROFILE_DIR:-/tmp/chorus-bench-profile}"
mkdir -p "$out"
perf record -e cpu-clock -F 1999 -g -o "$out/$side.perf.data" -- \
    "$bin" throughput --side "$side" --events "$events" --runs 1 --warmup 100000 --json "$out/$side.json"
perf script -i "$out/$side.perf.data" -F pid,tid,ip,sym 2>/dev/null | swift demangle --simplified \
    | ./perf_split.py --top 30 > "$out/$side.txt"
echo "profile.sh: per-process profile in $out/$side.txt (one section per process, labelled client or server)"
