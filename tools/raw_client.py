#!/usr/bin/env python3
"""A dependency-free Chorus RPC client, written from proto/PROTOCOL.md and the .proto files.

It speaks the Chorus binary protocol (chorus/1) over plain TCP with nothing but the Python 3
standard library: the frame header is packed with `struct`, protobuf messages are encoded and
decoded by hand (varints and length-delimited fields), and no Chorus or protobuf code is imported.
Its purpose is to prove that the document is enough to interoperate, and to capture annotated hex
dumps of real exchanges.

    python3 tools/raw_client.py --server 127.0.0.1:7070 --query "Describe the opening scene" \
        --models gemini,pegasus [--hexdump] [--json]
    python3 tools/raw_client.py --server 127.0.0.1:7070 --method list-models
    python3 tools/raw_client.py --server 127.0.0.1:7070 --method health

Output: one line per Analyze event as it arrives (model-tagged), then the call's final status.
With --json every event and the final status are printed as one JSON object per line instead.
With --hexdump an annotated hex dump of every byte sent (C->S) and received (S->C) goes to stdout
(or to the file given with --hexdump-file), frame by frame, with each protobuf field decoded.

Exit status: 0 when the call ended with status OK (and, for Analyze, the event stream followed the
contract in PROTOCOL.md section 9); 1 otherwise (error status, connection error, contract violation);
2 for bad command-line arguments.
"""

import argparse
import json
import signal
import socket
import struct
import sys
import time

# ---------------------------------------------------------------------------------------------
# Protocol constants (PROTOCOL.md sections 3-5)

MAGIC = b"CHORUS"
VERSION = 1
PREFACE = MAGIC + struct.pack(">H", VERSION)
HEADER = struct.Struct(">IBBI")  # payload length, type, flags, stream id
HEADER_SIZE = HEADER.size  # 10
DEFAULT_MAX_PAYLOAD = 4 * 1024 * 1024
DEFAULT_WINDOW = 1024 * 1024

CALL_START, MESSAGE, CALL_END, CANCEL, WINDOW_UPDATE, PING, GOAWAY, SETTINGS = range(1, 9)
FLAG_ACK = 0x01
FRAME_NAMES = {
    CALL_START: "CALL_START", MESSAGE: "MESSAGE", CALL_END: "CALL_END", CANCEL: "CANCEL",
    WINDOW_UPDATE: "WINDOW_UPDATE", PING: "PING", GOAWAY: "GOAWAY", SETTINGS: "SETTINGS",
}

STATUS_NAMES = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
]

METHODS = {
    "analyze": "/chorus.v1.Chorus/Analyze",
    "list-models": "/chorus.v1.Chorus/ListModels",
    "health": "/chorus.v1.Chorus/Health",
}


def status_name(code):
    return STATUS_NAMES[code] if 0 <= code < len(STATUS_NAMES) else "CODE_%d" % code


# ---------------------------------------------------------------------------------------------
# Protobuf wire format, by hand

WT_VARINT, WT_I64, WT_LEN, WT_I32 = 0, 1, 2, 5


def enc_varint(value):
    if value < 0:
        value += 1 << 64  # negative int64: ten-byte two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def enc_key(field, wire_type):
    return enc_varint((field << 3) | wire_type)


def f_uint(field, value):
    """A varint field (uint32/uint64/int64/bool/enum); proto3 omits the default 0."""
    return enc_key(field, WT_VARINT) + enc_varint(int(value)) if value else b""


def f_bytes(field, data, keep_empty=False):
    if not data and not keep_empty:
        return b""
    return enc_key(field, WT_LEN) + enc_varint(len(data)) + data


def f_str(field, text):
    return f_bytes(field, text.encode("utf-8"))


def f_float(field, value):
    return enc_key(field, WT_I32) + struct.pack("<f", value)


def dec_varint(data, pos):
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ValueError("varint too long")


def iter_fields(data):
    """Yields (field, wire_type, value, start, end) for every field of an encoded message."""
    pos = 0
    while pos < len(data):
        start = pos
        key, pos = dec_varint(data, pos)
        field, wire_type = key >> 3, key & 7
        if wire_type == WT_VARINT:
            value, pos = dec_varint(data, pos)
        elif wire_type == WT_I64:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire_type == WT_LEN:
            length, pos = dec_varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire_type == WT_I32:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError("unsupported wire type %d" % wire_type)
        if pos > len(data):
            raise ValueError("truncated field %d" % field)
        yield field, wire_type, value, start, pos


