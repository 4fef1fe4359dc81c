#!/usr/bin/env python3
"""Fake upstream model APIs for Chorus tests: OpenAI, Gemini and TwelveLabs on one port.

Standard library only. Serves byte-faithful imitations of

  OpenAI      POST /v1/chat/completions                          (SSE `data:` chunks, `[DONE]`)
  Gemini      POST /v1beta/models/{model}:streamGenerateContent   (?alt=sse: CRLF-framed SSE;
                                                                   without alt=sse: a JSON array)
              POST /v1beta/models/{model}:generateContent
              POST /upload/v1beta/files                           (resumable upload: start, upload,
                                                                   finalize, query)
              GET|DELETE /v1beta/files/{id}                       (PROCESSING -> ACTIVE | FAILED)
  TwelveLabs  POST /v1.3/analyze                                  (NDJSON event_type lines)
              GET  /v1.3/indexes/{index}/videos/{video}           (video retrieval with hls.video_url)

plus test helpers: GET /media/{file} (files from --media-dir, with Range), GET /_fake/health,
GET /_fake/requests[?tag=T&since=N] (what clients sent), POST /_fake/reset.

    python3 tools/fake_upstream/server.py --port 0      # first stdout line: "PORT <n>"

Misbehaviour is chosen per request, either with the header

    X-Fake-Behavior: split=random;seed=3;text=Caf%C3%A9

or with a marker anywhere in the prompt text, `[fake:split=random;seed=3]` (both may be given;
the header wins key by key). The full syntax is in tools/fake_upstream/README.md and in
BEHAVIOR_HELP below (`--help-behavior` prints it).
"""

import argparse
import base64
import hashlib
import json
import os
import random
import re
import select
import signal
import socket
import string
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# --------------------------------------------------------------------------------------------
# Default answers. Deliberately full of multi-byte UTF-8 (2-byte é, 3-byte 日本/「」, 4-byte
# emoji, a ZWJ sequence and a variation selector) so that byte-level splitting lands inside
# characters. None of them contains U+2028/U+2029/U+0085 (str.splitlines() would break there).
# --------------------------------------------------------------------------------------------
DEFAULT_TEXT = {
    "openai": ("Café scene: a chef plates crème brûlée in Tōkyō — 日本の料理 🍣🎬. "
               "The camera pans across naïve façades; 👩‍🍳 smiles. Done ✓"),
    "gemini": ("The video opens on a rainy street in 東京. A barista pours a café crème ☕, "
               "then the title card reads « Fin » 🎞️ — 日本語の字幕もあります. 👍🏽"),
    "pegasus": ("Résumé: two hikers cross a glacier at dawn 🏔️; the narrator says 「素晴らしい」 "
                "while a drone 🚁 circles. Total: 3 scènes, one finale 🎉."),
}
GEMINI_THOUGHT_TEXT = "**Considering the clip**\n\nI should describe the scene — 場面 🤔 — briefly."

BEHAVIOR_HELP = """\
Behaviour: `key=value` items separated by `;` (a bare `key` means `key=1`). Values are
percent-decoded as UTF-8 (write `;` as %3B, `]` as %5D, `%` as %25; header values must be ASCII,
so percent-encode non-ASCII text there). Sources: header `X-Fake-Behavior`, and `[fake:...]`
markers found in any string of the JSON request body (prompt text, display_name, ...); the
header wins key by key.

Content
  text=STR          answer text (default: DEFAULT_TEXT[provider], multi-byte UTF-8)
  piece=N           code points per content event (default 8; 0 = the whole text in one event)
  seed=N            seed for every random choice (default 0)
  thought=0|1       Gemini: emit a leading `"thought": true` part (default 1)
  finish=VALUE      finish reason on the last chunk (OpenAI stop|length|content_filter...,
                    Gemini STOP|MAX_TOKENS|SAFETY..., TwelveLabs stop|length; TwelveLabs
                    `length` adds `error.message` to stream_end)
  block=prompt      Gemini: one chunk with promptFeedback.blockReason and no candidates
  no_end            drop the end marker: OpenAI `data: [DONE]`, Gemini the finishReason chunk,
                    TwelveLabs the stream_end line
  noise             legal filler the official SDKs tolerate: OpenAI `: keep-alive` comment
                    lines, Gemini extra blank CRLF lines, TwelveLabs a blank line and an unknown
                    event_type line
  comments          Gemini: `: keep-alive` SSE comment lines (legal SSE, never seen from Gemini;
                    python-genai 3.6 fails on them, see README)

Write pattern (the events themselves are unchanged)
  split=random      split every write at 1-3 random byte offsets (one of them, when possible,
                    inside a multi-byte UTF-8 sequence)
  split=utf8        split inside every multi-byte character and inside every event terminator
  split=N           fixed N-byte writes
  coalesce=N|all    N events (or the whole body) per write, before splitting
  gap=MS            pause between writes (default 1 when split/coalesce is set, else 0)
  drip=MS           one byte per write, MS ms apart
  delay=MS          wait before sending the status line (time to first byte)

Failures
  stall_after=N     after N events stop writing; keep the connection open until the client
                    goes away (or for stall_ms=MS, then continue)
  cut_after=N       write N events, then part of the next one (cut_at=BYTES, default half),
                    then close the socket without ending the chunked body (cut=rst: RST)
  error_after=N     after N content events, an error inside the 200 stream, then end:
                    OpenAI `data: {"error":{...}}`, Gemini `data: {"error": {...}}`
                    (error_form=array: `data: [{"error": ...}]`), TwelveLabs a
                    `stream_error` line; error_code=N picks the code (default 500)
  status=N          answer with HTTP N and the provider's error body and headers (400, 401,
                    403, 404, 408, 429, 500, 502 (an HTML gateway page), 503, 504)
  kind=quota        OpenAI 429 `insufficient_quota` instead of `rate_limit_exceeded`
  error_form=array  Gemini error bodies as a one-element array `[{"error": ...}]`
  retry_after=S     429: `retry-after` seconds (default 1; `none` omits it); Gemini puts it in
                    RetryInfo.retryDelay
  retry_after_ms=MS OpenAI 429: `retry-after-ms` (default retry_after*1000; `none` omits it)
  times=N           misbehave only on the first N requests with this behaviour (counted per
                    provider and `key=` value, or the behaviour string), then answer normally

Gemini Files API (given on the upload start request, header or display_name marker)
  polls=N           GETs answered with PROCESSING before the final state (default 2)
  file_state=S      final state: ACTIVE (default) or FAILED

TwelveLabs video retrieval
  hls_url=URL       hls.video_url to return (default: /media/{video_id}.m3u8 or .mp4 on this
                    server when --media-dir has it, else /media/{video_id}.m3u8)
  hls_status=S      hls.status (default COMPLETE); hls=none omits the hls object

Scopes
  openai.K=V, gemini.K=V, twelvelabs.K=V (alias pegasus.K=V): apply K=V to that provider only,
  winning over an unscoped K. One Chorus query reaches every model, so a marker in it can make
  one provider fail while the others answer: `[fake:gemini.status=503;openai.split=utf8]`.

Where else markers are read
  Gemini uploads: `[fake:...]` anywhere in the uploaded bytes (for example a video made with
  `ffmpeg ... -metadata comment='[fake:file_state=FAILED]'`), besides the start request's
  header and display_name (those win).
  TwelveLabs video retrieval: `[fake:...]` inside the index or video id path segment
  (percent-encoded); it is removed from the id before use.

Bookkeeping
  tag=T             stored with the request record (GET /_fake/requests?tag=T)
  key=K             counter name for times=N
"""

