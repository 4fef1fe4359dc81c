"""One connection: preface, frames in and out, PING, GOAWAY."""

import socket
import struct
import time

from .protocol import (
    DEFAULT_MAX_PAYLOAD, GOAWAY, HEADER, HEADER_SIZE, MAGIC, PREFACE, SETTINGS, VERSION, frame,
)
from .protobuf import decode, f_str, f_uint


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
