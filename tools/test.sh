#!/usr/bin/env bash
# The whole test suite: system packages, generated-code drift, the fake upstream servers checked
# against the official provider SDKs, every Swift test (the provider adapters run over real HTTP
# against those fakes), the protobuf-c wire and libcurl tests under LeakSanitizer (fails on any
# leak), the independent Python client (tools/raw_client.py) against a real chorusd, chorusd's
# graceful shutdown with calls and an upload in use (tools/shutdown-test.sh), a soak with
# upstream faults and clients that leave (tools/soak.sh), the web page
# in headless Chromium, and that the benchmark suite still builds and runs its
# tiny smoke configuration (correctness only: benchmarks are never timing assertions).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh
tools/check-generated.sh
# The fakes the adapter tests trust must themselves match the real APIs (pip-installs the SDKs).
tools/test-fakes.sh
swift build --build-tests
# Serial: the suite has loopback tests that compare wall-clock durations, which a 2-core
# machine running every test at once would distort.
swift test --skip-build --no-parallel
tools/leak-check.sh
# The stdlib Python client written from proto/PROTOCOL.md alone, against a real chorusd.
tools/raw-client-test.sh
# chorusd refuses unreadable or out-of-range settings (flags and environment) at start, naming them.
tools/settings-test.sh
# SIGTERM to a real chorusd with calls streaming about an uploaded video: refuse, drain, delete, exit 0.
tools/shutdown-test.sh
# A minute of mixed RPC and SSE calls (chorusd's bridge and a standalone `chorusd bridge`) with
# upstream faults and clients that leave: every stream intact, no descriptor, thread or client
# connection left behind, RSS flat, a clean SIGTERM exit.
tools/soak.sh
# The web page in a real headless Chromium against a real chorusd (installs chromium + selenium if missing).
tools/browser-test.sh
# The benchmark tool (tools/bench, a separate package with the grpc-swift-2 baseline) must still
# build and every scenario must deliver every event: exits non-zero on any lost or wrong event.
tools/bench/run.sh --smoke
