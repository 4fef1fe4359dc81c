#!/usr/bin/env bash
# Runs the wire-codec tests (every protobuf-c pack/unpack path, including malformed input) and the
# libcurl transfer tests (every easy handle and header list freed on success, error and cancel) in an
# AddressSanitizer build with LeakSanitizer on, and fails on any leak. Valgrind 3.19 (Debian 12)
# cannot read the DWARF 5 debug info of Swift 6.3 binaries, so LeakSanitizer is the checker here.
# Uses its own scratch path so the normal debug build is untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-asan
swift build --build-tests --sanitize=address --scratch-path "$scratch"
bin="$scratch/debug/chorusPackageTests.xctest"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 LSAN_OPTIONS=report_objects=0 \
  "$bin" --testing-library swift-testing --filter "ChorusWireTests|ChorusCurlTests" >"$log" 2>&1 || status=$?
grep -E "Test run|LeakSanitizer|SUMMARY" "$log" || true
if [ "$status" -ne 0 ] || grep -q "LeakSanitizer" "$log"; then
  echo "leak check failed (exit $status); log:" >&2
  tail -80 "$log" >&2
  exit 1
fi
echo "leak check passed: LeakSanitizer found no leaks in the wire and curl tests"
