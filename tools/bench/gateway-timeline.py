#!/usr/bin/env python3
"""Where the time to first token goes inside Chorus, one SSE call at a time.

Starts the fake OpenAI upstream and Chorus (`chorus-bench serve-fake-openai`, `serve-chorus
--registry ... --http`), records the server's read/write/writev/sendto/recvfrom syscalls with
`perf trace -T` while a client posts `POST /api/analyze/stream/parallel` calls one after another on
a keep-alive connection, and splits every call into the steps between syscalls:

  request read    -> curl woken      the event loop: HTTP parsing, validation, the call's tasks,
                                     the provider's request (no syscall in between: CPU)
  curl woken      -> request sent    the curl thread wakes up, sets the transfer up, sends
  request sent    -> first chunk     the upstream (the fake's own time, plus the loopback)
  first chunk     -> event written   curl's write callback hands the chunk to the event loop
                                     (an eventfd wake-up when the loop sleeps), which parses it
                                     and writes the first `text_generation` event (the call's
                                     second write: the response head and the line-up go first,
                                     in one write since the deferred flush)

Needs Debian's linux-perf and a release build (`run.sh` makes one). Tracing five syscalls moved
the client's TTFT p50 by ~2 % here. Usage:

  tools/bench/gateway-timeline.py [--calls 500] [--keep-trace /tmp/chorus.trace]
"""
import argparse, json, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))


def launch(binary, *arguments):
    # The servers exit when their stdin closes: keep a pipe open for their lifetime.
    process = subprocess.Popen([binary, *arguments], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().split()
    if not line or line[0] != "LISTENING":
        sys.exit(f"gateway-timeline: {arguments[0]} did not start")
    return process, [int(port) for port in line[1:]]


def sse_calls(port, calls):
    connection = socket.create_connection(("127.0.0.1", port))
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = json.dumps({"query": "What happens in this video?", "models": ["fake-gpt"]}).encode()
    request = (b"POST /api/analyze/stream/parallel HTTP/1.1\r\nHost: chorus\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
    ttft = []
    for _ in range(calls):
        started = time.perf_counter()
        connection.sendall(request)
        received, first = b"", None
        while not (received.endswith(b"0\r\n\r\n") and b"[DONE]" in received):
            data = connection.recv(65536)
            if not data:
                sys.exit("gateway-timeline: the server closed the connection")
            received += data
            if first is None and b"text_generation" in received:
                first = time.perf_counter() - started
        ttft.append(first)
    return len(request), ttft


LINE = re.compile(r"\s*(\d+\.\d+) \(\s*[\d.]* ms\): (\S+)/\d+\s+(\w+)\((.*)\)\s+=\s+(\d+)")


def phases(trace_path, request_bytes):
    events = []
    for line in open(trace_path):
        match = LINE.match(line)
        if match:
            fd = re.search(r"fd: (\d+)", match.group(4))
            events.append((float(match.group(1)), match.group(2), match.group(3), int(fd.group(1)) if fd else None, int(match.group(5))))
    events.sort()
    steps = {name: [] for name in ("request read -> curl woken", "curl woken -> request sent", "request sent -> first chunk",
                                   "first chunk -> event written", "request read -> event written")}
    for index, (time_, thread, call, fd, result) in enumerate(events):
        if not (call == "read" and thread.startswith("NIO") and result == request_bytes):
            continue
        client, following = fd, events[index + 1:index + 80]
        try:
            woken = next(e for e in following if e[2] == "write" and e[4] == 8 and e[1].startswith("NIO"))
            sent = next(e for e in following if e[2] == "sendto" and e[0] > woken[0])
            chunk = next(e for e in following if e[2] == "recvfrom" and e[0] > sent[0])
            replies = [e for e in following if e[2] in ("write", "writev") and e[3] == client]
            written = next(e for e in replies[1:] if e[0] > chunk[0])
        except StopIteration:
            continue
        for name, (a, b) in zip(steps, ((time_, woken[0]), (woken[0], sent[0]), (sent[0], chunk[0]), (chunk[0], written[0]),
                                        (time_, written[0]))):
            steps[name].append((b - a) * 1000)
    return steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--keep-trace", metavar="PATH", help="also keep perf trace's output there")
    options = parser.parse_args()
    if shutil.which("perf") is None:
        sys.exit("gateway-timeline: needs perf (apt-get install linux-perf)")
    binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=HERE, capture_output=True,
                            text=True, check=True).stdout.strip() + "/chorus-bench"
    if not os.path.exists(binary):
        sys.exit("gateway-timeline: build chorus-bench first (tools/bench/run.sh --help builds it)")
    upstream, (upstream_port,) = launch(binary, "serve-fake-openai")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as registry:
        json.dump({"models": [{"name": "fake-gpt", "provider": "openai-compatible",
                               "base_url": f"http://127.0.0.1:{upstream_port}/v1", "upstream_model": "gpt-4o",
                               "retry": {"max_attempts": 1}}]}, registry)
    chorus, (_, http_port) = launch(binary, "serve-chorus", "--registry", registry.name, "--http")
    if options.keep_trace:
        trace_path = options.keep_trace
    else:
        descriptor, trace_path = tempfile.mkstemp(suffix=".trace")
        os.close(descriptor)
    try:
        sse_calls(http_port, 100)  # warm-up: connections, caches, the curl thread
        perf = subprocess.Popen(["perf", "trace", "-p", str(chorus.pid), "-T", "-o", trace_path, "-e",
                                 "read,write,writev,sendto,recvfrom"], stderr=subprocess.DEVNULL)
        time.sleep(1)
        request_bytes, ttft = sse_calls(http_port, options.calls)
        time.sleep(0.3)
        perf.send_signal(signal.SIGINT)
        perf.wait()
    finally:
        for process in (chorus, upstream):
            process.stdin.close()
            process.wait()
        os.unlink(registry.name)
    steps = phases(trace_path, request_bytes)
    if not options.keep_trace:
        os.unlink(trace_path)
    print(f"{options.calls} SSE calls, client TTFT p50 {statistics.median(ttft) * 1000:.3f} ms (traced)")
    for name, values in steps.items():
        if values:
            print(f"  {name:32} p50 {statistics.median(values):6.0f} µs  ({len(values)} calls)")


if __name__ == "__main__":
    main()
