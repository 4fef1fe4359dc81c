"""One call: sending it, reading its frames, checking the Analyze stream contract
(PROTOCOL.md section 9), printing events and the final status."""

import json
import signal
import socket
import time

from .protocol import (
    CALL_END, CALL_START, CANCEL, DEFAULT_WINDOW, FLAG_ACK, FRAME_NAMES, GOAWAY, HEADER_SIZE,
    MESSAGE, METHODS, PING, SETTINGS, WINDOW_UPDATE, status_name,
)
from .protobuf import (
    RESPONSE_TYPE, SERVING_STATUS, decode, enc_analyze_request, enc_call_start, f_str, f_uint,
)
from .connection import ProtocolError


class StreamChecker:
    """Checks an Analyze event stream against the contract in PROTOCOL.md section 9."""

    def __init__(self):
        self.problems = []
        self.expected_seq = 1
        self.models = None
        self.started = set()
        self.ended = set()
        self.complete = None

    def check(self, event):
        kind = event.get("payload")
        if event["seq"] != self.expected_seq:
            self.problems.append("seq %d where %d was expected" % (event["seq"], self.expected_seq))
        self.expected_seq = event["seq"] + 1
        if self.complete is not None:
            self.problems.append("event %s after complete" % kind)
        if self.models is None and kind != "start":
            self.problems.append("first event is %s, not start" % kind)
        if kind == "start":
            if self.models is not None:
                self.problems.append("second start event")
            self.models = list(event["start"]["models"])
        elif kind == "model_start":
            model = event["model_start"]["model"]
            if model in self.started:
                self.problems.append("second model_start for %s" % model)
            self.started.add(model)
        elif kind in ("text_generation", "model_end", "error"):
            model = event[kind]["model"]
            if model not in self.started and kind != "error":
                self.problems.append("%s for %s before its model_start" % (kind, model))
            if model in self.ended:
                self.problems.append("%s for %s after its terminal event" % (kind, model))
            if kind != "text_generation":
                self.ended.add(model)
        elif kind == "complete":
            self.complete = event["complete"]
            missing = set(self.models or []) - self.ended
            if missing:
                self.problems.append("complete while %s had no model_end/error" % ", ".join(sorted(missing)))
        else:
            self.problems.append("event without a payload (seq %d)" % event["seq"])

    def finish(self, status_ok):
        if status_ok and self.complete is None:
            self.problems.append("status OK without a complete event")
        return self.problems


def format_event(event, t0):
    kind = event.get("payload")
    body = event.get(kind) or {}
    stamp = "#%-4d %+8.3fs" % (event["seq"], (event["timestamp_micros"] - t0) / 1e6 if t0 else 0.0)
    if kind == "start":
        return "%s start      models=%s recommended=%s request_id=%s" % (
            stamp, ",".join(body["models"]), str(body["recommended"]).lower(), body["request_id"])
    if kind == "model_start":
        return "%s [%s] model_start provider=%s" % (stamp, body["model"], body["provider"])
    if kind == "text_generation":
        return "%s [%s] %s" % (stamp, body["model"], json.dumps(body["text"], ensure_ascii=False))
    if kind == "model_end":
        stats = body["stats"] or decode("ModelStats", b"")
        tokens = stats["output_tokens"] if stats["has_output_tokens"] else "n/a"
        return ("%s [%s] model_end  ttft=%.0fms duration=%.0fms words=%d chars=%d tokens=%s tok/s=%.1f finish=%s cached=%s"
                % (stamp, body["model"], stats["time_to_first_token_micros"] / 1e3, stats["duration_micros"] / 1e3,
                   stats["words"], stats["characters"], tokens, stats["tokens_per_second"], stats["finish_reason"],
                   str(stats["cached"]).lower()))
    if kind == "error":
        retry = " retry_after=%.0fms" % (body["retry_after_micros"] / 1e3) if body["retry_after_micros"] else ""
        return "%s [%s] error      %s: %s (retryable=%s%s)" % (
            stamp, body["model"], status_name(body["code"]), body["message"], str(body["retryable"]).lower(), retry)
    if kind == "complete":
        return "%s complete   succeeded=%s failed=%s duration=%.0fms request_id=%s" % (
            stamp, ",".join(body["succeeded"]) or "-", ",".join(body["failed"]) or "-", body["duration_micros"] / 1e3,
            body["request_id"])
    return "%s (event without payload)" % stamp


