#!/usr/bin/env bash
# chorusd's graceful shutdown, end to end, with an uploaded video in use: a real chorusd (one
# Gemini model on the fake upstream, tools/fake_upstream/server.py) gets SIGTERM while an RPC call
# and an SSE call are streaming answers about a video it uploaded through the Files API. Checks:
#   - a new RPC call (UNAVAILABLE) and a new SSE request (503, or no connection) are refused at
#     once while the two drain;
#   - both running calls finish normally (`complete`, the SSE stream with `[DONE]`);
#   - the upload is deleted (DELETE /v1beta/files/{id}) after both calls' `complete` events, i.e.
#     the upload janitor stops after the RPC server and the bridge (ServeCommand's service order);
#   - chorusd exits with status 0.
#
#   tools/shutdown-test.sh          # builds chorusd and chorus (debug) if needed; non-zero on a failure
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --product chorusd >&2
swift build --product chorus >&2
bin="$(swift build --show-bin-path)"
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "shutdown-test: FAILED: $*" >&2
    for log in chorusd.log rpc.err; do
        [ -s "$work/$log" ] && { echo "--- $log" >&2; tail -20 "$work/$log" >&2; }
    done
    exit 1
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

python3 tools/fake_upstream/server.py --port 0 >"$work/fake.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -q '^PORT ' "$work/fake.out" && break; sleep 0.1; done
fake_port="$(awk '/^PORT /{print $2; exit}' "$work/fake.out")"
[ -n "$fake_port" ] || fail "the fake upstream did not start: $(cat "$work/fake.out")"
fake="http://127.0.0.1:${fake_port}"

mkdir "$work/media"
ffmpeg -loglevel error -f lavfi -i testsrc=duration=1:size=160x120:rate=10 -pix_fmt yuv420p "$work/media/clip.mp4"
cat >"$work/registry.json" <<EOF
{"models": [{"name": "gemini", "provider": "gemini", "base_url": "${fake}/v1beta",
  "upstream_model": "gemini-3.5-flash", "files": {"poll_interval_ms": 50}}]}
EOF
rpc_port="$(free_port)"
http_port="$(free_port)"
GEMINI_API_KEY=shutdown-test "$bin/chorusd" --registry "$work/registry.json" --media-root "$work/media" \
    --rpc-address "127.0.0.1:${rpc_port}" --http-address "127.0.0.1:${http_port}" --log-level info \
    >"$work/chorusd.log" 2>&1 &
server=$!
pids+=("$server")
tools/wait-for-port.sh "$rpc_port" || fail "chorusd did not listen on its RPC port"
tools/wait-for-port.sh "$http_port" || fail "chorusd did not listen on its HTTP port"

# Two answers that stream for about three seconds: the fake pauses 200 ms between writes.
"$bin/chorus" analyze "What happens in the clip? [fake:gap=200]" --server "127.0.0.1:${rpc_port}" \
    --models gemini --video-path clip.mp4 --json >"$work/rpc.json" 2>"$work/rpc.err" &
rpc_call=$!
pids+=("$rpc_call")
# (Python's urllib, not the curl tool: CI machines get libcurl's headers, not its command line.)
python3 - "http://127.0.0.1:${http_port}/api/analyze/stream/parallel" >"$work/sse.txt" 2>&1 <<'EOF' &
import sys, urllib.request
body = b'{"query": "And then? [fake:gap=200]", "models": ["gemini"], "video_path": "clip.mp4"}'
request = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=60) as response:
    for line in response:
        sys.stdout.write(line.decode())
        sys.stdout.flush()
EOF
sse_call=$!
pids+=("$sse_call")

# Both answers have started streaming (so the upload exists and is in use).
fake_requests() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' "${fake}/_fake/requests"; }
streams() {
    fake_requests | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["method"] == "POST" and ":streamGenerateContent" in r["path"]))'
}
for _ in $(seq 1 100); do [ "$(streams)" -ge 2 ] && break; sleep 0.1; done
[ "$(streams)" -ge 2 ] || fail "the two calls did not reach the upstream within 10 s"
sleep 0.5

