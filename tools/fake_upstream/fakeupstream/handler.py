"""The HTTP handler: request body reading, request records, responses, routing to the providers'
mixins, and the threading server class."""

import hashlib
import json
import random
import re
import socket
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .behavior import apply_times, behavior_from, scope_behavior
from .control import MediaAndControl
from .formats import tl_json
from .gemini_api import GeminiAPI
from .gemini_files import GeminiFiles
from .openai_api import OpenAIChat
from .state import LOG_REQUESTS, MAX_RECORDS, REQUEST_SEQ, REQUESTS, STATE_LOCK
from .texts import GATEWAY_HTML
from .twelvelabs_api import TwelveLabsAPI
from .twelvelabs_assets import TwelveLabsAssets
from .writes import ClientGone, StreamWriter


class Handler(OpenAIChat, GeminiAPI, GeminiFiles, TwelveLabsAPI, TwelveLabsAssets, MediaAndControl,
              StreamWriter, BaseHTTPRequestHandler):
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

    def send_no_content(self):
        """204: no body and, as RFC 9110 requires, no Content-Length."""
        self.set_status_record(204)
        self.send_response(204)
        self.end_headers()

    def start_stream(self, content_type, headers=None):
        self.set_status_record(200)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()

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
            if path == "/v1.3/assets" and self.command == "POST":
                return self.twelvelabs_asset_create(raw)
            m = re.fullmatch(r"/v1\.3/assets/([^/]+)", path)
            if m and self.command == "GET":
                return self.twelvelabs_asset(urllib.parse.unquote(m.group(1)))
            if m and self.command == "DELETE":
                return self.twelvelabs_asset_delete(urllib.parse.unquote(m.group(1)))
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


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