def jsonable(value):
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    return value


class Interrupted(Exception):
    pass


def run_call(conn, args, out, err):
    """Runs one call on stream 1 and returns the process exit status."""
    method = METHODS[args.method]
    stream_id = 1  # the first client stream: odd, greater than every earlier id on this connection
    if method == METHODS["analyze"]:
        request = enc_analyze_request(
            args.query, [m for m in args.models.split(",") if m] if args.models else [],
            request_id=args.request_id or "", index_id=args.index_id or "", video_id=args.video_id or "",
            video_path=args.video_path or "", model_timeout_ms=args.model_timeout_ms or 0,
            max_output_tokens=args.max_output_tokens or 0, temperature=args.temperature)
    else:
        request = b""  # ListModelsRequest / HealthRequest have no fields
    window = args.window  # 0 asks for the protocol default of 1 MiB
    effective_window = window or DEFAULT_WINDOW
    timeout_micros = int(args.timeout * 1e6) if args.timeout else 0
    metadata = []
    for item in args.metadata or []:
        key, _, value = item.partition("=")
        metadata.append((key.strip().lower(), value.strip()))
    conn.method_of_stream[stream_id] = method
    conn.send_frame(CALL_START, stream_id, enc_call_start(method, request, metadata, timeout_micros, window))

    # The server enforces the deadline; we give it a little slack before failing locally.
    local_deadline = time.monotonic() + args.timeout + 2.0 if args.timeout else None
    checker = StreamChecker()
    consumed = 0
    events = 0
    t0 = None
    cancel_sent = False
    responses = 0
    interrupted = []

    def on_sigint(signum, frame_):
        interrupted.append(True)
        raise Interrupted()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        while True:
            try:
                if interrupted and not cancel_sent:
                    raise Interrupted()
                item = conn.read_frame(local_deadline)
            except Interrupted:
                if cancel_sent:
                    err("second interrupt: closing without waiting for CALL_END")
                    return 1
                err("interrupted: sending CANCEL and waiting for CALL_END")
                conn.send_frame(CANCEL, stream_id, f_str(1, "interrupted (raw_client.py)"))
                cancel_sent = True
                continue
            except socket.timeout:
                if not cancel_sent:
                    conn.send_frame(CANCEL, stream_id, f_str(1, "deadline exceeded (raw_client.py)"))
                report_status(out, err, args, 4, "deadline of %gs exceeded (detected by the client)" % args.timeout, [],
                              local=True)
                return 1
            if item is None:
                report_status(out, err, args, 14, "connection closed by the server before CALL_END", [], local=True)
                return 1
            ftype, flags, sid, payload = item
            if ftype == SETTINGS:
                conn.settings = decode("Settings", payload)
            elif ftype == PING:
                if sid != 0:
                    raise ProtocolError(3, "PING on stream %d" % sid)
                if not flags & FLAG_ACK:
                    conn.send_frame(PING, 0, payload, FLAG_ACK)  # echo the opaque value unchanged
            elif ftype == GOAWAY:
                goaway = decode("GoAway", payload)
                if goaway["code"] != 0:
                    report_status(out, err, args, goaway["code"],
                                  "connection error from the server: %s" % goaway["message"], [], local=True)
                    return 1
                err("server is draining (GOAWAY last_stream_id=%d: %s)" % (goaway["last_stream_id"], goaway["message"]))
                if stream_id > goaway["last_stream_id"]:
                    report_status(out, err, args, 14, "call not processed by a draining server; safe to retry", [],
                                  local=True)
                    return 1
            elif ftype == MESSAGE and sid == stream_id:
                responses += 1
                if method == METHODS["analyze"]:
                    event = decode("AnalyzeEvent", payload)
                    if t0 is None:
                        t0 = event["timestamp_micros"]
                    events += 1
                    checker.check(event)
                    if args.json:
                        # Only the oneof member that is set, not the unset ones.
                        compact = {key: value for key, value in event.items() if value is not None}
                        out(json.dumps({"event": jsonable(compact)}, ensure_ascii=False))
                    elif not args.quiet:
                        out(format_event(event, t0))
                    if args.cancel_after and events >= args.cancel_after and not cancel_sent:
                        conn.send_frame(CANCEL, stream_id, f_str(1, "--cancel-after %d" % args.cancel_after))
                        cancel_sent = True
                else:
                    response = decode(RESPONSE_TYPE[method], payload)
                    if args.json:
                        out(json.dumps({"response": jsonable(response)}, ensure_ascii=False))
                    else:
                        print_unary(out, method, response)
                # Flow control: return credit once half the window has been consumed (PROTOCOL.md section 8.1).
                consumed += HEADER_SIZE + len(payload)
                if not cancel_sent and consumed >= effective_window // 2 and not args.no_window_updates:
                    conn.send_frame(WINDOW_UPDATE, stream_id, f_uint(1, consumed))
                    consumed = 0
                if args.read_delay:
                    time.sleep(args.read_delay)
            elif ftype == CALL_END and sid == stream_id:
                end = decode("CallEnd", payload)
                trailers = [(entry["key"], entry["value"]) for entry in end["trailing_metadata"]]
                problems = checker.finish(end["code"] == 0) if method == METHODS["analyze"] else []
                if method != METHODS["analyze"] and end["code"] == 0 and responses != 1:
                    problems.append("unary call ended OK with %d response messages" % responses)
                for problem in problems:
                    err("contract violation: " + problem)
                report_status(out, err, args, end["code"], end["message"], trailers)
                return 0 if end["code"] == 0 and not problems else 1
            elif ftype in (MESSAGE, CALL_END):
                err("ignoring %s for unknown stream %d" % (FRAME_NAMES[ftype], sid))
            elif ftype >= 0x80:
                pass  # extension frame: skip (PROTOCOL.md section 4.3)
            elif ftype in (CALL_START, CANCEL, WINDOW_UPDATE):
                raise ProtocolError(3, "server sent %s, which only clients send" % FRAME_NAMES[ftype])
            else:
                raise ProtocolError(3, "unknown frame type 0x%02x" % ftype)
    finally:
        signal.signal(signal.SIGINT, previous)


def print_unary(out, method, response):
    if method == METHODS["list-models"]:
        for model in response["models"]:
            out("%-10s provider=%s upstream=%s demo=%s available=%s  %s" % (
                model["name"], model["provider"], model["upstream_model"], str(model["demo"]).lower(),
                str(model["available"]).lower(), model["description"]))
    else:
        out("status=%s version=%s uptime=%.1fs active_calls=%d" % (
            SERVING_STATUS.get(response["status"], response["status"]), response["version"],
            response["uptime_micros"] / 1e6, response["active_calls"]))


def report_status(out, err, args, code, message, trailers, local=False):
    if args.json:
        out(json.dumps({"status": {"code": code, "name": status_name(code), "message": message,
                                   "trailing_metadata": [list(t) for t in trailers], "local": local}},
                       ensure_ascii=False))
    else:
        text = "status: %s (%d)" % (status_name(code), code)
        if message:
            text += ": " + message
        if trailers:
            text += "  trailers: " + ", ".join("%s=%s" % t for t in trailers)
        if local:
            text += "  [generated by the client]"
        out(text)
