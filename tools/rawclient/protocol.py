"""Chorus RPC protocol constants and the frame header (PROTOCOL.md sections 3-5)."""

import struct

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

def frame(frame_type, stream_id, payload=b"", flags=0):
    return HEADER.pack(len(payload), frame_type, flags, stream_id) + payload
