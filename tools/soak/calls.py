"""One soak call over the binary RPC or an SSE bridge, and what its events must look like.

Every call asks a random set of models. The fake upstream reads its behaviour from a
`[fake:...]` marker in the query (tools/fake_upstream/README.md), scoped per provider, so each call
chooses for OpenAI (`gpt4o`, `local`) and for Gemini on their own a clean answer (plain, split
inside UTF-8 characters, coalesced, delayed, with legal noise) whose text must arrive exactly, or
a failure (an error inside the stream, a cut connection, a stall past the model's idle timeout, an
HTTP error status) whose model must end with an `error` event after a prefix of that text, while
the call's other models carry on. The client then reads to the end, or leaves mid-stream (closes
its connection), or sends CANCEL (RPC). Whatever happened, the event stream must follow the
contract: seq 1, 2, 3, ... with no gap or repeat, one `start` first, per model one
`model_start` before its texts and one terminal event, `complete` last naming every model once.
"""

import http.client
import json
import random
import socket
import sys
import os
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from rawclient.call import StreamChecker  # noqa: E402
from rawclient.connection import Connection  # noqa: E402
from rawclient.protobuf import decode, enc_analyze_request, enc_call_start, f_str, f_uint  # noqa: E402
from rawclient.protocol import (  # noqa: E402
    CALL_END, CALL_START, CANCEL, GOAWAY, HEADER_SIZE, MESSAGE, METHODS, PING, SETTINGS, FLAG_ACK,
    WINDOW_UPDATE, status_name,
)

SCOPE = {"gpt4o": "openai", "local": "openai", "gemini": "gemini"}  # the fake's behaviour scopes
ALL_MODELS = list(SCOPE) + ["demo"]
CLEAN = ["", "split=random", "split=utf8", "coalesce=3", "delay=150", "noise", "piece=1"]
FAILING = ["error_after=2", "cut_after=2", "cut_after=1;cut=rst", "stall_after=2", "status=400", "status=503"]
WORDS = ["réponse", "über", "naïve", "日本語", "emoji🎬", "plain", "text", "chunk", "model", "stream"]


class Plan:
    """What one call asks and what it must get back."""

    def __init__(self, rng, number):
        self.number = number
        self.transport = rng.choice(["rpc", "sse", "bridge"])  # bridge: SSE on `chorusd bridge`
        self.models = rng.sample(ALL_MODELS, rng.randint(1, len(ALL_MODELS)))
        self.behaviors = {}  # scope -> behaviour
        for scope in ("openai", "gemini"):
            self.behaviors[scope] = rng.choice(FAILING) if rng.random() < 0.2 else rng.choice(CLEAN)
        self.text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40))) + " #%d" % number
        roll = rng.random()
        self.action = "read" if roll < 0.75 else "leave" if roll < 0.9 or self.transport != "rpc" else "cancel"
        self.leave_after = rng.randint(1, 6)
        parts = ["text=" + urllib.parse.quote(self.text, safe="")]
        for scope, behavior in self.behaviors.items():
            parts += ["%s.%s" % (scope, item) for item in behavior.split(";") if item]
        self.query = "Soak call %d: describe the video. [fake:%s]" % (number, ";".join(parts))

    def behavior(self, model):
        return self.behaviors.get(SCOPE.get(model), "")

    def failing(self, model):
        return self.behavior(model) in FAILING

    @property
    def summary(self):
        used = sorted({SCOPE[m] for m in self.models if m in SCOPE})
        return " ".join("%s:%s" % (scope, self.behaviors[scope] or "plain") for scope in used) or "demo only"


class Outcome:
    def __init__(self):
        self.events = 0
        self.problems = []
        self.status = None  # final status name (RPC CALL_END, or "OK"/"ERROR" for SSE)
        self.model_results = {}  # model -> "end" | error code name
        self.texts = {}


class ContractChecker:
    """The Analyze event contract through the raw client's `StreamChecker` (PROTOCOL.md section 9),
    for either transport: SSE events are given to it in the RPC event's shape. Also collects each
    model's text and how it ended, for `judge`."""

    def __init__(self, outcome):
        self.outcome = outcome
        self.stream = StreamChecker()
        self.stream.problems = outcome.problems  # one list: its findings and ours

    def event(self, seq, kind, model=None, text=None, code=None):
        out = self.outcome
        out.events += 1
        rpc_kind = "text_generation" if kind == "text" else kind
        body = {"models": model} if kind == "start" else {"model": model or ""}
        self.stream.check({"seq": seq or 0, "payload": rpc_kind, rpc_kind: body})
        if kind == "text":
            out.texts[model] = out.texts.get(model, "") + text
        elif kind in ("model_end", "error") and model:
            out.model_results[model] = "end" if kind == "model_end" else code

    def judge(self, plan):
        """Per-model expectations for a call that was read to its end."""
        out = self.outcome
        if self.stream.complete is None:
            out.problems.append("no complete event (status %s)" % out.status)
            return
        for model in plan.models:
            result, text = out.model_results.get(model), out.texts.get(model, "")
            if model == "demo":
                if result != "end" or not text:
                    out.problems.append("demo ended %s with %d characters" % (result, len(text)))
            elif plan.failing(model):
                if result == "end":
                    out.problems.append("%s succeeded under %s" % (model, plan.behavior(model)))
                if not plan.text.startswith(text):
                    out.problems.append("%s text under %s is not a prefix of the answer" % (model, plan.behavior(model)))
            elif result != "end" or text != plan.text:
                at = next((i for i, (a, b) in enumerate(zip(text, plan.text)) if a != b), min(len(text), len(plan.text)))
                out.problems.append("%s under %r ended %s; its text differs from the answer at character %d of %d/%d: "
                                    "%r instead of %r" % (model, plan.behavior(model), result, at, len(text),
                                                          len(plan.text), text[at:at + 20], plan.text[at:at + 20]))


