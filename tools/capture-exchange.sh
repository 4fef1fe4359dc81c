#!/usr/bin/env bash
# Captures the annotated hex dump of a real Analyze exchange, as shown in proto/PROTOCOL.md §12.
#
#   tools/capture-exchange.sh [output-file]        # default: stdout
#
# Builds chorusd, starts it on a private port (CHORUS_CAPTURE_PORT, default 7071, so it does not
# collide with a chorusd on 7070), runs tools/raw_client.py with --hexdump against it and stops
# the server again. Environment: CHORUS_CAPTURE_QUERY, CHORUS_CAPTURE_MODELS override the call.
set -euo pipefail

cd "$(dirname "$0")/.."
port="${CHORUS_CAPTURE_PORT:-7071}"
query="${CHORUS_CAPTURE_QUERY:-Describe the opening scene [demo:fast] [demo:words=12]}"
models="${CHORUS_CAPTURE_MODELS:-gemini}"
output="${1:-/dev/stdout}"

swift build --product chorusd >&2
bin="$(swift build --show-bin-path)/chorusd"

"$bin" --rpc-address "127.0.0.1:${port}" --log-level warning >&2 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

# Wait until the listener accepts connections (at most ~10 s).
tools/wait-for-port.sh "$port"

python3 tools/raw_client.py --server "127.0.0.1:${port}" --query "$query" --models "$models" \
    --request-id capture-1 --timeout 30 --hexdump --hexdump-file "$output"
