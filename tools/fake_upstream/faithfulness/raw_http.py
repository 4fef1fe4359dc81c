"""Raw HTTP for the wire tests: a socket client that keeps the HTTP chunk boundaries, which are
exactly the server's writes; the request bodies and headers the wire tests send; checks on
event lists and chunk lists."""

import json
import socket

from . import harness


class RawResponse:
    def __init__(self, status, headers, chunks, complete, head):
        self.status, self.headers, self.chunks = status, headers, chunks
        self.complete, self.head = complete, head
        self.body = b"".join(chunks)


def raw_request(method, path, body=None, headers=None, timeout=10.0, read_timeout=None):
    """One request on a fresh socket; returns the chunk payloads as the server wrote them.

    `complete` is False when the connection ended (or went quiet for `read_timeout` seconds)
    before the terminating zero-length chunk."""
    data = b"" if body is None else (body if isinstance(body, bytes) else
                                     json.dumps(body).encode())
    hdrs = {"Host": f"127.0.0.1:{harness.PORT}", "Content-Length": str(len(data)),
            "Connection": "close"}
    if body is not None:
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    req = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    sock = socket.create_connection(("127.0.0.1", harness.PORT), timeout=timeout)
    sock.sendall(req.encode("latin-1") + b"\r\n" + data)
    sock.settimeout(read_timeout or timeout)
    buf = b""

    def fill():
        nonlocal buf
        try:
            d = sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            return False
        if not d:
            return False
        buf += d
        return True

    try:
        while b"\r\n\r\n" not in buf:
            if not fill():
                raise AssertionError(f"no complete response head: {buf!r}")
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        chunks, complete = [], False
        if "chunked" not in headers.get("transfer-encoding", ""):
            n = int(headers.get("content-length", "0"))
            while len(buf) < n and fill():
                pass
            return RawResponse(status, headers, [buf[:n]], len(buf) >= n, head)
        while True:
            while b"\r\n" not in buf:
                if not fill():
                    return RawResponse(status, headers, chunks, False, head)
            size_line, rest = buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                buf = size_line + b"\r\n" + rest
                if not fill():
                    part = rest[:size]
                    if part:
                        chunks.append(part)
                    return RawResponse(status, headers, chunks, False, head)
                size_line, rest = buf.split(b"\r\n", 1)
            if size == 0:
                complete = True
                break
            chunks.append(rest[:size])
            buf = rest[size + 2:]
        return RawResponse(status, headers, chunks, complete, head)
    finally:
        sock.close()


def openai_body(prompt="Describe the video", stream=True, usage=True):
    b = {"model": "gpt-4o", "messages": [{"role": "user", "content": prompt}], "stream": stream}
    if stream and usage:
        b["stream_options"] = {"include_usage": True}
    return b


OA_HEADERS = {"Authorization": "Bearer sk-fake-test"}
GM_HEADERS = {"x-goog-api-key": "fake-gemini-key"}
TL_HEADERS = {"x-api-key": "tlk_fake"}
GM_PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
GM_BODY = {"contents": [{"role": "user", "parts": [{"text": "Describe the video"}]}]}
TL_BODY = {"video_id": "vid-1", "prompt": "Describe the video", "temperature": 0.2,
           "stream": True}


def behave(spec, headers):
    h = dict(headers)
    h["X-Fake-Behavior"] = spec
    return h


def sse_events(body, sep):
    assert body.endswith(sep), body[-40:]
    return body[: -len(sep)].split(sep)


def has_split_character(chunks):
    """True when some write ends inside a multi-byte UTF-8 character."""
    for c in chunks[:-1]:
        try:
            c.decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False
