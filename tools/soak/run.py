#!/usr/bin/env python3
"""Soak: a real chorusd under mixed RPC and SSE calls with upstream faults and clients that leave.

chorusd serves four models: `gpt4o` (OpenAI), `gemini` (Gemini) and `local` (OpenAI-compatible) on
the fake upstream (tools/fake_upstream/server.py, real HTTP through libcurl), and `demo`; a second
process, `chorusd bridge --upstream`, serves SSE in front of it through the RPC client library.
WORKERS threads call back to back, over RPC, SSE on chorusd's own bridge, or SSE on the standalone
bridge, for two equal rounds of DURATION/2 seconds (calls.py says what each call asks and checks).
After each round the load stops until both processes are quiet, and their descriptors, threads and
RSS are read from /proc (procstate.py). It fails (exit 1) on any contract violation or wrong text,
on a client connection still held, on descriptors other than connections that grew from the first
quiet point to the second (threads: by more than 4, the runtime's worker pools vary), on RSS that
grew by more than --max-rss-growth-mb between them, or if a process does not exit 0 within 10 s of
SIGTERM afterwards.

    tools/soak/run.py --chorusd .build/debug/chorusd [--duration 60] [--workers 12] [--seed 1]
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from calls import make_plan, run_call
from procstate import Server

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "fake_upstream", "server.py")


def free_ports(count):
    out = subprocess.run([os.path.join(HERE, "..", "free-ports.sh"), str(count)], check=True,
                         capture_output=True, text=True).stdout
    return [int(port) for port in out.split()]


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
    def __init__(self, args, ports):
        self.args, self.ports = args, ports  # transport -> port
        self.lock = threading.Lock()
        self.next_number = 0
        self.calls, self.events, self.problems = {}, 0, []

    def worker(self, deadline):
        while time.monotonic() < deadline:
            with self.lock:
                self.next_number += 1
                number = self.next_number
            plan = make_plan(self.args.seed, number)
            outcome = run_call(plan, "127.0.0.1", self.ports[plan.transport])
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
    rpc_port, http_port, bridge_port = free_ports(3)
    log = open(os.path.join(work, "chorusd.log"), "w")
    env = dict(os.environ, OPENAI_API_KEY="soak", GEMINI_API_KEY="soak")
    # A replay retention (finished SSE calls kept for resumption) shorter than a round, so that both
    # quiet points hold the same window of finished calls and RSS can be compared between them.
    common = ["--drain-grace", "5", "--replay-retention", "10", "--log-level", "warning"]
    chorusd = Server("chorusd", subprocess.Popen(
        [args.chorusd, "--registry", os.path.join(work, "registry.json"), "--rpc-address", "127.0.0.1:%d" % rpc_port,
         "--http-address", "127.0.0.1:%d" % http_port] + common, stdout=log, stderr=log, env=env),
        client_ports=(rpc_port, http_port), upstream_port=fake_port)
    bridge = Server("bridge", subprocess.Popen(
        [args.chorusd, "bridge", "--upstream", "127.0.0.1:%d" % rpc_port, "--http-address",
         "127.0.0.1:%d" % bridge_port] + common, stdout=log, stderr=log, env=env),
        client_ports=(bridge_port,), upstream_port=rpc_port)
    servers, failures = (bridge, chorusd), []
    try:
        for port in (rpc_port, http_port, bridge_port):
            subprocess.run([os.path.join(HERE, "..", "wait-for-port.sh"), str(port)], check=True)
        load = Load(args, {"rpc": rpc_port, "sse": http_port, "bridge": bridge_port})
        start, states = time.monotonic(), []
        for number in (1, 2):
            load.round(args.duration / 2)
            quiet = {"bridge": bridge.quiet_state()}
            # The bridge's pooled RPC connections are chorusd's clients that stay.
            quiet["chorusd"] = chorusd.quiet_state(trusted_peers=bridge.local_ports())
            for port in (http_port, bridge_port):
                urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=5).read()
            states.append(quiet)
            print("soak: round %d done at %.0f s: %d calls, %d events; when quiet, %s; %s"
                  % (number, time.monotonic() - start, sum(load.calls.values()), load.events,
                     chorusd.describe(quiet["chorusd"]), bridge.describe(quiet["bridge"])), flush=True)
        print("soak: calls by kind: " + ", ".join("%s %d" % item for item in sorted(load.calls.items())))
        failures += load.problems[:50]
        failures += chorusd.compare(states[0]["chorusd"], states[1]["chorusd"], args.workers * 3, args.max_rss_growth_mb)
        failures += bridge.compare(states[0]["bridge"], states[1]["bridge"], args.workers, args.max_rss_growth_mb)
        for server in servers:  # the bridge first: chorusd's drain would end its calls
            if server.process.poll() is not None:
                failures.append("%s exited with %s during the soak" % (server.name, server.process.returncode))
                continue
            server.process.send_signal(signal.SIGTERM)
            try:
                code = server.process.wait(10)
                if code != 0:
                    failures.append("%s exited with %d after SIGTERM" % (server.name, code))
            except subprocess.TimeoutExpired:
                failures.append("%s still running 10 s after SIGTERM" % server.name)
    finally:
        for process in (bridge.process, chorusd.process, fake):
            if process.poll() is None:
                process.kill()
        log.close()
        fake_log.close()
    for failure in failures:
        print("soak: FAILED: " + failure)
    if failures:
        print("soak: chorusd and bridge log: " + os.path.join(work, "chorusd.log"))
        return 1
    shutil.rmtree(work)  # kept above for its logs when something failed
    print("soak: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
