#!/usr/bin/env bash
# Interop check of the second implementation: tools/raw_client.py (stdlib Python, written from
# proto/PROTOCOL.md alone) against a real chorusd on the built-in demo models. Each call must end
# as expected: Analyze streams that pass the client's own contract check (PROTOCOL.md section 9),
# ListModels, Health, a refused call with its status, a client CANCEL, and a hex dump.
#
#   tools/raw-client-test.sh          # builds chorusd (debug) if needed; exits non-zero on a failure
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --product chorusd >&2
bin="$(swift build --show-bin-path)/chorusd"
port="$(tools/free-ports.sh)"
work="$(mktemp -d)"
"$bin" --rpc-address "127.0.0.1:${port}" --log-level warning >"$work/chorusd.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
tools/wait-for-port.sh "$port" || { cat "$work/chorusd.log" >&2; exit 1; }

failures=0
client() { python3 tools/raw_client.py --server "127.0.0.1:${port}" --timeout 30 "$@"; }
# expect <name> <exit status> <text the output must contain> -- <raw_client arguments>
expect() {
    local name="$1" status="$2" needle="$3"
    shift 4
    local actual=0
    client "$@" >"$work/out" 2>&1 || actual=$?
    if [ "$actual" != "$status" ] || ! grep -q -- "$needle" "$work/out"; then
        echo "raw-client-test: FAILED: $name (exit $actual, wanted $status and '$needle'):" >&2
        sed 's/^/    /' "$work/out" >&2
        failures=$((failures + 1))
    else
        echo "raw-client-test: ok: $name"
    fi
}

expect "analyze, three demo models, contract checked" 0 '"name": "OK"' -- \
    --query "Describe the opening scene [demo:fast] [demo:words=30]" --models gemini,pegasus,gpt4o --json
expect "analyze, the server's recommended models" 0 '"payload": "complete"' -- \
    --query "What happens? [demo:fast]" --json
expect "analyze, one model failing, the others complete" 0 '"payload": "error"' -- \
    --query "What happens? [demo:fast] [demo:fail=pegasus]" --models gemini,pegasus --json
expect "list-models" 0 'gemini' -- --method list-models
expect "health" 0 'SERVING' -- --method health
expect "unknown model refused with its status" 1 'INVALID_ARGUMENT' -- \
    --query "What happens?" --models no-such-model
expect "empty query refused with its status" 1 'INVALID_ARGUMENT' -- --query "" --models gemini
expect "client CANCEL after two events" 1 'CANCELLED' -- \
    --query "A long answer [demo:words=400]" --models gemini --cancel-after 2
expect "annotated hex dump" 0 'CALL_START' -- \
    --query "Describe it [demo:fast] [demo:words=5]" --models gemini --hexdump

if ! kill -0 "$server" 2>/dev/null; then
    echo "raw-client-test: FAILED: chorusd exited during the checks:" >&2
    cat "$work/chorusd.log" >&2
    failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] || { echo "raw-client-test: $failures check(s) failed" >&2; exit 1; }
echo "raw-client-test: all checks passed"
