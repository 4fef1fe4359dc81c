#!/usr/bin/env bash
# Counts the instructions Chorus executes per call, under valgrind's callgrind: one model
# (openai-compatible, libcurl) against the bench's fake OpenAI upstream, calls one after another
# through the SSE bridge or the binary RPC. Instruction counts do not move with the VM's speed or
# its thread wake-ups the way timings do, so two builds compare to within a fraction of a percent.
#
#   tools/bench/callgrind.sh                 # SSE, 200 measured calls after 100 warm-up calls
#   tools/bench/callgrind.sh rpc 200         # RPC (one `chorus analyze` process per call)
#   CALLGRIND_BIN=/path/to/chorus-bench tools/bench/callgrind.sh    # another build of the bench
#
# Prints user-space instructions per call (kernel time is not counted), the share of each
# library and module, and the top functions by their own instructions; the raw profile stays in
# $CALLGRIND_DIR (default /tmp/chorus-callgrind) for callgrind_annotate. Needs valgrind, python3
# and a C compiler. Two workarounds for Debian 12's valgrind 3.19, neither needed by 3.21+: debug
# info is stripped from copies of the binaries (it cannot read the DWARF 5 Swift 6 emits), and a
# preloaded shim copies the mask libdispatch passes to sigsuspend (3.19 writes into it, and it is
# read-only: every Swift program with an async main crashed valgrind at start).
set -euo pipefail
cd "$(dirname "$0")"
path="${1:-sse}"
calls="${2:-200}"
warmup=$((calls / 2))
case "$path" in sse | rpc) ;; *) echo "callgrind.sh: path is sse or rpc, not '$path'" >&2; exit 2 ;; esac
for tool in valgrind callgrind_annotate callgrind_control python3; do
    command -v "$tool" >/dev/null || { echo "callgrind.sh: needs $tool (apt-get install valgrind python3)" >&2; exit 1; }
done
cc="$(command -v cc || command -v gcc || command -v clang || true)"
[ -n "$cc" ] || { echo "callgrind.sh: needs a C compiler for the sigsuspend shim" >&2; exit 1; }

bin="${CALLGRIND_BIN:-$(CHORUS_BENCH_CONFIGURATION=release ./run.sh --build-only)}"
client=""
if [ "$path" = rpc ]; then
    (cd ../.. && swift build --product chorus >&2)
    client="$(cd ../.. && swift build --show-bin-path)/chorus"
fi

out="${CALLGRIND_DIR:-/tmp/chorus-callgrind}"
rm -rf "$out"
mkdir -p "$out/lib"
objcopy --strip-debug "$bin" "$out/chorus-bench"
swift_libs="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/lib/swift/linux"
for library in "$swift_libs"/*.so; do objcopy --strip-debug "$library" "$out/lib/$(basename "$library")"; done
cat > "$out/sigsuspend.c" <<'EOF'
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
/* valgrind 3.19 sanitises rt_sigsuspend's mask in place; libdispatch's is read-only. */
int sigsuspend(const sigset_t *mask) { sigset_t copy = *mask; return (int)syscall(SYS_rt_sigsuspend, &copy, 8); }
EOF
"$cc" -shared -fPIC -O2 -o "$out/sigsuspend.so" "$out/sigsuspend.c"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
# The bench's servers exit when their stdin closes: hold a FIFO open for them while this runs.
mkfifo "$out/stdin"
exec 9<>"$out/stdin"
# Waits for a server's `LISTENING <port> [<port>]` line (a minute: valgrind starts slowly).
listening() {
    for _ in $(seq 600); do
        if grep -q LISTENING "$1" 2>/dev/null; then grep LISTENING "$1" | head -n 1; return; fi
        sleep 0.1
    done
    echo "callgrind.sh: no LISTENING line in $1" >&2
    exit 1
}
"$bin" serve-fake-openai <"$out/stdin" >"$out/upstream.out" &
pids+=($!)
read -r _ upstream <<<"$(listening "$out/upstream.out")"
cat > "$out/registry.json" <<EOF
{"models": [{"name": "gw", "provider": "openai-compatible", "base_url": "http://127.0.0.1:$upstream/v1",
  "upstream_model": "gpt-4o", "retry": {"max_attempts": 1},
  "timeouts": {"first_chunk_ms": 60000, "idle_ms": 60000, "total_ms": 600000, "connect_ms": 5000}}]}
