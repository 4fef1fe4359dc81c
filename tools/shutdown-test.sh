#!/usr/bin/env bash
# chorusd's graceful shutdown, end to end, with uploaded videos: a real chorusd (one Gemini model
# on the fake upstream, tools/fake_upstream/server.py) gets SIGTERM. Three cases:
#   1. an RPC call and an SSE call streaming answers about a video it uploaded through the Files
#      API, shorter than the drain grace: both finish normally (`complete`; SSE with `[DONE]`);
#   2. the same with answers longer than `--drain-grace 1`: both end at the grace with a retryable
#      UNAVAILABLE `error` event (SSE still with `[DONE]`);
#   3. a call whose video Google is still processing when the grace ends: the call ends at the
#      grace, and the uploaded file is deleted anyway (no cache holds it) before chorusd exits.
# In cases 1 and 2 a new RPC call (UNAVAILABLE) and a new SSE request (503, or no connection) are
# refused at once while the two drain, and the upload is deleted (DELETE /v1beta/files/{id}) after
# both calls ended, i.e. the upload janitor stops after the RPC server and the bridge
# (ServeCommand's service order). chorusd always exits with status 0.
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
# (Python's urllib, not the curl tool: CI machines get libcurl's headers, not its command line.)
http_get() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' "$1"; }
# sse_post URL JSON: prints the response body as it arrives, or "HTTP <status> <body>", or "refused: …".
sse_post() {
    python3 - "$1" "$2" <<'EOF'
import sys, urllib.error, urllib.request
request = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=60) as response:
        for line in response:
            sys.stdout.write(line.decode())
            sys.stdout.flush()
except urllib.error.HTTPError as error:
    print(f"HTTP {error.code} {error.read().decode()}")
except OSError as error:
    print(f"refused: {error}")
EOF
}

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

