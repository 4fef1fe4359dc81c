#!/usr/bin/env bash
# Builds chorus-bench (release) and runs every scenario: Chorus RPC vs grpc-swift-2.
#
#   tools/bench/run.sh                 # full run: table on stdout, JSON in tools/bench/results/latest.json
#   tools/bench/run.sh --smoke         # tiny configuration (seconds); non-zero exit on any lost/out-of-order event
#   tools/bench/run.sh throughput --events 2000000 --runs 5     # one scenario, any chorus-bench arguments
#
# Benchmarks are never timing assertions: only correctness failures make the exit status non-zero.
set -euo pipefail
cd "$(dirname "$0")"

# The main package needs libprotobuf-c and libcurl to build.
if [ -x ../bootstrap.sh ]; then ../bootstrap.sh >&2; fi

echo "run.sh: building chorus-bench (release); a first build compiles grpc-swift-2 and takes several minutes" >&2
swift build -c release --product chorus-bench >&2
bin="$(swift build -c release --show-bin-path)/chorus-bench"

export CHORUS_BENCH_SWIFT_VERSION="$(swift --version 2>/dev/null | head -n 1)"
exec "$bin" "$@"
