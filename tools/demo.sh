#!/usr/bin/env bash
# Builds Chorus, starts chorusd on the built-in demo registry (no API keys, no network) and runs
# one analysis through the CLI, so three models stream side by side. Stops the server at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh
swift build
bin="$(swift build --show-bin-path)"
port="${CHORUS_DEMO_PORT:-7070}"
# The demo stays offline even on a machine with provider keys set: they would switch models to the real APIs.
env -u OPENAI_API_KEY -u GEMINI_API_KEY -u TWELVELABS_API_KEY "$bin/chorusd" --rpc-address "127.0.0.1:$port" --http-address "127.0.0.1:${CHORUS_DEMO_HTTP_PORT:-8080}" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  "$bin/chorus" health --server "127.0.0.1:$port" >/dev/null 2>&1 && break
  sleep 0.1
done
"$bin/chorus" analyze "What is happening in this video?" --models gemini,pegasus,gpt4o --server "127.0.0.1:$port" "$@"