# Schemas of the messages in proto/chorus/v1/*.proto: field number -> (name, kind, repeated).
# kind is a scalar kind or the name of a nested message.
R = True  # marks repeated fields in the table below
SCHEMAS = {
    "MetadataEntry": {1: ("key", "string", 0), 2: ("value", "string", 0), 3: ("binary_value", "bytes", 0)},
    "CallStart": {1: ("method", "string", 0), 2: ("metadata", "MetadataEntry", R), 3: ("timeout_micros", "uint64", 0),
                  4: ("initial_window", "uint32", 0), 5: ("request", "request", 0)},
    "CallEnd": {1: ("code", "status", 0), 2: ("message", "string", 0), 3: ("trailing_metadata", "MetadataEntry", R)},
    "Cancel": {1: ("reason", "string", 0)},
    "WindowUpdate": {1: ("increment", "uint32", 0)},
    "Ping": {1: ("opaque", "fixed64", 0)},
    "Settings": {1: ("max_concurrent_calls", "uint32", 0), 2: ("max_frame_payload", "uint32", 0)},
    "GoAway": {1: ("last_stream_id", "uint32", 0), 2: ("code", "status", 0), 3: ("message", "string", 0)},
    "AnalyzeRequest": {1: ("query", "string", 0), 2: ("models", "string", R), 3: ("index_id", "string", 0),
                       4: ("video_id", "string", 0), 5: ("video_path", "string", 0), 6: ("request_id", "string", 0),
                       7: ("options", "AnalyzeOptions", 0)},
    "AnalyzeOptions": {1: ("model_timeout_ms", "uint32", 0), 2: ("max_output_tokens", "uint32", 0),
                       3: ("has_temperature", "bool", 0), 4: ("temperature", "float", 0)},
    "AnalyzeEvent": {1: ("seq", "uint64", 0), 2: ("timestamp_micros", "int64", 0), 10: ("start", "StreamStart", 0),
                     11: ("model_start", "ModelStart", 0), 12: ("text_generation", "TextGeneration", 0),
                     13: ("model_end", "ModelEnd", 0), 14: ("error", "ModelError", 0), 15: ("complete", "StreamComplete", 0)},
    "StreamStart": {1: ("models", "string", R), 2: ("recommended", "bool", 0), 3: ("request_id", "string", 0)},
    "ModelStart": {1: ("model", "string", 0), 2: ("provider", "string", 0)},
    "TextGeneration": {1: ("model", "string", 0), 2: ("text", "string", 0)},
    "ModelStats": {1: ("time_to_first_token_micros", "uint64", 0), 2: ("duration_micros", "uint64", 0),
                   3: ("characters", "uint64", 0), 4: ("words", "uint64", 0), 5: ("average_word_length", "double", 0),
                   6: ("output_tokens", "uint64", 0), 7: ("has_output_tokens", "bool", 0),
                   8: ("tokens_per_second", "double", 0), 9: ("finish_reason", "string", 0), 10: ("cached", "bool", 0)},
    "ModelEnd": {1: ("model", "string", 0), 2: ("stats", "ModelStats", 0)},
    "ModelError": {1: ("model", "string", 0), 2: ("code", "status", 0), 3: ("message", "string", 0),
                   4: ("retryable", "bool", 0), 5: ("retry_after_micros", "uint64", 0)},
    "StreamComplete": {1: ("succeeded", "string", R), 2: ("failed", "string", R), 3: ("duration_micros", "uint64", 0),
                       4: ("request_id", "string", 0)},
    "ListModelsRequest": {},
    "ModelInfo": {1: ("name", "string", 0), 2: ("provider", "string", 0), 3: ("demo", "bool", 0),
                  4: ("available", "bool", 0), 5: ("upstream_model", "string", 0), 6: ("description", "string", 0)},
    "ListModelsResponse": {1: ("models", "ModelInfo", R)},
    "HealthRequest": {},
    "HealthResponse": {1: ("status", "serving_status", 0), 2: ("version", "string", 0), 3: ("uptime_micros", "uint64", 0),
                       4: ("active_calls", "uint32", 0)},
}
SCALAR_DEFAULTS = {"string": "", "bytes": b"", "uint32": 0, "uint64": 0, "int64": 0, "bool": False, "float": 0.0,
                   "double": 0.0, "fixed64": 0, "status": 0, "serving_status": 0, "request": b""}
