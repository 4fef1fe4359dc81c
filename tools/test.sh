#!/usr/bin/env bash
# The whole test suite: system packages, generated-code drift, every Swift test, and the
# protobuf-c wire tests under LeakSanitizer (fails on any leak).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh
tools/check-generated.sh
swift build --build-tests
# Serial: the suite has loopback tests that compare wall-clock durations, which a 2-core
# machine running every test at once would distort.
swift test --skip-build --no-parallel
tools/leak-check.sh