CONTENT_KEYS = {"text", "piece", "seed", "thought", "finish", "tag", "key", "polls",
                "file_state", "hls_url", "hls_status", "hls"}

MARKER_RE = re.compile(r"\[fake:([^\]]*)\]")
BYTES_MARKER_RE = re.compile(rb"\[fake:([^\]\x00-\x1f]{0,256})\]")
SHUTDOWN = threading.Event()
STATE_LOCK = threading.Lock()
TIMES_COUNTERS = {}
FILES = {}            # id -> dict(file object fields + bookkeeping)
UPLOADS = {}          # upload_id -> dict
REQUESTS = []         # recorded requests
REQUEST_SEQ = [0]
MAX_RECORDS = 500
MEDIA_DIR = [None]
LOG_REQUESTS = [False]


# --------------------------------------------------------------------------------------------
# Behaviour parsing
# --------------------------------------------------------------------------------------------

def parse_behavior(spec):
    """`a=1;b;c=x%3By` -> {"a": "1", "b": "1", "c": "x;y"}."""
    out = {}
    if not spec:
        return out
    for item in spec.split(";"):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        out[key] = urllib.parse.unquote(value) if sep else "1"
    return out


def collect_strings(obj, out):
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            collect_strings(v, out)
    elif isinstance(obj, list):
        for v in obj:
            collect_strings(v, out)
    return out


class Behavior(dict):
    def int(self, key, default=None):
        v = self.get(key)
        if v is None or v == "" or v.lower() == "none":
            return default
        try:
            return int(float(v))
        except ValueError:
            return default

    def float(self, key, default=None):
        v = self.get(key)
        if v is None or v == "" or v.lower() == "none":
            return default
        try:
            return float(v)
        except ValueError:
            return default

    def flag(self, key, default=False):
        v = self.get(key)
        if v is None:
            return default
        return v.lower() not in ("0", "false", "no", "off", "")

    def canonical(self):
        return ";".join(f"{k}={self[k]}" for k in sorted(self))


def behavior_from(body_json, header_value):
    b = {}
    if body_json is not None:
        for s in collect_strings(body_json, []):
            if "[fake:" in s:
                for m in MARKER_RE.finditer(s):
                    b.update(parse_behavior(m.group(1)))
    b.update(parse_behavior(header_value or ""))
    return Behavior(b)


SCOPES = {"openai": ("openai",), "gemini": ("gemini",), "twelvelabs": ("twelvelabs", "pegasus")}


def scope_behavior(b, provider):
    """Keys `openai.K`, `gemini.K`, `twelvelabs.K`/`pegasus.K` apply to that provider only and
    win over the unscoped `K`."""
    out = {k: v for k, v in b.items() if "." not in k}
    for k, v in b.items():
        scope, dot, key = k.partition(".")
        if dot and scope in SCOPES.get(provider, ()):
            out[key] = v
    return Behavior(out)


def apply_times(provider, b):
    """With times=N, only the first N matching requests misbehave."""
    n = b.int("times")
    if n is None:
        return b
    counter = provider + "|" + (b.get("key") or b.canonical())
    with STATE_LOCK:
        seen = TIMES_COUNTERS.get(counter, 0)
        TIMES_COUNTERS[counter] = seen + 1
    if seen < n:
        return b
    return Behavior({k: v for k, v in b.items() if k in CONTENT_KEYS})


# --------------------------------------------------------------------------------------------
# Text and byte helpers
# --------------------------------------------------------------------------------------------

def split_text(text, piece):
    if not text:
        return []
    if piece is None:
        piece = 8
    if piece <= 0:
        return [text]
    return [text[i:i + piece] for i in range(0, len(text), piece)]