SERVING_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING"}
# Which message CALL_START.request and MESSAGE payloads carry, per method.
REQUEST_TYPE = {METHODS["analyze"]: "AnalyzeRequest", METHODS["list-models"]: "ListModelsRequest",
                METHODS["health"]: "HealthRequest"}
RESPONSE_TYPE = {METHODS["analyze"]: "AnalyzeEvent", METHODS["list-models"]: "ListModelsResponse",
                 METHODS["health"]: "HealthResponse"}


def scalar(kind, wire_type, raw):
    """Converts one decoded field value to a Python value."""
    if kind in ("string",):
        return bytes(raw).decode("utf-8", errors="replace")
    if kind in ("bytes", "request"):
        return bytes(raw)
    if kind == "bool":
        return bool(raw)
    if kind == "int64":
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    if kind == "float":
        return struct.unpack("<f", raw)[0]
    if kind == "double":
        return struct.unpack("<d", raw)[0]
    if kind == "fixed64":
        return struct.unpack("<Q", raw)[0]
    return raw  # uint32, uint64, status, serving_status


def decode(message_type, data):
    """Decodes `data` as `message_type` into a dict with every field (defaults included).

    Unknown fields are skipped, as protobuf requires. For AnalyzeEvent the set oneof member is also
    reported under the key "payload"."""
    schema = SCHEMAS[message_type]
    out = {}
    for name, kind, repeated in schema.values():
        out[name] = [] if repeated else (None if kind in SCHEMAS else SCALAR_DEFAULTS[kind])
    for field, wire_type, value, _, _ in iter_fields(bytes(data)):
        if field not in schema:
            continue
        name, kind, repeated = schema[field]
        decoded = decode(kind, value) if kind in SCHEMAS else scalar(kind, wire_type, value)
        if message_type == "AnalyzeEvent" and kind in SCHEMAS:
            out["payload"] = name
        if repeated:
            out[name].append(decoded)
        else:
            out[name] = decoded
    return out


# ---------------------------------------------------------------------------------------------
# Encoders for what a client sends

def enc_metadata(entries):
    return b"".join(f_bytes(2, f_str(1, key) + f_str(2, value), keep_empty=True) for key, value in entries)


def enc_call_start(method, request, metadata=(), timeout_micros=0, initial_window=0):
    return (f_str(1, method) + enc_metadata(metadata) + f_uint(3, timeout_micros) + f_uint(4, initial_window)
            + f_bytes(5, request))


def enc_analyze_request(query, models, request_id="", index_id="", video_id="", video_path="",
                        model_timeout_ms=0, max_output_tokens=0, temperature=None):
    options = f_uint(1, model_timeout_ms) + f_uint(2, max_output_tokens)
    if temperature is not None:
        options += f_uint(3, 1) + f_float(4, temperature)
    return (f_str(1, query) + b"".join(f_str(2, model) for model in models) + f_str(3, index_id)
            + f_str(4, video_id) + f_str(5, video_path) + f_str(6, request_id)
            + (f_bytes(7, options) if options else b""))


def frame(frame_type, stream_id, payload=b"", flags=0):
    return HEADER.pack(len(payload), frame_type, flags, stream_id) + payload


# ---------------------------------------------------------------------------------------------
# Annotated hex dump

