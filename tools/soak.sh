#!/usr/bin/env bash
# Soak: a real chorusd (debug build, or CHORUSD=path) and a `chorusd bridge` in front of it under
# mixed RPC and SSE calls with upstream faults (the fake upstream, real HTTP through libcurl) and
# clients that leave or cancel, for two rounds. Fails on any broken event stream or wrong text, on
# client connections left open, on descriptors or threads that grew from the first quiet point to
# the second, on RSS growth beyond a bound, or on an unclean SIGTERM exit. See tools/soak/run.py.
#
#   tools/soak.sh                          # 60 s, 12 client threads
#   tools/soak.sh --duration 600 --workers 24 --seed 7
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CHORUSD:-}" ]; then
    swift build --product chorusd >&2
    CHORUSD="$(swift build --show-bin-path)/chorusd"
fi
exec python3 tools/soak/run.py --chorusd "$CHORUSD" "$@"
