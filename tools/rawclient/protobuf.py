"""The protobuf wire format by hand: varints, fields, the message schemas, and the encoders of
what a client sends (no protobuf library)."""

import struct

from .protocol import METHODS


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