class HexDump:
    """Writes every byte of the exchange with a decoded annotation, frame by frame."""

    def __init__(self, out, text_frames=None):
        self.out = out
        self.text_frames = text_frames  # dump at most this many text_generation MESSAGEs per model
        self.text_seen = {}
        self.elided = 0
        self.offsets = {"C->S": 0, "S->C": 0}
        self.frames = 0

    def write(self, line=""):
        self.out.write(line + "\n")

    def hexlines(self, data, indent, offset):
        for i in range(0, len(data), 16):
            chunk = data[i:i + 16]
            hexpart = " ".join("%02x" % b for b in chunk)
            text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
            self.write("%s%06x  %-47s  |%s|" % (indent, offset + i, hexpart, text))

    def note(self, text):
        self.write("# " + text)

    def preface(self, direction, data):
        self.flush_elided()
        self.write("%s preface, 8 bytes at stream offset %d" % (direction, self.offsets[direction]))
        self.hexlines(data, "  ", self.offsets[direction])
        magic, version = data[:6], struct.unpack(">H", data[6:8])[0] if len(data) >= 8 else None
        self.write("    magic %r, version %s" % (magic.decode("ascii", "replace"), version))
        self.write()
        self.offsets[direction] += len(data)

    def frame(self, direction, header, payload, method=None):
        length, ftype, flags, stream_id = HEADER.unpack(header)
        offset = self.offsets[direction]
        self.offsets[direction] += len(header) + len(payload)
        name = FRAME_NAMES.get(ftype, "EXTENSION" if ftype >= 0x80 else "UNKNOWN")
        # Optionally elide the bulk of text_generation MESSAGE frames.
        if self.text_frames is not None and ftype == MESSAGE and method == METHODS["analyze"]:
            try:
                event = decode("AnalyzeEvent", payload)
            except ValueError:
                event = {}
            if event.get("payload") == "text_generation":
                model = event["text_generation"]["model"]
                self.text_seen[model] = self.text_seen.get(model, 0) + 1
                if self.text_seen[model] > self.text_frames:
                    self.elided += 1
                    return
        self.flush_elided()
        self.frames += 1
        flag_text = "0x%02x%s" % (flags, " (ACK)" if ftype == PING and flags & FLAG_ACK else "")
        self.write("%s %s  stream=%d  payload=%d bytes  flags=%s  (frame at stream offset %d)"
                   % (direction, name, stream_id, length, flag_text, offset))
        self.hexlines(header, "  ", offset)
        self.write("    header: length=%d (%s)  type=0x%02x  flags=0x%02x  stream_id=%d (%s)"
                   % (length, " ".join("%02x" % b for b in header[:4]), ftype, flags, stream_id,
                      " ".join("%02x" % b for b in header[6:10])))
        message_type = {CALL_START: "CallStart", CALL_END: "CallEnd", CANCEL: "Cancel", WINDOW_UPDATE: "WindowUpdate",
                        PING: "Ping", GOAWAY: "GoAway", SETTINGS: "Settings"}.get(ftype)
        if ftype == MESSAGE:
            message_type = RESPONSE_TYPE.get(method)
        if payload:
            self.write("    payload (%s):" % (message_type or "opaque"))
            if message_type:
                try:
                    self.fields(message_type, payload, "      ", offset + HEADER_SIZE, method)
                except ValueError as error:
                    self.hexlines(payload, "      ", offset + HEADER_SIZE)
                    self.write("      (undecodable: %s)" % error)
            else:
                self.hexlines(payload, "      ", offset + HEADER_SIZE)
        else:
            self.write("    payload: empty (every field has its default value)")
        self.write()

    def fields(self, message_type, data, indent, offset, method=None):
        schema = SCHEMAS[message_type]
        for field, wire_type, value, start, end in iter_fields(bytes(data)):
            name, kind, _ = schema.get(field, ("<unknown field %d>" % field, "bytes", 0))
            raw = data[start:end]
            if kind == "request":
                kind = REQUEST_TYPE.get(method, "bytes")
            if kind in SCHEMAS:
                prefix_len = len(raw) - len(value)
                self.hexrow(raw[:prefix_len], indent, offset + start,
                            "field %d (LEN %d) %s: %s {" % (field, len(value), name, kind))
                if value:
                    self.fields(kind, value, indent + "  ", offset + start + prefix_len, method)
                self.write("%s}" % indent)
            else:
                shown = scalar(kind, wire_type, value)
                if kind == "status":
                    shown = "%d (%s)" % (shown, status_name(shown))
                elif kind == "serving_status":
                    shown = "%d (%s)" % (shown, SERVING_STATUS.get(shown, "?"))
                elif kind == "string":
                    shown = json.dumps(shown, ensure_ascii=False)
                elif kind == "bool":
                    shown = "true" if shown else "false"
                elif kind in ("double", "float"):
                    shown = repr(round(shown, 6))
                wt = "LEN %d" % len(value) if wire_type == WT_LEN else {WT_VARINT: "varint", WT_I64: "I64", WT_I32: "I32"}[wire_type]
                self.hexrow(raw, indent, offset + start, "field %d (%s) %s = %s" % (field, wt, name, shown))

    def hexrow(self, raw, indent, offset, label):
        """Hex of one field (wrapped at 16 bytes) followed by its meaning."""
        hexes = ["%02x" % b for b in raw]
        first = " ".join(hexes[:16])
        if len(hexes) <= 16:
            self.write("%s%-47s  %s" % (indent, first, label))
        else:
            self.write("%s%-47s  %s" % (indent, first, label))
            for i in range(16, len(hexes), 16):
                self.write("%s%s" % (indent, " ".join(hexes[i:i + 16])))

    def flush_elided(self):
        if self.elided:
            self.write("[... %d text_generation MESSAGE frames elided (--hexdump-text-frames) ...]" % self.elided)
            self.write()
            self.elided = 0


