#!/usr/bin/env python3
"""Soak: a real chorusd under mixed RPC and SSE calls with upstream faults and clients that leave.

chorusd serves four models: `gpt4o` (OpenAI), `gemini` (Gemini) and `local` (OpenAI-compatible) on
the fake upstream (tools/fake_upstream/server.py, real HTTP through libcurl), and `demo`. WORKERS
threads call it back to back for two equal rounds of DURATION/2 seconds (calls.py says what each
call asks and checks). After each round the load stops until chorusd is quiet, and its open file
descriptors, threads and RSS are read from /proc. It fails (exit 1) on any contract violation or
wrong text, on a client connection chorusd still holds, on descriptors other than connections that
grew from the first quiet point to the second (threads: by more than 4, the runtime's worker pools
vary), on RSS that grew by more than --max-rss-growth-mb between them, or if chorusd does not exit
0 within 10 s of SIGTERM afterwards.

    tools/soak/run.py --chorusd .build/debug/chorusd [--duration 60] [--workers 12] [--seed 1]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from calls import make_plan, run_call

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "fake_upstream", "server.py")


def free_ports(count):
    out = subprocess.run([os.path.join(HERE, "..", "free-ports.sh"), str(count)], check=True,
                         capture_output=True, text=True).stdout
    return [int(port) for port in out.split()]


def tcp_ports_by_inode():
    """inode -> (local port, remote port, state) of every IPv4/IPv6 TCP socket on the machine."""
    sockets = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().split("\n")[1:]:
            fields = line.split()
            if len(fields) > 9:
                local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
                sockets[fields[9]] = (int(local, 16), int(remote, 16), fields[3])
    return sockets


def process_state(pid, rpc_port=0, http_port=0, fake_port=0):
    """Threads, RSS and open descriptors by kind: client connections (accepted on the RPC or HTTP
    port), upstream connections (to the fake: libcurl's connection cache), the rest."""
    status = open("/proc/%d/status" % pid).read().split("\n")
    field = {line.split(":")[0]: line.split(":")[1].strip() for line in status if ":" in line}
    tcp = tcp_ports_by_inode()
    kinds = {"clients": 0, "upstream": 0, "other": 0}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue  # closed meanwhile
        local, remote, state = tcp.get(target[8:-1], (0, 0, "")) if target.startswith("socket:") else (0, 0, "")
        if local in (rpc_port, http_port) and state != "0A":  # 0A: LISTEN
            kinds["clients"] += 1
        elif remote == fake_port and fake_port:
            kinds["upstream"] += 1
        else:
            kinds["other"] += 1
    return dict(kinds, threads=int(field["Threads"]), rss_mb=int(field["VmRSS"].split()[0]) / 1024)


def registry(fake):
    fast = {"timeouts": {"first_chunk_ms": 5000, "idle_ms": 700, "total_ms": 20000, "connect_ms": 2000},
            "retry": {"max_attempts": 2, "initial_backoff_ms": 20, "max_backoff_ms": 50}}
    return {"models": [
        dict(name="gpt4o", provider="openai", base_url=fake + "/v1", upstream_model="gpt-4o", **fast),
        dict(name="gemini", provider="gemini", base_url=fake + "/v1beta", upstream_model="gemini-3.5-flash", **fast),
        dict(name="local", provider="openai-compatible", base_url=fake + "/local/v1", upstream_model="llama", **fast),
        {"name": "demo", "provider": "demo", "upstream_model": "demo",
         "demo": {"first_chunk_delay_ms": 20, "chunk_interval_ms": 5, "answer_words": [5, 30]}},
    ]}


class Load:
    def __init__(self, args, rpc_port, http_port):
        self.args, self.rpc_port, self.http_port = args, rpc_port, http_port
        self.lock = threading.Lock()
        self.next_number = 0
        self.calls, self.events, self.problems = {}, 0, []

    def worker(self, deadline):
        while time.monotonic() < deadline:
            with self.lock:
                self.next_number += 1
                number = self.next_number
            plan = make_plan(self.args.seed, number)
            outcome = run_call(plan, "127.0.0.1", self.rpc_port, self.http_port)
            failing = any(plan.failing(model) for model in plan.models)
            key = "%s %s %s" % (plan.transport, plan.action, "with a failing model" if failing else "clean")
            with self.lock:
                self.calls[key] = self.calls.get(key, 0) + 1
                self.events += outcome.events
                for problem in outcome.problems:
                    self.problems.append("call %d (%s, %s, %s; %s): %s" % (
                        number, plan.transport, plan.action, ",".join(plan.models), plan.summary, problem))

    def round(self, seconds):
        deadline = time.monotonic() + seconds
        threads = [threading.Thread(target=self.worker, args=(deadline,)) for _ in range(self.args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def quiet_state(pid, ports):
    """Waits until chorusd has no client connection left and its descriptors stop moving (at most
    20 s), then reads its state."""
    previous = None
    for _ in range(40):
        time.sleep(0.5)
        state = process_state(pid, *ports)
        if state["clients"] == 0 and previous == {k: v for k, v in state.items() if k != "rss_mb"}:
            break
        previous = {k: v for k, v in state.items() if k != "rss_mb"}
    urllib.request.urlopen("http://127.0.0.1:%d/readyz" % ports[1], timeout=5).read()
    return state


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chorusd", required=True)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--workers", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-rss-growth-mb", type=float, default=16)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="chorus-soak-")
    fake_log = open(os.path.join(work, "fake.log"), "w")  # its tracebacks for connections clients reset
    fake = subprocess.Popen([sys.executable, FAKE, "--port", "0"], stdout=subprocess.PIPE, stderr=fake_log, text=True)
    fake_port = int(fake.stdout.readline().split()[1])
    fake_url = "http://127.0.0.1:%d" % fake_port
    with open(os.path.join(work, "registry.json"), "w") as file:
        json.dump(registry(fake_url), file)
    rpc_port, http_port = free_ports(2)
    log = open(os.path.join(work, "chorusd.log"), "w")
    env = dict(os.environ, OPENAI_API_KEY="soak", GEMINI_API_KEY="soak")
    # A replay retention (finished SSE calls kept for resumption) shorter than a round, so that both
    # quiet points hold the same window of finished calls and RSS can be compared between them.
    server = subprocess.Popen([args.chorusd, "--registry", os.path.join(work, "registry.json"),
                               "--rpc-address", "127.0.0.1:%d" % rpc_port, "--http-address", "127.0.0.1:%d" % http_port,
                               "--drain-grace", "5", "--replay-retention", "10", "--log-level", "warning"], stdout=log, stderr=log, env=env)
    failures = []
    try:
        subprocess.run([os.path.join(HERE, "..", "wait-for-port.sh"), str(http_port)], check=True)
        subprocess.run([os.path.join(HERE, "..", "wait-for-port.sh"), str(rpc_port)], check=True)
        load = Load(args, rpc_port, http_port)
        ports = (rpc_port, http_port, fake_port)
        start, states = time.monotonic(), [process_state(server.pid, *ports)]
        for number in (1, 2):
            load.round(args.duration / 2)
            states.append(quiet_state(server.pid, ports))
            print("soak: round %d done at %.0f s: %d calls, %d events; chorusd when quiet: %d client connections, "
                  "%d upstream connections (libcurl's cache), %d other descriptors, %d threads, %.1f MB RSS"
                  % (number, time.monotonic() - start, sum(load.calls.values()), load.events, states[-1]["clients"],
                     states[-1]["upstream"], states[-1]["other"], states[-1]["threads"], states[-1]["rss_mb"]),
                  flush=True)
        print("soak: calls by kind: " + ", ".join("%s %d" % item for item in sorted(load.calls.items())))
        failures += load.problems[:50]
        first, second = states[1], states[2]
        for state in (first, second):
            if state["clients"]:
                failures.append("%d client connections still open with no client left" % state["clients"])
        if second["other"] > first["other"]:
            failures.append("descriptors other than connections grew from %d to %d" % (first["other"], second["other"]))
        if second["upstream"] > args.workers * 3:
            failures.append("%d upstream connections open for %d workers" % (second["upstream"], args.workers))
        # The concurrency runtime's and Dispatch's worker threads come and go with the load; a leak of
        # a thread per call (or per failure) would show as hundreds.
        if second["threads"] > first["threads"] + 4:
            failures.append("threads grew from %d to %d" % (first["threads"], second["threads"]))
        if second["rss_mb"] - first["rss_mb"] > args.max_rss_growth_mb:
            failures.append("RSS grew from %.1f to %.1f MB" % (first["rss_mb"], second["rss_mb"]))
        if server.poll() is not None:
            failures.append("chorusd exited with %s during the soak" % server.returncode)
        else:
            server.send_signal(signal.SIGTERM)
            try:
                code = server.wait(10)
                if code != 0:
                    failures.append("chorusd exited with %d after SIGTERM" % code)
            except subprocess.TimeoutExpired:
                failures.append("chorusd still running 10 s after SIGTERM")
    finally:
        for process in (server, fake):
            if process.poll() is None:
                process.kill()
        log.close()
        fake_log.close()
    for failure in failures:
        print("soak: FAILED: " + failure)
    if failures:
        print("soak: chorusd log: " + os.path.join(work, "chorusd.log"))
        return 1
    print("soak: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