kill -TERM "$server"
signalled=$(date +%s.%N)
sleep 0.3
# A new call while the two drain: refused at once, they are not.
status=0
"$bin/chorus" analyze "Too late" --server "127.0.0.1:${rpc_port}" --models gemini --timeout 5 >"$work/late.out" 2>&1 || status=$?
[ "$status" -ne 0 ] && grep -q UNAVAILABLE "$work/late.out" ||
    fail "a call after SIGTERM was not refused with UNAVAILABLE (exit ${status}): $(cat "$work/late.out")"
echo "shutdown-test: ok: a new call during the drain is refused: $(head -1 "$work/late.out")"
late_sse="$(python3 - "http://127.0.0.1:${http_port}/api/analyze/stream/parallel" <<'EOF'
import sys, urllib.error, urllib.request
request = urllib.request.Request(sys.argv[1], data=b'{"query": "Too late", "models": ["gemini"]}',
                                 headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        print(f"HTTP {response.status}")
except urllib.error.HTTPError as error:
    print(f"HTTP {error.code} {error.read().decode()}")
except OSError as error:
    print(f"refused: {error}")
EOF
)"
case "$late_sse" in
    "HTTP 503"* | refused*) echo "shutdown-test: ok: a new SSE request during the drain is refused: ${late_sse}" ;;
    *) fail "a new SSE request after SIGTERM was not refused: ${late_sse}" ;;
esac

wait "$rpc_call" || fail "the RPC call did not finish normally after SIGTERM (exit $?)"
grep -q '"event_type":"complete".*"succeeded":\["gemini"\]' "$work/rpc.json" ||
    fail "the RPC call has no complete event with gemini succeeded: $(tail -3 "$work/rpc.json")"
echo "shutdown-test: ok: the running RPC call finished: $(grep -c text_generation "$work/rpc.json") text events, complete"
wait "$sse_call" || fail "the SSE request failed (exit $?): $(tail -3 "$work/sse.txt")"
grep -q '"event_type":"complete".*"succeeded":\["gemini"\]' "$work/sse.txt" && grep -q '^data: \[DONE\]' "$work/sse.txt" ||
    fail "the SSE stream did not end with complete and [DONE]: $(tail -4 "$work/sse.txt")"
echo "shutdown-test: ok: the running SSE call finished: $(grep -c '"text_generation"' "$work/sse.txt") text events, complete, [DONE]"

for _ in $(seq 1 200); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
kill -0 "$server" 2>/dev/null && fail "chorusd still runs 20 s after its calls ended"
status=0
wait "$server" || status=$?
exited=$(date +%s.%N)
[ "$status" -eq 0 ] || fail "chorusd exited with status ${status}"
echo "shutdown-test: ok: chorusd exited 0, $(python3 -c "print(f'{$exited - $signalled:.2f}')") s after SIGTERM"

# The upload was deleted, and only after both calls' complete events (Unix milliseconds, same clock).
fake_requests >"$work/requests.json"
python3 - "$work/requests.json" "$work/rpc.json" "$work/sse.txt" <<'EOF' || fail "upload deletion check"
import json, re, sys
requests = json.load(open(sys.argv[1]))
completes = []
for path in sys.argv[2:]:
    for line in open(path):
        line = line.removeprefix("data: ").strip()
        if '"event_type":"complete"' in line:
            completes.append(json.loads(line)["timestamp"] / 1000)
uploaded = {m.group(1) for r in requests if r["method"] == "GET" for m in [re.fullmatch(r"/v1beta/files/([^/?]+)", r["path"])] if m}
deletes = [r for r in requests if r["method"] == "DELETE" and r["path"].startswith("/v1beta/files/")]
if len(completes) != 2 or len(uploaded) != 1:
    sys.exit(f"expected 2 complete events and 1 uploaded file, got {len(completes)} and {sorted(uploaded)}")
if [r["path"] for r in deletes] != [f"/v1beta/files/{f}" for f in uploaded]:
    sys.exit(f"expected one DELETE of {sorted(uploaded)}, got {[r['path'] for r in deletes]}")
lead = deletes[0]["time"] - max(completes)
if lead <= 0:
    sys.exit(f"the upload was deleted {-lead * 1000:.1f} ms BEFORE the last call completed")
print(f"shutdown-test: ok: the upload was deleted {lead * 1000:.1f} ms after the last call's complete event")
EOF
echo "shutdown-test: all checks passed"