# shutdown_case NAME GAP_MS EXPECTED [chorusd flags…]: EXPECTED is `complete` (both calls finish)
# or `grace` (both end with the drain grace's UNAVAILABLE error).
shutdown_case() {
    local name="$1" gap="$2" expected="$3"
    shift 3
    local rpc_port http_port server rpc_call sse_call status signalled exited
    # A request log (and file store) of this case's own.
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"", method="POST"))' "${fake}/_fake/reset"
    read -r rpc_port http_port < <(tools/free-ports.sh 2 | xargs)
    GEMINI_API_KEY=shutdown-test "$bin/chorusd" --registry "$work/registry.json" --media-root "$work/media" \
        --rpc-address "127.0.0.1:${rpc_port}" --http-address "127.0.0.1:${http_port}" --log-level info "$@" \
        >"$work/chorusd.log" 2>&1 &
    server=$!
    pids+=("$server")
    tools/wait-for-port.sh "$rpc_port" || fail "$name: chorusd did not listen on its RPC port"
    tools/wait-for-port.sh "$http_port" || fail "$name: chorusd did not listen on its HTTP port"

    # Two streaming answers: the fake pauses GAP ms between writes (16 writes).
    "$bin/chorus" analyze "What happens in the clip? [fake:gap=${gap}]" --server "127.0.0.1:${rpc_port}" \
        --models gemini --video-path clip.mp4 --json >"$work/rpc.json" 2>"$work/rpc.err" &
    rpc_call=$!
    pids+=("$rpc_call")
    sse_post "http://127.0.0.1:${http_port}/api/analyze/stream/parallel" \
        "{\"query\": \"And then? [fake:gap=${gap}]\", \"models\": [\"gemini\"], \"video_path\": \"clip.mp4\"}" >"$work/sse.txt" 2>&1 &
    sse_call=$!
    pids+=("$sse_call")

    # Both answers have started streaming (so the upload exists and is in use).
    streams() {
        http_get "${fake}/_fake/requests" | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["method"] == "POST" and ":streamGenerateContent" in r["path"]))'
    }
    for _ in $(seq 1 100); do [ "$(streams)" -ge 2 ] && break; sleep 0.1; done
    [ "$(streams)" -ge 2 ] || fail "$name: the two calls did not reach the upstream within 10 s"
    sleep 0.5

    kill -TERM "$server"
    signalled=$(date +%s.%N)
    sleep 0.3
    # New calls while the two drain: refused at once, they are not.
    status=0
    "$bin/chorus" analyze "Too late" --server "127.0.0.1:${rpc_port}" --models gemini --timeout 5 >"$work/late.out" 2>&1 || status=$?
    [ "$status" -ne 0 ] && grep -q UNAVAILABLE "$work/late.out" ||
        fail "$name: a call after SIGTERM was not refused with UNAVAILABLE (exit ${status}): $(cat "$work/late.out")"
    echo "shutdown-test: $name: ok: a new call during the drain is refused: $(head -1 "$work/late.out" | cut -c1-100)"
    local late_sse
    late_sse="$(sse_post "http://127.0.0.1:${http_port}/api/analyze/stream/parallel" '{"query": "Too late", "models": ["gemini"]}')"
    case "$late_sse" in
        "HTTP 503"* | refused*) echo "shutdown-test: $name: ok: a new SSE request during the drain is refused: ${late_sse}" ;;
        *) fail "$name: a new SSE request after SIGTERM was not refused: ${late_sse}" ;;
    esac

    status=0
    wait "$rpc_call" || status=$?
    wait "$sse_call" || fail "$name: the SSE client failed: $(tail -3 "$work/sse.txt")"
    grep -q '^data: \[DONE\]' "$work/sse.txt" || fail "$name: the SSE stream did not end with [DONE]: $(tail -4 "$work/sse.txt")"
    if [ "$expected" = complete ]; then
        [ "$status" -eq 0 ] || fail "$name: the RPC call did not finish normally after SIGTERM (exit ${status})"
        for out in rpc.json sse.txt; do
            grep -q '"event_type":"complete".*"succeeded":\["gemini"\]' "$work/$out" ||
                fail "$name: $out has no complete event with gemini succeeded: $(tail -3 "$work/$out")"
        done
        echo "shutdown-test: $name: ok: both running calls finished: $(grep -c text_generation "$work/rpc.json") and $(grep -c '"text_generation"' "$work/sse.txt") text events, complete"
    else
        [ "$status" -ne 0 ] || fail "$name: the RPC call outlived the drain grace"
        for out in rpc.json sse.txt; do
            grep -q '"event_type":"error","message":"server shutting down: the call did not finish within the 1.0 seconds drain grace period","code":"UNAVAILABLE","retryable":true' "$work/$out" ||
                fail "$name: $out does not end with the drain grace's error: $(tail -3 "$work/$out")"
        done
        echo "shutdown-test: $name: ok: both running calls ended at the grace with a retryable UNAVAILABLE error event"
    fi

    for _ in $(seq 1 200); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$server" 2>/dev/null && fail "$name: chorusd still runs 20 s after its calls ended"
    status=0
    wait "$server" || status=$?
    exited=$(date +%s.%N)
    [ "$status" -eq 0 ] || fail "$name: chorusd exited with status ${status}"
    echo "shutdown-test: $name: ok: chorusd exited 0, $(python3 -c "print(f'{$exited - $signalled:.2f}')") s after SIGTERM"

    # The upload was deleted, and only after both calls' last events (Unix milliseconds, same clock).
    http_get "${fake}/_fake/requests" >"$work/requests.json"
    python3 - "$name" "$work/requests.json" "$work/rpc.json" "$work/sse.txt" <<'EOF' || fail "$name: upload deletion check"
import json, re, sys
name, requests = sys.argv[1], json.load(open(sys.argv[2]))
ends = []
for path in sys.argv[3:]:
    stamps = [json.loads(line)["timestamp"] / 1000 for line in (l.removeprefix("data: ").strip() for l in open(path))
              if line.startswith("{") and '"timestamp"' in line]
    ends.append(max(stamps))
