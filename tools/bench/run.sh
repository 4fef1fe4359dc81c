#!/usr/bin/env bash
# Builds chorus-bench and runs every scenario: Chorus against grpc-swift-2, direct upstream calls
# and sequential calls.
#
#   tools/bench/run.sh                 # full run (release build): table on stdout, JSON in tools/bench/results/latest.json
#   tools/bench/run.sh --smoke         # tiny configuration (debug build: compiles faster; correctness only)
#   tools/bench/run.sh throughput --events 2000000 --runs 5     # one scenario, any chorus-bench arguments
#   tools/bench/run.sh --build-only    # build only, print the binary's path (for callgrind.sh)
#
# Benchmarks are never timing assertions: only correctness failures make the exit status non-zero.
# CHORUS_BENCH_CONFIGURATION=release|debug overrides the build configuration.
set -euo pipefail
cd "$(dirname "$0")"

# The main package needs libprotobuf-c and libcurl to build.
if [ -x ../bootstrap.sh ]; then ../bootstrap.sh >&2; fi

configuration="${CHORUS_BENCH_CONFIGURATION:-release}"
for argument in "$@"; do
  if [ "$argument" = "--smoke" ] && [ -z "${CHORUS_BENCH_CONFIGURATION:-}" ]; then configuration=debug; fi
done

echo "run.sh: building chorus-bench ($configuration); a first build compiles grpc-swift-2 and takes several minutes" >&2
# SwiftPM caches the build plan of the path dependency (the main package): a source file added
# there since the last bench build would be missing from it. Regenerating the plan costs seconds.
rm -f ".build/$configuration/description.json"
swift build -c "$configuration" --product chorus-bench >&2
bin="$(swift build -c "$configuration" --show-bin-path)/chorus-bench"
if [ "${1:-}" = "--build-only" ]; then echo "$bin"; exit 0; fi

export CHORUS_BENCH_SWIFT_VERSION="$(swift --version 2>/dev/null | head -n 1)"
exec "$bin" "$@"