EOF
LD_PRELOAD="$out/sigsuspend.so" LD_LIBRARY_PATH="$out/lib" valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$out/callgrind.out" "$out/chorus-bench" serve-chorus --registry "$out/registry.json" --http \
    <"$out/stdin" >"$out/chorus.out" 2>"$out/valgrind.log" &
chorus=$!
pids+=("$chorus")
read -r _ rpc_port http_port <<<"$(listening "$out/chorus.out")"

drive() {
    if [ "$path" = sse ]; then
        python3 - "$http_port" "$1" <<'EOF'
import http.client, json, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
body = json.dumps({"query": "What happens in the video?", "models": ["gw"]})
for _ in range(count):
    connection.request("POST", "/api/analyze/stream/parallel", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200 or b"[DONE]" not in data or b'"event_type":"error"' in data:
        sys.exit(f"callgrind.sh: a call failed: HTTP {response.status}: {data[:300]!r}")
EOF
    else
        for _ in $(seq "$1"); do
            "$client" analyze "What happens in the video?" --models gw --server "127.0.0.1:$rpc_port" --json >/dev/null
        done
    fi
}
drive "$warmup"
callgrind_control --instr=on "$chorus" >/dev/null
drive "$calls"
callgrind_control --dump "$chorus" >/dev/null
callgrind_control --instr=off "$chorus" >/dev/null
profile="$(ls "$out"/callgrind.out.* | head -n 1)"
callgrind_annotate --threshold=100 "$profile" >"$out/self.txt" 2>/dev/null
echo "callgrind.sh: $path, $calls calls after $warmup warm-up calls; profile $profile"
python3 - "$out/self.txt" "$calls" <<'EOF'
import collections, re, subprocess, sys
rows = []
for line in open(sys.argv[1]):
    match = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+.*?:(.*)\s+\[(.*)\]\s*$", line)
    if match:
        rows.append((int(match.group(1).replace(",", "")), match.group(2).strip(), match.group(3)))
calls = int(sys.argv[2])
total = sum(row[0] for row in rows)
names = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(r[1] for r in rows), capture_output=True, text=True).stdout.split("\n")
modules = ["NIOHTTP1", "NIOPosix", "NIOCore", "NIOHTTPTypes", "NIOExtras", "Hummingbird", "HTTPTypes", "ChorusProviders",
           "ChorusHTTPBridge", "ChorusOrchestrator", "ChorusRPCServer", "ChorusCore", "ChorusCurl", "ChorusWire", "Logging"]
def group(symbol, library):
    for name, label in [("libswift_Concurrency", "Swift concurrency runtime"), ("libswiftCore", "Swift runtime and standard library"),
                        ("jemalloc", "jemalloc"), ("libcurl", "libcurl"), ("libc.so", "libc"), ("ld-linux", "libc"),
                        ("libdispatch", "Dispatch"), ("Foundation", "Foundation"), ("libprotobuf-c", "protobuf-c")]:
        if name in library: return label
    for module in modules:
        if module in symbol: return module
    return "other (" + library.split("/")[-1] + ")"
groups = collections.Counter()
for (count, symbol, library) in rows: groups[group(symbol, library)] += count
print(f"{total / calls:,.0f} user-space instructions per call")
for label, count in groups.most_common(16): print(f"  {count / calls:>9,.0f}  {100 * count / total:5.1f} %  {label}")
print("top functions by their own instructions, per call:")
for (count, _, library), name in list(zip(rows, names))[:25]:
    print(f"  {count / calls:>9,.0f}  {name[:110]}  [{library.split('/')[-1]}]")
EOF