uploaded = {m.group(1) for r in requests if r["method"] == "GET" for m in [re.fullmatch(r"/v1beta/files/([^/?]+)", r["path"])] if m}
deletes = [r for r in requests if r["method"] == "DELETE" and r["path"].startswith("/v1beta/files/")]
if len(uploaded) != 1:
    sys.exit(f"expected 1 uploaded file, got {sorted(uploaded)}")
if [r["path"] for r in deletes] != [f"/v1beta/files/{f}" for f in uploaded]:
    sys.exit(f"expected one DELETE of {sorted(uploaded)}, got {[r['path'] for r in deletes]}")
lead = deletes[0]["time"] - max(ends)
if lead <= 0:
    sys.exit(f"the upload was deleted {-lead * 1000:.1f} ms BEFORE the last call's last event")
print(f"shutdown-test: {name}: ok: the upload was deleted {lead * 1000:.1f} ms after the last call's last event")
EOF
}

# 16 writes 200 ms apart (about 3 s), well within the default 30 s grace.
shutdown_case "answers within the grace" 200 complete
# 16 writes 800 ms apart (about 13 s), past a one-second grace.
shutdown_case "answers past --drain-grace 1" 800 grace --drain-grace 1

# 3. A video Google is still processing when the grace ends: the call is stopped, no cache holds
#    the file, and it must still be deleted before chorusd exits (UploadJanitor.deleteAbandoned).
name="upload still processing at the grace"
python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"", method="POST"))' "${fake}/_fake/reset"
slow='slow[fake:polls=1000000].mp4'
cp "$work/media/clip.mp4" "$work/media/$slow"
rpc_port="$(tools/free-ports.sh)"
GEMINI_API_KEY=shutdown-test "$bin/chorusd" --registry "$work/registry.json" --media-root "$work/media" \
    --rpc-address "127.0.0.1:${rpc_port}" --http-address off --drain-grace 1 --log-level info >"$work/chorusd.log" 2>&1 &
server=$!
pids+=("$server")
tools/wait-for-port.sh "$rpc_port" || fail "$name: chorusd did not listen"
"$bin/chorus" analyze "What happens?" --server "127.0.0.1:${rpc_port}" --models gemini --video-path "$slow" >"$work/rpc.err" 2>&1 &
rpc_call=$!
pids+=("$rpc_call")
polls() { http_get "${fake}/_fake/requests" | python3 -c 'import json, sys; print(sum(1 for r in json.load(sys.stdin) if r["method"] == "GET" and r["path"].startswith("/v1beta/files/")))'; }
for _ in $(seq 1 100); do [ "$(polls)" -ge 2 ] && break; sleep 0.1; done
[ "$(polls)" -ge 2 ] || fail "$name: the upload was not being polled within 10 s"
kill -TERM "$server"
status=0
wait "$rpc_call" || status=$?
[ "$status" -ne 0 ] && grep -q "drain grace" "$work/rpc.err" || fail "$name: the call did not end at the grace: $(cat "$work/rpc.err")"
status=0
wait "$server" || status=$?
[ "$status" -eq 0 ] || fail "$name: chorusd exited with status ${status}"
http_get "${fake}/_fake/requests" | python3 -c '
import json, re, sys
requests = json.load(sys.stdin)
files = {m.group(1) for r in requests if r["method"] == "GET" for m in [re.fullmatch(r"/v1beta/files/([^/?]+)", r["path"])] if m}
deletes = [r["path"] for r in requests if r["method"] == "DELETE"]
if len(files) != 1 or deletes != [f"/v1beta/files/{f}" for f in files]:
    sys.exit(f"expected one DELETE of {sorted(files)}, got {deletes}")
' || fail "$name: the abandoned upload was not deleted"
echo "shutdown-test: $name: ok: the call ended at the grace, the file was deleted, chorusd exited 0"
echo "shutdown-test: all checks passed"
