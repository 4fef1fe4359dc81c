#!/usr/bin/env bash
# Runs the wire-codec tests (every protobuf-c pack/unpack path, including malformed input)
# under valgrind and fails on a definite or indirect leak. Assumes `swift build --build-tests`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(swift build --show-bin-path)/chorusPackageTests.xctest"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
  --error-exitcode=99 --log-file="$log" \
  "$bin" --testing-library swift-testing --filter ChorusWireTests >/dev/null 2>&1 || status=$?
status=${status:-0}
grep -E "definitely lost|indirectly lost|ERROR SUMMARY" "$log" || true
if [ "$status" -ne 0 ]; then
  echo "leak check failed (exit $status); full valgrind log:" >&2
  cat "$log" >&2
  exit 1
fi
echo "leak check passed: no definite or indirect leaks in the wire tests"
