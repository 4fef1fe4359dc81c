#!/usr/bin/env bash
# The whole test suite: system packages, generated-code drift, every Swift test, and the
# protobuf-c wire tests under valgrind (fails on any definite leak).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh
tools/check-generated.sh
swift build --build-tests
swift test --skip-build --parallel
tools/leak-check.sh