def approx_tokens(text):
    return max(1, (len(text) + 3) // 4) if text else 0


def multibyte_inner_offsets(data):
    """Offsets p (0 < p < len) where data[p] continues a multi-byte UTF-8 sequence."""
    return [i for i in range(1, len(data)) if 0x80 <= data[i] <= 0xBF]


def terminator_inner_offsets(data):
    """Offsets inside the trailing run of CR/LF bytes that ends an event."""
    end = len(data)
    start = end
    while start > 0 and data[start - 1] in (0x0A, 0x0D):
        start -= 1
    return list(range(max(start, 1), end))


def split_unit(unit, mode, rng):
    if not mode or mode == "none" or len(unit) <= 1:
        return [unit]
    cuts = set()
    if mode == "random":
        inner = multibyte_inner_offsets(unit)
        k = rng.randint(1, 3)
        if inner and rng.random() < 0.7:
            cuts.add(rng.choice(inner))
            k -= 1
        for _ in range(k):
            cuts.add(rng.randint(1, len(unit) - 1))
    elif mode == "utf8":
        prev = -2
        for p in multibyte_inner_offsets(unit):
            if p != prev + 1:            # first continuation byte of each sequence
                cuts.add(p)
            prev = p
        cuts.update(terminator_inner_offsets(unit))
        if not cuts:
            cuts.add(len(unit) // 2)
    else:
        try:
            size = max(1, int(mode))
        except ValueError:
            return [unit]
        cuts.update(range(size, len(unit), size))
    out, last = [], 0
    for c in sorted(c for c in cuts if 0 < c < len(unit)):
        out.append(unit[last:c])
        last = c
    out.append(unit[last:])
    return out


def go_duration(ms):
    """Go-style duration as in OpenAI's x-ratelimit-reset-* headers: 12ms, 1s, 6m0s, 1h2m3s."""
    ms = int(ms)
    if ms < 1000:
        return f"{ms}ms"
    s = ms / 1000.0
    h, rem = divmod(int(s), 3600)
    m, sec = divmod(rem, 60)
    frac = s - int(s)
    sec_txt = f"{sec + frac:.3f}".rstrip("0").rstrip(".")
    if h:
        return f"{h}h{m}m{sec_txt}s"
    if m:
        return f"{m}m{sec_txt}s"
    return f"{sec_txt}s"


def rand_id(rng, n, alphabet=string.ascii_letters + string.digits):
    return "".join(rng.choice(alphabet) for _ in range(n))


def now_rfc3339(t=None):
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


def oa_json(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def gm_json(obj):
    # Gemini's SSE chunks: one line, ": " after keys, no space after commas.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ": "))


def tl_json(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------------------------
# Provider error bodies
# --------------------------------------------------------------------------------------------

OPENAI_ERRORS = {
    400: ("Invalid request (fake upstream).", "invalid_request_error", None, None),
    401: ("Incorrect API key provided. You can find your API key at "
          "https://platform.openai.com/account/api-keys.", "invalid_request_error", None,
          "invalid_api_key"),
    403: ("Country, region, or territory not supported", "request_forbidden", None,
          "unsupported_country_region_territory"),
    404: ("The model does not exist or you do not have access to it.", "invalid_request_error",
          None, "model_not_found"),
    408: ("Request timed out.", "timeout", None, None),
    500: ("The server had an error while processing your request. Sorry about that!",
          "server_error", None, None),
    503: ("The server is overloaded or not ready yet.", "server_error", None, None),
    504: ("Gateway timeout.", "server_error", None, None),
}

GEMINI_STATUS = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 "
          "access token, login cookie or other valid authentication credential."),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    408: ("DEADLINE_EXCEEDED", "The request timed out."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in "
          "https://developers.generativeai.google/guide/troubleshooting"),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}

TWELVELABS_ERRORS = {
    400: ("parameter_invalid", "The request contains some invalid parameters."),
    401: ("api_key_invalid", "API Key is either invalid or expired. Please check your API key "
          "or generate a new one from the dashboard and try again."),
    403: ("api_not_allowed", "API is not allowed to use."),
    404: ("resource_not_exist", "Resource does not exist."),
    408: ("request_canceled_or_timed_out", "Request canceled."),
    500: ("internal_server_error", "An internal error occurred. Please try again later."),
    503: ("service_unavailable", "The service is temporarily unavailable. Please try again later."),
    504: ("request_canceled_or_timed_out", "Request timed out."),
}

GATEWAY_HTML = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>fake-gateway</center>"
                b"\r\n</body>\r\n</html>\r\n")


def openai_error_body(message, etype, param, code):
    # OpenAI pretty-prints error bodies with 4-space indentation.
    return (json.dumps({"error": {"message": message, "type": etype, "param": param,
                                  "code": code}}, indent=4, ensure_ascii=False) + "\n").encode()


def gemini_error_obj(code, message=None, status=None, details=None):
    st, msg = GEMINI_STATUS.get(code, ("UNKNOWN", "Unknown error."))
    err = {"code": code, "message": message or msg, "status": status or st}
    if details:
        err["details"] = details
    return {"error": err}


def gemini_error_body(obj, b):
    if b.get("error_form") == "array":
        obj = [obj]
    # Google APIs pretty-print error bodies with 2-space indentation.
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()


def twelvelabs_error_body(code, message):
    return tl_json({"code": code, "message": message,
                    "docs_url": "https://docs.twelvelabs.io/v1.3/api-reference/error-codes"}
                   ).encode()


# --------------------------------------------------------------------------------------------
# The HTTP handler
# --------------------------------------------------------------------------------------------

class ClientGone(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-upstream"
    sys_version = ""

    # ---- plumbing ---------------------------------------------------------------------------

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, fmt, *args):
        if LOG_REQUESTS[0]:
            sys.stderr.write("[fake-upstream] %s %s\n" % (self.address_string(), fmt % args))

    def version_string(self):
        return getattr(self, "_server_header", self.server_version)

    def base_url(self):
        host = self.headers.get("Host")
        if not host:
            addr = self.server.server_address
            host = f"{addr[0]}:{addr[1]}"
        return f"http://{host}"

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            parts = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    break
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:          # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def parse_json(self, raw):
        if not raw:
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def record(self, provider, raw, body_json, behavior):
        headers = {}
        for k, v in self.headers.items():
            if k.lower() in ("authorization", "x-api-key", "x-goog-api-key"):
                v = (v[:7] + "…" + v[-4:]) if len(v) > 14 else "…"
            headers[k] = v
        rec = {
            "method": self.command, "path": self.path, "provider": provider,
            "headers": headers, "behavior": dict(behavior), "tag": behavior.get("tag"),
            "body_bytes": len(raw), "body_sha256": hashlib.sha256(raw).hexdigest(),
            "time": time.time(),
        }
        if body_json is not None and len(raw) <= 4 * 1024 * 1024:
            rec["json"] = body_json
        with STATE_LOCK:
            REQUEST_SEQ[0] += 1
            rec["seq"] = REQUEST_SEQ[0]
            REQUESTS.append(rec)
            if len(REQUESTS) > MAX_RECORDS:
                del REQUESTS[: len(REQUESTS) - MAX_RECORDS]
        self._record = rec

    def set_status_record(self, status):
        rec = getattr(self, "_record", None)
        if rec is not None:
            rec["status"] = status

    def send_bytes(self, status, body, content_type="application/json; charset=UTF-8",
                   headers=None):
        self.set_status_record(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def start_stream(self, content_type, headers=None):
        self.set_status_record(200)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def write_chunk(self, data):
        if not data:
            return
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except (BrokenPipeError, ConnectionResetError, OSError) as e:
            raise ClientGone() from e

    def end_stream(self):
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError as e:
            raise ClientGone() from e

    def wait(self, seconds):
        """Sleep, returning early (False) when the client hangs up or the server stops."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while not SHUTDOWN.is_set():
            remaining = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if remaining <= 0:
                return True
            try:
                r, _, _ = select.select([self.connection], [], [], remaining)
            except (OSError, ValueError):
                return False
            if r:
                try:
                    peek = self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    return False
                if not peek:
                    return False
                time.sleep(remaining)
        return False

    def cut(self, mode):
        self.close_connection = True
        try:
            if mode == "rst":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def pre_delay(self, b):
        d = b.float("delay")
        if d:
            if not self.wait(d / 1000.0):
                raise ClientGone()

    # ---- the streaming engine ---------------------------------------------------------------

    def run_stream(self, events, b, rng):
        """Write `events` (complete frames) following the behaviour's write pattern."""
        n = len(events)
        stall_after = b.int("stall_after")
        cut_after = b.int("cut_after")
        ops = []
        for i, ev in enumerate(events):
            if stall_after is not None and i == stall_after:
                ops.append(("stall",))
            if cut_after is not None and i == cut_after:
                cut_at = b.int("cut_at")
                if cut_at is None:
                    cut_at = max(1, len(ev) // 2)
                ops.append(("data", ev[:max(1, min(cut_at, len(ev) - 1))]))
                ops.append(("cut",))
                break
            ops.append(("data", ev))
        else:
            if stall_after is not None and stall_after >= n:
                ops.append(("stall",))
            if cut_after is not None and cut_after >= n:
                ops.append(("cut",))
            else:
                ops.append(("end",))

        split_mode = b.get("split")
        coalesce = b.get("coalesce")
        drip = b.float("drip")
        gap = b.float("gap", 1.0 if (split_mode or coalesce) else 0.0)
        if drip is not None:
            split_mode, gap = "1", drip

        def flush_run(run):
            if not run:
                return
            if coalesce == "all":
                units = [b"".join(run)]
            elif coalesce:
                try:
                    k = max(1, int(coalesce))
                except ValueError:
                    k = 1
                units = [b"".join(run[i:i + k]) for i in range(0, len(run), k)]
            else:
                units = run
            first = True
            for unit in units:
                for piece in split_unit(unit, split_mode, rng):
                    if gap and not first:
                        if not self.wait(gap / 1000.0):
                            raise ClientGone()
                    first = False
                    self.write_chunk(piece)

        run = []
        for op in ops:
            if op[0] == "data":
                run.append(op[1])
                continue
            flush_run(run)
            run = []
            if op[0] == "stall":
                ms = b.float("stall_ms")
                if not self.wait(None if ms is None else ms / 1000.0):
                    raise ClientGone()
            elif op[0] == "cut":
                self.cut(b.get("cut", "fin"))
                return
            elif op[0] == "end":
                self.end_stream()
        flush_run(run)

    # ---- dispatch ---------------------------------------------------------------------------

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def dispatch(self):
        # One handler serves every request of a keep-alive connection: forget the previous record.
        self._record = None
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query)
        try:
            raw = self.read_body() if self.command in ("POST", "PUT", "PATCH", "DELETE") else b""
            if path.startswith("/_fake/"):
                return self.fake_control(path, query)
            if path.startswith("/media/") and self.command in ("GET", "HEAD"):
                return self.serve_media(path[len("/media/"):])
            if self.command == "POST" and path.endswith("/chat/completions"):
                return self.openai_chat(path, raw)
            m = re.fullmatch(r"/(v1beta|v1|v1alpha)/models/([^/:]+):(streamGenerateContent|"
                             r"generateContent)", path)
            if m and self.command == "POST":
                return self.gemini_generate(urllib.parse.unquote(m.group(2)), m.group(3), query,
                                            raw)
            if path in ("/upload/v1beta/files", "/upload/v1/files") and self.command == "POST":
                return self.gemini_upload(query, raw)
            m = re.fullmatch(r"/(v1beta|v1)/files/([^/]+)", path)
            if m and self.command in ("GET", "DELETE"):
                return self.gemini_file(m.group(2), query, raw)
            if path == "/v1.3/analyze" and self.command == "POST":
                return self.twelvelabs_analyze(raw)
            m = re.fullmatch(r"/v1\.3/indexes/([^/]+)/videos/([^/]+)", path)
            if m and self.command == "GET":
                return self.twelvelabs_video(urllib.parse.unquote(m.group(1)),
                                             urllib.parse.unquote(m.group(2)))
            self.send_bytes(404, tl_json({"error": "not found", "path": path}).encode())
        except (ClientGone, BrokenPipeError, ConnectionResetError):
            # Recorded so that tests can see that a cancelled client really hung up.
            self.close_connection = True
            with STATE_LOCK:
                if getattr(self, "_record", None) is not None:
                    self._record["client_gone"] = True

    # ---- helpers shared by providers ---------------------------------------------------------

    def common_setup(self, provider, raw, extra_strings=()):
        body_json = self.parse_json(raw)
        scan = body_json
        if extra_strings:
            scan = {"body": body_json, "extra": list(extra_strings)}
        b = behavior_from(scan, self.headers.get("X-Fake-Behavior"))
        self.record(provider, raw, body_json, b)
        b = apply_times(provider, scope_behavior(b, provider))
        rng = random.Random(b.int("seed", 0))
        return body_json, b, rng

    def gateway_html(self):
        self.send_bytes(502, GATEWAY_HTML, "text/html")

    # ---- OpenAI -----------------------------------------------------------------------------

    def openai_auth_error(self, path):
        auth = self.headers.get("Authorization") or ""
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        strict = path == "/v1/chat/completions"
        if not key:
            if not strict:
                return None
            return openai_error_body(
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
                "or as the password field (with blank username) if you're accessing the API "
                "from your browser and are prompted for a username and password. You can "
                "obtain an API key from https://platform.openai.com/account/api-keys.",
                "invalid_request_error", None, None)
        if key.startswith("bad") or key.startswith("invalid"):
            masked = key[:3] + "*" * 10 + key[-4:] if len(key) > 8 else "*" * len(key)
            return openai_error_body(
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error", None, "invalid_api_key")
        return None

    def openai_ratelimit_headers(self, remaining_tokens=29999950, reset_tokens="0s",
                                 remaining_requests=9999, reset_requests="6ms"):
        return {
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-limit-tokens": "30000000",
            "x-ratelimit-remaining-requests": str(remaining_requests),
            "x-ratelimit-remaining-tokens": str(remaining_tokens),
            "x-ratelimit-reset-requests": reset_requests,
            "x-ratelimit-reset-tokens": reset_tokens,
        }

    def openai_status(self, status, b, model):
        req_id = "req_" + os.urandom(16).hex()
        headers = {"x-request-id": req_id, "openai-version": "2020-10-01"}
        if status == 502:
            return self.gateway_html()
        if status == 429:
            ra = b.get("retry_after", "1")
            ra_s = None if ra.lower() == "none" else float(ra)
            ra_ms_raw = b.get("retry_after_ms")
            if ra_ms_raw is None:
                ra_ms = None if ra_s is None else int(ra_s * 1000)
            else:
                ra_ms = None if ra_ms_raw.lower() == "none" else int(float(ra_ms_raw))
            wait_ms = ra_ms if ra_ms is not None else int((ra_s or 1) * 1000)
            if b.get("kind") == "quota":
                body = openai_error_body(
                    "You exceeded your current quota, please check your plan and billing "
                    "details. For more information on this error, read the docs: "
                    "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                    "insufficient_quota", None, "insufficient_quota")
                headers.update(self.openai_ratelimit_headers())
            else:
                body = openai_error_body(
                    f"Rate limit reached for {model} in organization org-fakeupstream on tokens "
                    f"per min (TPM): Limit 30000, Used 29937, Requested 385. Please try again in "
                    f"{go_duration(wait_ms)}. Visit https://platform.openai.com/account/rate-limits "
                    f"to learn more.", "tokens", None, "rate_limit_exceeded")
                headers.update(self.openai_ratelimit_headers(
                    remaining_tokens=63, reset_tokens=go_duration(wait_ms),
                    remaining_requests=9998, reset_requests="6m0s"))
            if ra_s is not None:
                headers["retry-after"] = ("%g" % ra_s)
            if ra_ms is not None:
                headers["retry-after-ms"] = str(ra_ms)
            return self.send_bytes(429, body, headers=headers)
        msg, etype, param, code = OPENAI_ERRORS.get(
            status, ("Fake upstream error.", "server_error", None, None))
        if status == 404:
            msg = f"The model `{model}` does not exist or you do not have access to it."
        self.send_bytes(status, openai_error_body(msg, etype, param, code), headers=headers)

    def openai_chat(self, path, raw):
        self._server_header = "cloudflare"
        body, b, rng = self.common_setup("openai", raw)
        self.pre_delay(b)
        auth_err = self.openai_auth_error(path)
        if auth_err:
            return self.send_bytes(401, auth_err,
                                   headers={"x-request-id": "req_" + os.urandom(16).hex()})
        if not isinstance(body, dict):
            return self.send_bytes(400, openai_error_body(
                "We could not parse the JSON body of your request. (HINT: This likely means "
                "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                "payload, but what was sent was not valid JSON.)",
                "invalid_request_error", None, None))
        model = body.get("model") or ""
        status = b.int("status")
        if status:
            return self.openai_status(status, b, model or "gpt-4o")
        if not model:
            return self.send_bytes(400, openai_error_body(
                "you must provide a model parameter", "invalid_request_error", None, None))
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.send_bytes(400, openai_error_body(
                "[] is too short - 'messages'", "invalid_request_error", "messages", None))
        stream = body.get("stream") is True
        stream_options = body.get("stream_options")
        if stream_options is not None and not stream:
            return self.send_bytes(400, openai_error_body(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                "invalid_request_error", "stream_options", None))

        text = b.get("text", DEFAULT_TEXT["openai"])
        pieces = split_text(text, b.int("piece"))
        prompt_text = "".join(collect_strings(messages, []))
        images = sum(1 for s in _iter_dicts(messages) if s.get("type") == "image_url")
        prompt_tokens = approx_tokens(prompt_text) + 85 * images + 7
        resolved = "gpt-4o-2024-08-06" if model == "gpt-4o" else model
        chat_id = "chatcmpl-" + rand_id(rng, 29)
        created = int(time.time())
        fingerprint = "fp_" + rand_id(rng, 10, "0123456789abcdef")
        finish = b.get("finish", "stop")
        usage = {
            "prompt_tokens": prompt_tokens, "completion_tokens": len(pieces),
            "total_tokens": prompt_tokens + len(pieces),
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0},
        }
        headers = {"x-request-id": "req_" + os.urandom(16).hex(),
                   "openai-version": "2020-10-01", "openai-processing-ms": "231",
                   "openai-organization": "org-fakeupstream"}
        headers.update(self.openai_ratelimit_headers())

        if not stream:
            resp = {
                "id": chat_id, "object": "chat.completion", "created": created, "model": resolved,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text,
                                                     "refusal": None, "annotations": []},
                             "logprobs": None, "finish_reason": finish}],
                "usage": usage, "service_tier": "default", "system_fingerprint": fingerprint,
            }
            return self.send_bytes(200, (json.dumps(resp, indent=2, ensure_ascii=False) + "\n")
                                   .encode(), headers=headers)

        include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage")
        obfuscate = not (isinstance(stream_options, dict)
                         and stream_options.get("include_obfuscation") is False)

        def chunk(choices, usage_value=None, final_usage=False):
            obj = {"id": chat_id, "object": "chat.completion.chunk", "created": created,
                   "model": resolved, "service_tier": "default",
                   "system_fingerprint": fingerprint, "choices": choices}
            if include_usage:
                obj["usage"] = usage_value if final_usage else None
            if obfuscate:
                obj["obfuscation"] = rand_id(rng, rng.randint(2, 12))
            return b"data: " + oa_json(obj).encode() + b"\n\n"

        def choice(delta, finish_reason=None):
            return [{"index": 0, "delta": delta, "logprobs": None,
                     "finish_reason": finish_reason}]

        noise = b.flag("noise")
        events = [chunk(choice({"role": "assistant", "content": "", "refusal": None}))]
        error_after = b.int("error_after")
        errored = False
        for i, p in enumerate(pieces):
            if error_after is not None and i == error_after:
                errored = True
                break
            if noise and i % 3 == 1:
                events.append(b": keep-alive\n\n")
            events.append(chunk(choice({"content": p})))
        if error_after is not None and error_after >= len(pieces):
            errored = True
        if errored:
            code = b.int("error_code", 500)
            msg, etype, param, ecode = OPENAI_ERRORS.get(
                code, ("The server had an error while processing your request. Sorry about that!",
                       "server_error", None, None))
            events.append(b"data: " + oa_json({"error": {"message": msg, "type": etype,
                                                          "param": param, "code": ecode}}
                                               ).encode() + b"\n\n")
        else:
            events.append(chunk(choice({}, finish)))
            if include_usage:
                events.append(chunk([], usage, final_usage=True))
            if not b.flag("no_end"):
                events.append(b"data: [DONE]\n\n")
        self.start_stream("text/event-stream; charset=utf-8", headers)
        self.run_stream(events, b, rng)

    # ---- Gemini -----------------------------------------------------------------------------

    def gemini_key(self, query):
        return self.headers.get("x-goog-api-key") or (query.get("key") or [""])[0]

    def gemini_auth_error(self, query):
        key = self.gemini_key(query)
        if not key:
            return 403, gemini_error_obj(
                403, "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.", "PERMISSION_DENIED")
        if key.startswith("bad") or key.startswith("invalid"):
            return 400, gemini_error_obj(400, "API key not valid. Please pass a valid API key.",
                                         "INVALID_ARGUMENT", [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com",
                 "metadata": {"service": "generativelanguage.googleapis.com"}},
                {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
                 "message": "API key not valid. Please pass a valid API key."}])
        return None

    def gemini_send_error(self, status, obj, b, headers=None):
        h = {"Vary": "Origin, X-Origin, Referer"}
        h.update(headers or {})
        self.send_bytes(status, gemini_error_body(obj, b), headers=h)

    def gemini_status(self, status, b, model):
        if status == 502:
            return self.gateway_html()
        if status == 429:
            ra = b.get("retry_after", "1")
            delay = None if ra.lower() == "none" else float(ra)
            details = [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                    "quotaMetric": "generativelanguage.googleapis.com/"
                                   "generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    "quotaDimensions": {"location": "global", "model": model},
                    "quotaValue": "10"}]},
                {"@type": "type.googleapis.com/google.rpc.Help", "links": [{
                    "description": "Learn more about Gemini API quotas",
                    "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            ]
            msg = ("You exceeded your current quota, please check your plan and billing details. "
                   "For more information on this error, head to: "
                   "https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for "
                   "metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, "
                   f"limit: 10, model: {model}")
            if delay is not None:
                details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                "retryDelay": "%gs" % delay})
                msg += "\nPlease retry in %gs." % delay
            return self.gemini_send_error(429, gemini_error_obj(429, msg, None, details), b)
        self.gemini_send_error(status, gemini_error_obj(status), b)

    def gemini_generate(self, model, method, query, raw):
        self._server_header = "scaffolding on HTTPServer2"
        body, b, rng = self.common_setup("gemini", raw)
        self.pre_delay(b)
        auth = self.gemini_auth_error(query)
        if auth:
            return self.gemini_send_error(auth[0], auth[1], b)
        status = b.int("status")
        if status:
            return self.gemini_status(status, b, model)
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
            return self.gemini_send_error(400, gemini_error_obj(
                400, "* GenerateContentRequest.contents: contents is not specified\n",
                "INVALID_ARGUMENT"), b)
        # File references: unknown files of this server and non-ACTIVE files are refused.
        file_parts = 0
        for d in _iter_dicts(body.get("contents")):
            fd = d.get("file_data") or d.get("fileData")
            if not isinstance(fd, dict):
                continue
            file_parts += 1
            uri = fd.get("file_uri") or fd.get("fileUri") or ""
            m = re.search(r"/files/([A-Za-z0-9_-]+)$", uri)
            if not m or "generativelanguage.googleapis.com" in uri or "youtube" in uri:
                continue
            with STATE_LOCK:
                f = FILES.get(m.group(1))
                state = f["state"] if f else None
            if f is None:
                return self.gemini_send_error(403, gemini_error_obj(
                    403, f"You do not have permission to access the File {m.group(1)} or it may "
                    "not exist.", "PERMISSION_DENIED"), b)
            if state != "ACTIVE":
                return self.gemini_send_error(400, gemini_error_obj(
                    400, f"The File {m.group(1)} is not in an ACTIVE state and usage is not "
                    "allowed.", "FAILED_PRECONDITION"), b)

        text = b.get("text", DEFAULT_TEXT["gemini"])
        pieces = split_text(text, b.int("piece"))
        prompt_tokens = approx_tokens("".join(collect_strings(body.get("contents"), []))) \
            + 300 * file_parts
        response_id = rand_id(rng, 23, string.ascii_letters + string.digits + "-_")
        thought = b.flag("thought", True)
        thoughts_tokens = approx_tokens(GEMINI_THOUGHT_TEXT) if thought else 0
        finish = b.get("finish", "STOP")

        def usage(cands):
            u = {"promptTokenCount": prompt_tokens}
            if cands:
                u["candidatesTokenCount"] = cands
            u["totalTokenCount"] = prompt_tokens + cands + thoughts_tokens
            u["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt_tokens}]
            if thoughts_tokens:
                u["thoughtsTokenCount"] = thoughts_tokens
            return u

        def resp(parts, cands, finish_reason=None):
            cand = {"content": {"parts": parts, "role": "model"}}
            if finish_reason:
                cand["finishReason"] = finish_reason
            cand["index"] = 0
            return {"candidates": [cand], "usageMetadata": usage(cands),
                    "modelVersion": model, "responseId": response_id}

        objs = []
        error_obj = None
        if b.get("block") == "prompt":
            objs.append({"promptFeedback": {"blockReason": "SAFETY"},
                         "usageMetadata": {"promptTokenCount": prompt_tokens,
                                           "totalTokenCount": prompt_tokens},
                         "modelVersion": model, "responseId": response_id})
        else:
            if thought:
                objs.append(resp([{"text": GEMINI_THOUGHT_TEXT, "thought": True}], 0))
            error_after = b.int("error_after")
            end_ok = not b.flag("no_end") and error_after is None
            for i, p in enumerate(pieces):
                if error_after is not None and i == error_after:
                    break
                last = i == len(pieces) - 1
                objs.append(resp([{"text": p}], approx_tokens("".join(pieces[:i + 1])),
                                 finish if (last and end_ok) else None))
            if error_after is not None:
                error_obj = gemini_error_obj(b.int("error_code", 500))
            elif not pieces and end_ok:
                objs.append(resp([], 0, finish))

        if method == "generateContent":
            if error_obj:
                return self.gemini_send_error(error_obj["error"]["code"], error_obj, b)
            merged = objs[-1] if objs else {}
            if pieces and "candidates" in merged:
                parts = ([{"text": GEMINI_THOUGHT_TEXT, "thought": True}] if thought else []) + \
                        [{"text": text}]
                merged["candidates"][0]["content"]["parts"] = parts
            return self.send_bytes(200, (json.dumps(merged, indent=2, ensure_ascii=False) + "\n")
                                   .encode(), headers={"Vary": "Origin, X-Origin, Referer"})

        sse = (query.get("alt") or [""])[0] == "sse"
        noise = b.flag("noise")
        events = []
        if sse:
            comments = b.flag("comments")
            for i, o in enumerate(objs):
                if noise and i % 2 == 1:
                    events.append(b"\r\n\r\n")          # blank lines: legal, SDK-tolerated
                if comments and i % 2 == 1:
                    events.append(b": keep-alive\r\n\r\n")
                events.append(b"data: " + gm_json(o).encode() + b"\r\n\r\n")
            if error_obj:
                eo = [error_obj] if b.get("error_form") == "array" else error_obj
                events.append(b"data: " + gm_json(eo).encode() + b"\r\n\r\n")
            content_type = "text/event-stream"
        else:
            # Without alt=sse the endpoint streams one pretty-printed JSON array.
            items = [json.dumps(o, indent=2, ensure_ascii=False).encode() for o in objs]
            if error_obj:
                items.append(json.dumps(error_obj, indent=2, ensure_ascii=False).encode())
            for i, it in enumerate(items):
                events.append((b"[" if i == 0 else b",\r\n") + it + b"\n")
            events.append(b"]" if items else b"[]")
            content_type = "application/json; charset=UTF-8"
        self.start_stream(content_type, {"Vary": "Origin, X-Origin, Referer",
                                         "X-Content-Type-Options": "nosniff"})
        self.run_stream(events, b, rng)

    # ---- Gemini Files API -------------------------------------------------------------------

    def file_object(self, f):
        obj = {"name": "files/" + f["id"]}
        if f.get("display_name"):
            obj["displayName"] = f["display_name"]
        obj.update({
            "mimeType": f["mime_type"], "sizeBytes": str(f["size"]),
            "createTime": f["create_time"], "updateTime": f["update_time"],
            "expirationTime": f["expiration_time"],
            "sha256Hash": base64.b64encode(f["sha256"].encode()).decode(),
            "uri": f["uri"], "state": f["state"], "source": "UPLOADED",
        })
        if f["state"] == "ACTIVE" and f["mime_type"].startswith("video/"):
            obj["videoMetadata"] = {"videoDuration": "12s"}
        if f["state"] == "FAILED":
            obj["error"] = {"code": 400, "message": "The video could not be processed "
                                                    "(fake upstream FAILED state)."}
        return obj

    def gemini_upload(self, query, raw):
        self._server_header = "UploadServer"
        upload_id = (query.get("upload_id") or [None])[0]
        if upload_id:
            return self.gemini_upload_chunk(upload_id, raw)
        body, b, rng = self.common_setup("gemini", raw)
        self.pre_delay(b)
        auth = self.gemini_auth_error(query)
        if auth:
            return self.gemini_send_error(auth[0], auth[1], b)
        status = b.int("status")
        if status:
            return self.gemini_status(status, b, "files")
        proto = (self.headers.get("X-Goog-Upload-Protocol") or "").lower()
        command = (self.headers.get("X-Goog-Upload-Command") or "").lower()
        if proto != "resumable" or command != "start":
            return self.gemini_send_error(400, gemini_error_obj(
                400, "This fake only implements the resumable upload protocol "
                "(X-Goog-Upload-Protocol: resumable, X-Goog-Upload-Command: start).",
                "INVALID_ARGUMENT"), b)
        file_meta = (body or {}).get("file") if isinstance(body, dict) else None
        file_meta = file_meta if isinstance(file_meta, dict) else {}
        declared = self.headers.get("X-Goog-Upload-Header-Content-Length")
        mime = (self.headers.get("X-Goog-Upload-Header-Content-Type")
                or file_meta.get("mimeType") or file_meta.get("mime_type")
                or "application/octet-stream")
        uid = "ABgVH" + rand_id(random.Random(), 40, string.ascii_letters + string.digits + "-_")
        with STATE_LOCK:
            UPLOADS[uid] = {
                "declared": int(declared) if declared and declared.isdigit() else None,
                "mime_type": mime,
                "display_name": file_meta.get("displayName") or file_meta.get("display_name"),
                "name": file_meta.get("name"),
                "data": hashlib.sha256(), "received": 0, "behavior": dict(b), "done": False,
                "tail": b"", "content_behavior": {},
            }
        url = f"{self.base_url()}/upload/v1beta/files?upload_id={uid}&upload_protocol=resumable"
        self.set_status_record(200)
        self.send_response(200)
        self.send_header("X-Goog-Upload-Status", "active")
        self.send_header("X-Goog-Upload-URL", url)
        self.send_header("X-Goog-Upload-Control-URL", url)
        self.send_header("X-Goog-Upload-Chunk-Granularity", "8388608")
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def gemini_upload_chunk(self, upload_id, raw):
        self.record("gemini", raw, None, Behavior())
        with STATE_LOCK:
            up = UPLOADS.get(upload_id)
        if up is None or up["done"]:
            return self.send_bytes(404, b"Upload session not found.\n", "text/plain",
                                   {"X-Goog-Upload-Status": "final" if up else "cancelled"})
        commands = [c.strip() for c in (self.headers.get("X-Goog-Upload-Command") or "")
                    .lower().split(",")]
        if "query" in commands:
            return self.send_bytes(200, b"", "text/plain", {
                "X-Goog-Upload-Status": "active",
                "X-Goog-Upload-Size-Received": str(up["received"])})
        if "cancel" in commands:
            up["done"] = True
            return self.send_bytes(200, b"", "text/plain", {"X-Goog-Upload-Status": "cancelled"})
        offset = self.headers.get("X-Goog-Upload-Offset")
        if "upload" in commands:
            if offset is None or not offset.isdigit() or int(offset) != up["received"]:
                return self.send_bytes(400, (
                    f"Invalid X-Goog-Upload-Offset {offset!r}: expected {up['received']}.\n"
                ).encode(), "text/plain", {"X-Goog-Upload-Status": "active"})
            up["data"].update(raw)
            up["received"] += len(raw)
            # `[fake:...]` inside the uploaded bytes (e.g. an ffmpeg `-metadata comment=`) also
            # selects behaviour; a carried-over tail catches markers split across pieces.
            window = up["tail"] + raw
            for m in BYTES_MARKER_RE.finditer(window):
                up["content_behavior"].update(parse_behavior(m.group(1).decode("utf-8",
                                                                               "replace")))
            up["tail"] = window[-300:]
        if "finalize" not in commands:
            return self.send_bytes(200, b"", "text/plain", {"X-Goog-Upload-Status": "active",
                                                           "X-Goog-Upload-Size-Received":
                                                               str(up["received"])})
        if up["declared"] is not None and up["declared"] != up["received"]:
            return self.send_bytes(400, (
                f"Finalized with {up['received']} bytes but {up['declared']} were declared.\n"
            ).encode(), "text/plain", {"X-Goog-Upload-Status": "active"})
        up["done"] = True
        merged = dict(up["content_behavior"])
        merged.update(up["behavior"])
        b = scope_behavior(Behavior(merged), "gemini")
        name = up["name"] or ""
        fid = name[len("files/"):] if name.startswith("files/") else \
            rand_id(random.Random(), 12, string.ascii_lowercase + string.digits)
        now = time.time()
        f = {
            "id": fid, "display_name": up["display_name"], "mime_type": up["mime_type"],
            "size": up["received"], "sha256": up["data"].hexdigest(),
            "create_time": now_rfc3339(now), "update_time": now_rfc3339(now),
            "expiration_time": now_rfc3339(now + 48 * 3600),
            "uri": f"{self.base_url()}/v1beta/files/{fid}", "state": "PROCESSING",
            "polls_left": b.int("polls", 2),
            "final_state": "FAILED" if b.get("file_state", "").upper() == "FAILED" else "ACTIVE",
        }
        with STATE_LOCK:
            FILES[fid] = f
            obj = self.file_object(f)
        self.send_bytes(200, (json.dumps({"file": obj}, indent=2) + "\n").encode(),
                        headers={"X-Goog-Upload-Status": "final"})

    def gemini_file(self, fid, query, raw):
        self._server_header = "ESF"
        body, b, rng = self.common_setup("gemini", raw)
        auth = self.gemini_auth_error(query)
        if auth:
            return self.gemini_send_error(auth[0], auth[1], b)
        status = b.int("status")
        if status:
            return self.gemini_status(status, b, "files")
        with STATE_LOCK:
            f = FILES.get(fid)
            if f is not None and self.command == "GET":
                # polls=N: the first N GETs still see PROCESSING, later ones the final state.
                if f["state"] == "PROCESSING":
                    if f["polls_left"] > 0:
                        f["polls_left"] -= 1
                    else:
                        f["state"] = f["final_state"]
                        f["update_time"] = now_rfc3339()
                obj = self.file_object(f)
            elif f is not None:
                del FILES[fid]
                obj = {}
        if f is None:
            return self.gemini_send_error(403, gemini_error_obj(
                403, f"You do not have permission to access the File {fid} or it may not exist.",
                "PERMISSION_DENIED"), b)
        self.send_bytes(200, (json.dumps(obj, indent=2) + "\n").encode())

    # ---- TwelveLabs -------------------------------------------------------------------------

    def twelvelabs_auth_error(self):
        key = self.headers.get("x-api-key") or ""
        if not key or key.startswith("bad") or key.startswith("invalid"):
            return twelvelabs_error_body(*TWELVELABS_ERRORS[401])
        return None

    def twelvelabs_status(self, status, b):
        if status == 502:
            return self.gateway_html()
        if status == 429:
            reset = int(time.time()) + 60
            headers = {"X-Ratelimit-Limit": "8", "X-Ratelimit-Remaining": "0",
                       "X-Ratelimit-Used": "8", "X-Ratelimit-Reset": str(reset)}
            ra = b.get("retry_after")
            if ra and ra.lower() != "none":
                headers["Retry-After"] = ra
            retry_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reset))
            return self.send_bytes(429, twelvelabs_error_body(
                "too_many_requests",
                f"You have exceeded the rate limit (8 requests per minute). Please try again "
                f"later after {retry_at}."), headers=headers)
        code, msg = TWELVELABS_ERRORS.get(status, ("internal_server_error", "Fake error."))
        self.send_bytes(status, twelvelabs_error_body(code, msg))

    def twelvelabs_analyze(self, raw):
        body, b, rng = self.common_setup("twelvelabs", raw)
        self.pre_delay(b)
        auth = self.twelvelabs_auth_error()
        if auth:
            return self.send_bytes(401, auth)
        status = b.int("status")
        if status:
            return self.twelvelabs_status(status, b)
        if not isinstance(body, dict):
            return self.send_bytes(400, twelvelabs_error_body(
                "parameter_invalid", "The request body is not valid JSON."))
        video_id = body.get("video_id")
        video = body.get("video")
        if not video_id and not video and not body.get("image"):
            return self.send_bytes(400, twelvelabs_error_body(
                "parameter_not_provided",
                "The video_id parameter is required but was not provided."))
        if video_id and video:
            return self.send_bytes(400, twelvelabs_error_body(
                "parameter_invalid", "The video_id parameter is invalid. Provide either "
                "video_id or video, not both."))
        if video is not None:
            if not isinstance(video, dict) or video.get("type") not in (
                    "url", "asset_id", "base64_string") or not video.get(video.get("type")):
                return self.send_bytes(400, twelvelabs_error_body(
                    "parameter_invalid", "The video parameter is invalid."))
        if not body.get("prompt") and not body.get("prompt_v2"):
            return self.send_bytes(400, twelvelabs_error_body(
                "parameter_not_provided", "The prompt parameter is required but was not provided."))
        ident = video_id or (video or {}).get("asset_id") or ""
        if isinstance(ident, str) and ident.startswith("missing"):
            return self.send_bytes(404, twelvelabs_error_body(
                "resource_not_exist", f"Resource with id {ident} does not exist in videos."))
        text = b.get("text", DEFAULT_TEXT["pegasus"])
        pieces = split_text(text, b.int("piece"))
        gen_id = "%s-%s-%s-%s-%s" % tuple(rand_id(rng, n, "0123456789abcdef")
                                          for n in (8, 4, 4, 4, 12))
        finish = b.get("finish", "stop")
        input_tokens = approx_tokens(body.get("prompt") or "") + 1200
        if body.get("stream") is False:
            resp = {"id": gen_id, "data": text, "finish_reason": finish,
                    "usage": {"output_tokens": len(pieces), "input_tokens": input_tokens}}
            if finish == "length":
                resp["error"] = {"message": "output truncated: the response reached max_tokens."}
            return self.send_bytes(200, tl_json(resp).encode())
        noise = b.flag("noise")
        events = [tl_json({"event_type": "stream_start",
                           "metadata": {"generation_id": gen_id}}).encode() + b"\n"]
        error_after = b.int("error_after")
        errored = False
        for i, p in enumerate(pieces):
            if error_after is not None and i == error_after:
                errored = True
                break
            if noise and i == 1:
                events.append(b"\n")
                events.append(tl_json({"event_type": "fake_heartbeat", "seq": i}).encode() + b"\n")
            events.append(tl_json({"event_type": "text_generation", "text": p}).encode() + b"\n")
        if error_after is not None and error_after >= len(pieces):
            errored = True
        if errored:
            events.append(tl_json({"event_type": "stream_error", "error": {
                "message": "An internal error occurred during generation (fake upstream)."}}
            ).encode() + b"\n")
        elif not b.flag("no_end"):
            end = {"event_type": "stream_end", "finish_reason": finish,
                   "metadata": {"generation_id": gen_id,
                                "usage": {"output_tokens": len(pieces),
                                          "input_tokens": input_tokens}}}
            if finish == "length":
                end["error"] = {"message": "output truncated: the response reached max_tokens."}
            events.append(tl_json(end).encode() + b"\n")
        self.start_stream("application/x-ndjson")
        self.run_stream(events, b, rng)

    def twelvelabs_video(self, index_id, video_id):
        body, b, rng = self.common_setup("twelvelabs", b"", (index_id, video_id))
        video_id = MARKER_RE.sub("", video_id)
        index_id = MARKER_RE.sub("", index_id)
        self.pre_delay(b)
        auth = self.twelvelabs_auth_error()
        if auth:
            return self.send_bytes(401, auth)
        status = b.int("status")
        if status:
            return self.twelvelabs_status(status, b)
        if video_id.startswith("missing") or index_id.startswith("missing"):
            rid = video_id if video_id.startswith("missing") else index_id
            return self.send_bytes(404, twelvelabs_error_body(
                "resource_not_exist", f"Resource with id {rid} does not exist in "
                f"{'videos' if rid == video_id else 'indexes'}."))
        url = b.get("hls_url")
        if not url:
            name = f"{video_id}.m3u8"
            media = MEDIA_DIR[0]
            if media and not os.path.isfile(os.path.join(media, name)) and \
                    os.path.isfile(os.path.join(media, f"{video_id}.mp4")):
                name = f"{video_id}.mp4"
            url = f"{self.base_url()}/media/{urllib.parse.quote(name)}"
        created = now_rfc3339(time.time() - 3600)
        obj = {"_id": video_id, "asset_id": "asset-" + video_id, "created_at": created,
               "updated_at": created, "indexed_at": created,
               "system_metadata": {"duration": 12.0, "filename": f"{video_id}.mp4",
                                   "fps": 25.0, "height": 720, "width": 1280}}
        if b.get("hls", "1") not in ("none", "0"):
            obj["hls"] = {"video_url": url,
                          "thumbnail_urls": [f"{self.base_url()}/media/{video_id}.jpg"],
                          "status": b.get("hls_status", "COMPLETE"), "updated_at": created}
        self.send_bytes(200, tl_json(obj).encode())

    # ---- media and control --------------------------------------------------------------------

    def serve_media(self, rel):
        media = MEDIA_DIR[0]
        rel = urllib.parse.unquote(rel)
        if not media or ".." in rel.split("/") or rel.startswith("/"):
            return self.send_bytes(404, b"not found\n", "text/plain")
        path = os.path.realpath(os.path.join(media, rel))
        if not path.startswith(os.path.realpath(media) + os.sep) or not os.path.isfile(path):
            return self.send_bytes(404, b"not found\n", "text/plain")
        with open(path, "rb") as fh:
            data = fh.read()
        ctype = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t",
                 ".mp4": "video/mp4", ".jpg": "image/jpeg", ".png": "image/png"}.get(
            os.path.splitext(path)[1].lower(), "application/octet-stream")
        rng_h = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng_h or "")
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else len(data) - 1
            else:
                start = max(0, len(data) - int(m.group(2)))
                end = len(data) - 1
            end = min(end, len(data) - 1)
            if start >= len(data) or start > end:
                return self.send_bytes(416, b"", ctype,
                                       {"Content-Range": f"bytes */{len(data)}"})
            return self.send_bytes(206, data[start:end + 1], ctype, {
                "Content-Range": f"bytes {start}-{end}/{len(data)}", "Accept-Ranges": "bytes"})
        self.send_bytes(200, data, ctype, {"Accept-Ranges": "bytes"})

    def fake_control(self, path, query):
        if path == "/_fake/health":
            return self.send_bytes(200, b'{"ok":true}')
        if path == "/_fake/requests" and self.command == "GET":
            tag = (query.get("tag") or [None])[0]
            since = int((query.get("since") or ["0"])[0])
            with STATE_LOCK:
                out = [r for r in REQUESTS if r["seq"] > since and (tag is None or
                                                                     r.get("tag") == tag)]
                body = json.dumps(out, ensure_ascii=False).encode()
            return self.send_bytes(200, body)
        if path == "/_fake/reset" and self.command == "POST":
            with STATE_LOCK:
                REQUESTS.clear()
                TIMES_COUNTERS.clear()
                FILES.clear()
                UPLOADS.clear()
            return self.send_bytes(200, b'{"ok":true}')
        self.send_bytes(404, b'{"error":"unknown control path"}')


def _iter_dicts(obj):
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from _iter_dicts(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _iter_dicts(v)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0,
                    help="0 picks a free port; the first stdout line is 'PORT <n>'")
    ap.add_argument("--media-dir", help="directory served at /media/ (HLS/MP4 for video URLs)")
    ap.add_argument("--log-requests", action="store_true", help="one stderr line per request")
    ap.add_argument("--help-behavior", action="store_true", help="print the behaviour syntax")
    args = ap.parse_args(argv)
    if args.help_behavior:
        print(BEHAVIOR_HELP)
        return 0
    MEDIA_DIR[0] = os.path.abspath(args.media_dir) if args.media_dir else None
    LOG_REQUESTS[0] = args.log_requests
    server = Server((args.host, args.port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)

    def stop(*_):
        SHUTDOWN.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # A parent may start us from a thread that blocks signals (Foundation's Process, launched from
    # a libdispatch worker, passes its mask on); blocked, SIGTERM would never stop the server.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        SHUTDOWN.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
