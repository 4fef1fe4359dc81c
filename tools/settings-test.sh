#!/usr/bin/env bash
# chorusd's settings from flags and environment variables: a value that is out of range, not a
# number, or a number a Duration cannot hold must stop chorusd at start with a message naming the
# flag or variable (never fall back to the default silently), and good values must start it.
#
#   tools/settings-test.sh          # builds chorusd (debug) if needed; exits non-zero on a failure
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --product chorusd >&2
bin="$(swift build --show-bin-path)/chorusd"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0

# refused <message that must appear> -- <env assignments...> -- <chorusd arguments...>
refused() {
    local needle="$1"; shift 2
    local assignments=()
    while [ "$1" != "--" ]; do assignments+=("$1"); shift; done
    shift
    local status=0
    env "${assignments[@]}" timeout 20 "$bin" "$@" >"$work/out" 2>&1 || status=$?
    if [ "$status" = 0 ] || [ "$status" = 124 ] || ! grep -qF -- "$needle" "$work/out"; then
        echo "settings-test: FAILED: $* with ${assignments[*]:-no environment} (exit $status, wanted an error with '$needle'):" >&2
        sed 's/^/    /' "$work/out" >&2
        failures=$((failures + 1))
    else
        echo "settings-test: ok: refused ${assignments[*]:-} $* -> $(grep -F -- "$needle" "$work/out" | head -1)"
    fi
}

serve=(serve --rpc-address 127.0.0.1:0 --http-address 127.0.0.1:0)
bridge=(bridge --upstream 127.0.0.1:9 --http-address 127.0.0.1:0)
refused "CHORUS_HTTP_MAX_CALLS='1k' is not a positive integer (HTTP max calls)" -- CHORUS_HTTP_MAX_CALLS=1k -- "${serve[@]}"
refused "CHORUS_HEARTBEAT='inf' is not a number of seconds" -- CHORUS_HEARTBEAT=inf -- "${serve[@]}"
refused "CHORUS_DRAIN_GRACE='soon' is not a number of seconds" -- CHORUS_DRAIN_GRACE=soon -- "${serve[@]}"
refused "CHORUS_RESUME_GRACE='nan' is not a number of seconds" -- CHORUS_RESUME_GRACE=nan -- "${serve[@]}"
refused "replay retention must be a finite number of seconds" -- -- "${serve[@]}" --replay-retention 1e300
refused "HTTP max calls must be a positive integer" -- -- "${serve[@]}" --http-max-calls 0
refused "CHORUS_MAX_FRAME_BYTES='big' is not a positive integer" -- CHORUS_MAX_FRAME_BYTES=big -- "${serve[@]}"
refused "upstream connections must be a positive integer, got 0" -- -- "${bridge[@]}" --upstream-connections 0
refused "upstream idle timeout must be zero or more seconds" -- -- "${bridge[@]}" --upstream-idle-timeout=-1
refused "CHORUS_UPSTREAM_IDLE_TIMEOUT='1e12' is not a number of seconds" -- CHORUS_UPSTREAM_IDLE_TIMEOUT=1e12 -- "${bridge[@]}"

# Good values, from flags and from the environment (blank variables count as unset), start chorusd.
ports=($(tools/free-ports.sh 2))
CHORUS_HTTP_MAX_CALLS=" 50 " CHORUS_HEARTBEAT=5 CHORUS_DRAIN_GRACE= "$bin" serve --rpc-address "127.0.0.1:${ports[0]}" \
    --http-address "127.0.0.1:${ports[1]}" --replay-retention 30 --log-level warning >"$work/serve.log" 2>&1 &
server=$!
if tools/wait-for-port.sh "${ports[1]}"; then
    echo "settings-test: ok: chorusd serve started with good settings"
else
    echo "settings-test: FAILED: chorusd serve did not start with good settings:" >&2
    sed 's/^/    /' "$work/serve.log" >&2
    failures=$((failures + 1))
fi
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true

if [ "$failures" != 0 ]; then
    echo "settings-test: $failures check(s) failed" >&2
    exit 1
fi
echo "settings-test: all checks passed"
