"""An annotated hex dump of an exchange, frame by frame, each protobuf field decoded."""

import json
import struct

from .protocol import (
    CALL_END, CALL_START, CANCEL, FLAG_ACK, FRAME_NAMES, GOAWAY, HEADER, HEADER_SIZE, MESSAGE,
    METHODS, PING, SETTINGS, WINDOW_UPDATE, status_name,
)
from .protobuf import (
    REQUEST_TYPE, RESPONSE_TYPE, SCHEMAS, SERVING_STATUS, WT_I32, WT_I64, WT_LEN, WT_VARINT,
    decode, iter_fields, scalar,
)


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