# ---------------------------------------------------------------------------------------------
# Connection

class ProtocolError(Exception):
    """The peer broke the protocol; we answer with GOAWAY and close."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Connection:
    def __init__(self, host, port, connect_timeout, dump=None, max_payload=DEFAULT_MAX_PAYLOAD, log=None):
        self.sock = socket.create_connection((host, port), timeout=connect_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()
        self.dump = dump
        self.max_payload = max_payload
        self.log = log or (lambda text: None)
        self.method_of_stream = {}
        self.settings = None

    def send_frame(self, frame_type, stream_id, payload=b"", flags=0):
        data = frame(frame_type, stream_id, payload, flags)
        self.sock.sendall(data)
        if self.dump:
            self.dump.frame("C->S", data[:HEADER_SIZE], data[HEADER_SIZE:], self.method_of_stream.get(stream_id))

    def fill(self, count, deadline):
        while len(self.buffer) < count:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise socket.timeout("timed out")
                self.sock.settimeout(remaining)
            else:
                self.sock.settimeout(None)
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            if self.dump:
                self.dump.flush_elided()
                self.dump.note("recv() returned %d bytes" % len(chunk))
            self.buffer += chunk
        return True

    def read_preface(self, deadline):
        # Compare byte by byte so a non-Chorus peer is recognised even if it sends less than 8 bytes.
        if not self.fill(1, deadline):
            raise ProtocolError(14, "connection closed before the server preface")
        if not self.fill(len(PREFACE), deadline):
            raise ProtocolError(14, "connection closed in the server preface (got %r)" % bytes(self.buffer))
        data = bytes(self.buffer[:8])
        del self.buffer[:8]
        if self.dump:
            self.dump.preface("S->C", data)
        if data[:6] != MAGIC:
            raise ProtocolError(3, "server sent %r instead of the Chorus preface; not a Chorus RPC server" % data)
        version = struct.unpack(">H", data[6:8])[0]
        if version != VERSION:
            raise ProtocolError(12, "server speaks chorus protocol version %d, this client %d" % (version, VERSION))

    def read_frame(self, deadline=None):
        """Returns (type, flags, stream_id, payload), or None at a clean EOF between frames."""
        if not self.fill(HEADER_SIZE, deadline):
            if self.buffer:
                raise ProtocolError(3, "connection closed in the middle of a frame header")
            return None
        length, ftype, flags, stream_id = HEADER.unpack_from(self.buffer)
        # The length is checked before the body is read (PROTOCOL.md section 4.2).
        if length > self.max_payload:
            raise ProtocolError(8, "frame of %d bytes exceeds this client's maximum of %d" % (length, self.max_payload))
        if stream_id & 0x80000000:
            raise ProtocolError(3, "reserved high bit set in stream id 0x%08x" % stream_id)
        if not self.fill(HEADER_SIZE + length, deadline):
            raise ProtocolError(3, "connection closed in the middle of a frame")
        header = bytes(self.buffer[:HEADER_SIZE])
        payload = bytes(self.buffer[HEADER_SIZE:HEADER_SIZE + length])
        del self.buffer[:HEADER_SIZE + length]
        if self.dump:
            self.dump.frame("S->C", header, payload, self.method_of_stream.get(stream_id))
        return ftype, flags, stream_id, payload

    def handshake(self, deadline):
        self.sock.sendall(PREFACE)
        if self.dump:
            self.dump.preface("C->S", PREFACE)
        self.read_preface(deadline)
        # The server's first frame is always SETTINGS on stream 0 (PROTOCOL.md section 3).
        first = self.read_frame(deadline)
        if first is None:
            raise ProtocolError(14, "connection closed before SETTINGS")
        ftype, _, stream_id, payload = first
        if ftype == GOAWAY:
            goaway = decode("GoAway", payload)
            raise ProtocolError(goaway["code"] or 14, "server refused the connection: %s" % goaway["message"])
        if ftype != SETTINGS or stream_id != 0:
            raise ProtocolError(3, "expected SETTINGS on stream 0 after the preface, got type 0x%02x" % ftype)
        self.settings = decode("Settings", payload)
        self.log("connected; server SETTINGS: max_concurrent_calls=%d max_frame_payload=%d"
                 % (self.settings["max_concurrent_calls"], self.settings["max_frame_payload"]))

    def go_away(self, code, message):
        """Reports a connection error to the server before closing (PROTOCOL.md section 10.2)."""
        try:
            self.send_frame(GOAWAY, 0, f_uint(2, code) + f_str(3, message))
        except OSError:
            pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# One call

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


# ---------------------------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description="Dependency-free Chorus RPC client (stdlib only).")
    parser.add_argument("--server", default="127.0.0.1:7070", help="host:port of chorusd (default 127.0.0.1:7070)")
    parser.add_argument("--method", choices=sorted(METHODS), default="analyze")
    parser.add_argument("--query", help="the question (Analyze)")
    parser.add_argument("--models", default="", help="comma-separated registry names; empty lets the server recommend")
    parser.add_argument("--request-id")
    parser.add_argument("--index-id")
    parser.add_argument("--video-id")
    parser.add_argument("--video-path")
    parser.add_argument("--model-timeout-ms", type=int)
    parser.add_argument("--max-output-tokens", type=int)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--timeout", type=float, help="call deadline in seconds (sent as CallStart.timeout_micros)")
    parser.add_argument("--metadata", action="append", metavar="KEY=VALUE", help="request metadata (repeatable)")
    parser.add_argument("--window", type=int, default=0,
                        help="CallStart.initial_window in bytes (0 = protocol default, 1 MiB)")
    parser.add_argument("--no-window-updates", action="store_true",
                        help="never send WINDOW_UPDATE (to watch the server stop at the window)")
    parser.add_argument("--read-delay", type=float, default=0.0, help="sleep this long after each MESSAGE (slow reader)")
    parser.add_argument("--cancel-after", type=int, default=0, help="send CANCEL after this many events")
    parser.add_argument("--connect-timeout", type=float, default=10.0)
    parser.add_argument("--json", action="store_true", help="one JSON object per event / status line")
    parser.add_argument("--quiet", action="store_true", help="print only the final status")
    parser.add_argument("--hexdump", action="store_true", help="annotated hex dump of both directions")
    parser.add_argument("--hexdump-file", help="write the hex dump here instead of stdout")
    parser.add_argument("--hexdump-text-frames", type=int, default=None, metavar="N",
                        help="in the dump, show only the first N text_generation frames per model")
    args = parser.parse_args(argv)
    if args.method == "analyze" and args.query is None:
        parser.error("--query is required for --method analyze")
    host, _, port = args.server.rpartition(":")
    if not host or not port.isdigit():
        parser.error("--server must be host:port")
    args.host, args.port = host.strip("[]"), int(port)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)

    def out(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def err(line):
        sys.stderr.write("raw_client: " + line + "\n")
        sys.stderr.flush()

    dump = None
    dump_file = None
    conn = None
    if args.hexdump:
        dump_file = open(args.hexdump_file, "w") if args.hexdump_file else sys.stdout
        dump = HexDump(dump_file, args.hexdump_text_frames)
        if not args.hexdump_file:
            # Keep the dump readable: events go to stderr when both share stdout.
            out = err
    try:
        conn = Connection(args.host, args.port, args.connect_timeout, dump=dump,
                          log=err if not (args.json or args.quiet) else None)
    except OSError as error:
        report_status(out, err, args, 14, "cannot connect to %s: %s" % (args.server, error), [], local=True)
        return 1
    try:
        conn.handshake(time.monotonic() + args.connect_timeout)
        return run_call(conn, args, out, err)
    except ProtocolError as error:
        # Our side detected a connection error: tell the server (GOAWAY) and give up.
        conn.go_away(error.code, str(error))
        report_status(out, err, args, error.code, str(error), [], local=True)
        return 1
    except socket.timeout:
        report_status(out, err, args, 14, "timed out waiting for the server", [], local=True)
        return 1
    except OSError as error:
        report_status(out, err, args, 14, "connection failed: %s" % error, [], local=True)
        return 1
    finally:
        if dump:
            dump.flush_elided()
        if conn:
            conn.close()
        if dump_file and dump_file is not sys.stdout:
            dump_file.close()


if __name__ == "__main__":
    sys.exit(main())