def run_rpc(plan, host, port, timeout):
    out, conn = Outcome(), Connection(host, port, timeout)
    checker = ContractChecker(out)
    try:
        conn.handshake(None)
        request = enc_analyze_request(plan.query, plan.models)
        conn.send_frame(CALL_START, 1, enc_call_start(METHODS["analyze"], request))
        consumed, cancelled = 0, False
        conn.sock.settimeout(timeout)
        while True:
            item = conn.read_frame()
            if item is None:
                out.problems.append("connection closed before CALL_END")
                return out
            ftype, flags, sid, payload = item
            if ftype == PING and not flags & FLAG_ACK:
                conn.send_frame(PING, 0, payload, FLAG_ACK)
            elif ftype in (SETTINGS, PING, GOAWAY):
                continue
            elif ftype == MESSAGE:
                event = decode("AnalyzeEvent", payload)
                kind = event["payload"]
                body = event.get(kind) or {}
                if kind == "start":
                    checker.event(event["seq"], kind, model=body["models"])
                elif kind == "text_generation":
                    checker.event(event["seq"], "text", model=body["model"], text=body["text"])
                elif kind == "error":
                    checker.event(event["seq"], kind, model=body["model"], code=status_name(body["code"]))
                else:
                    checker.event(event["seq"], kind, model=body.get("model"))
                consumed += HEADER_SIZE + len(payload)
                if consumed >= 512 * 1024:
                    conn.send_frame(WINDOW_UPDATE, 1, f_uint(1, consumed))
                    consumed = 0
                if plan.action == "leave" and out.events >= plan.leave_after:
                    return out  # the connection closes in `finally`, mid-stream
                if plan.action == "cancel" and out.events >= plan.leave_after and not cancelled:
                    conn.send_frame(CANCEL, 1, f_str(1, "soak: cancel"))
                    cancelled = True
            elif ftype == CALL_END:
                end = decode("CallEnd", payload)
                out.status = status_name(end["code"])
                if plan.action == "read":
                    checker.judge(plan)
                elif cancelled and out.status not in ("CANCELLED", "OK"):
                    out.problems.append("CANCEL answered with %s" % out.status)
                return out
    except (OSError, socket.timeout) as error:
        out.problems.append("RPC %s: %s" % (type(error).__name__, error))
        return out
    finally:
        conn.close()


def run_sse(plan, host, port, timeout):
    out = Outcome()
    checker = ContractChecker(out)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        body = json.dumps({"query": plan.query, "models": plan.models})
        conn.request("POST", "/api/analyze/stream/parallel", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        if response.status != 200:
            out.problems.append("HTTP %d: %s" % (response.status, response.read()[:200]))
            return out
        for raw in response:
            line = raw.decode().rstrip("\r\n")
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                out.status = "DONE"
                break
            event = json.loads(line[6:])
            kind, seq = event["event_type"], event.get("seq")
            if kind == "start":
                checker.event(seq, kind, model=event["models"])
            elif kind == "text_generation":
                checker.event(seq, "text", model=event["model"], text=event["text"])
            elif kind == "model_start":
                checker.event(seq, kind, model=event["model_name"])
            elif kind == "model_end":
                checker.event(seq, kind, model=event["model_name"])
            elif kind == "error":
                checker.event(seq, kind, model=event.get("model"), code=event.get("code"))
            else:
                checker.event(seq, kind)
            if plan.action == "leave" and out.events >= plan.leave_after:
                return out
        if plan.action == "read":
            if out.status != "DONE":
                out.problems.append("stream ended without [DONE]")
            checker.judge(plan)
        return out
    except (OSError, socket.timeout, http.client.HTTPException, ValueError) as error:
        out.problems.append("SSE %s: %s" % (type(error).__name__, error))
        return out
    finally:
        conn.close()


def run_call(plan, host, port, timeout=30):
    if plan.transport == "rpc":
        return run_rpc(plan, host, port, timeout)
    return run_sse(plan, host, port, timeout)


def make_plan(seed, number):
    return Plan(random.Random(seed * 1_000_003 + number), number)
