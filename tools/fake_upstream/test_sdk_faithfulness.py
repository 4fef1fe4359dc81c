#!/usr/bin/env python3
"""Proves the fake upstream (server.py) is faithful to the real provider APIs.

Starts `server.py --port 0` as a subprocess, then:

* points each provider's official Python SDK at it -- `openai` (Chat Completions streaming with
  include_usage), `google-genai` (generate_content_stream, Files API upload + polling) and
  `twelvelabs` (analyze_stream, indexes.videos.retrieve) -- and checks that the SDK reads exactly
  the text the fake meant to send, also under every write pattern (random splits at many seeds,
  splits inside UTF-8 sequences, one byte per write, coalesced events, filler lines), and that
  the SDK surfaces 429s, 5xx, bad keys, in-stream errors, cuts and stalls as errors;
* checks the raw wire bytes against the checklist in shared/reference/providers.md section 5
  (framing, field order, chunked transfer, terminators), and that each misbehaviour really
  happens on the wire (for example that split=utf8 ends HTTP chunks inside characters).

    python3 tools/fake_upstream/test_sdk_faithfulness.py [-v] [-k PATTERN]

Needs the three SDKs (tools/test-fakes.sh installs them). Ends with the line
`fakes: N passed, N failed` and exits 0 only when every test passed.
"""

import io
import json
import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import server as fake  # noqa: E402  (DEFAULT_TEXT, GEMINI_THOUGHT_TEXT)

# The SDKs read these; a developer's real settings must not leak into the test.
for _var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
             "GOOGLE_GEMINI_BASE_URL", "GEMINI_BASE_URL", "TWELVELABS_BASE_URL",
             "TWELVELABS_API_KEY", "TWELVE_LABS_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI",
             "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

import httpx  # noqa: E402
try:  # newer openai / google-genai releases talk through httpx2
    import httpx2  # noqa: E402
    HTTP_ERRORS = (httpx.HTTPError, httpx2.HTTPError)
    TIMEOUT_ERRORS = (httpx.TimeoutException, httpx2.TimeoutException)
except ImportError:  # pragma: no cover
    HTTP_ERRORS = (httpx.HTTPError,)
    TIMEOUT_ERRORS = (httpx.TimeoutException,)
import openai  # noqa: E402
from google import genai  # noqa: E402
from google.genai import _api_client as genai_api_client  # noqa: E402
from google.genai import errors as genai_errors  # noqa: E402
from google.genai import types as genai_types  # noqa: E402
import twelvelabs  # noqa: E402
from twelvelabs import TwelveLabs  # noqa: E402
from twelvelabs.core.api_error import ApiError as TLApiError  # noqa: E402

PORT = None
SERVER = None
SEEDS = range(1, 21)
OPENAI_TEXT = fake.DEFAULT_TEXT["openai"]
GEMINI_TEXT = fake.DEFAULT_TEXT["gemini"]
PEGASUS_TEXT = fake.DEFAULT_TEXT["pegasus"]
CUSTOM_TEXT = "Zoë's 日本 trip 🎌 — naïve café, 👨‍👩‍👧 family, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ end."


def setUpModule():
    global PORT, SERVER
    SERVER = subprocess.Popen([sys.executable, os.path.join(HERE, "server.py"), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = SERVER.stdout.readline().strip()
    if not line.startswith("PORT "):
        SERVER.kill()
        raise RuntimeError(f"fake server did not print its port: {line!r} "
                           f"{SERVER.stderr.read()}")
    PORT = int(line.split()[1])


def tearDownModule():
    if SERVER is not None:
        SERVER.terminate()
        try:
            SERVER.wait(timeout=10)
        except subprocess.TimeoutExpired:
            SERVER.kill()
            SERVER.wait()


def base():
    return f"http://127.0.0.1:{PORT}"


def unique_key():
    return uuid.uuid4().hex[:12]


def fake_requests(tag):
    with urllib.request.urlopen(f"{base()}/_fake/requests?tag={tag}", timeout=10) as r:
        return json.loads(r.read())


# ---------------------------------------------------------------------------------------------
# Raw HTTP: keeps the HTTP chunk boundaries, which are exactly the server's writes
# ---------------------------------------------------------------------------------------------

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
    hdrs = {"Host": f"127.0.0.1:{PORT}", "Content-Length": str(len(data)),
            "Connection": "close"}
    if body is not None:
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    req = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
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


class WireTests(unittest.TestCase):
    """The bytes on the wire, against providers.md section 5."""

    def test_openai_stream_shape(self):
        r = raw_request("POST", "/v1/chat/completions", openai_body(), OA_HEADERS)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        self.assertEqual(r.headers["content-type"], "text/event-stream; charset=utf-8")
        self.assertEqual(r.headers["transfer-encoding"], "chunked")
        self.assertNotIn("content-length", r.headers)
        for h in ("x-request-id", "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
                  "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
                  "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
            self.assertIn(h, r.headers)
        events = sse_events(r.body, b"\n\n")
        self.assertEqual(events[-1], b"data: [DONE]")
        objs = []
        for e in events[:-1]:
            self.assertTrue(e.startswith(b"data: {"), e)
            self.assertNotIn(b"\n", e)
            payload = e[len(b"data: "):]
            obj = json.loads(payload)
            # compact JSON: re-encoding without spaces gives the same bytes
            self.assertEqual(payload, json.dumps(obj, ensure_ascii=False,
                                                 separators=(",", ":")).encode())
            objs.append(obj)
        self.assertEqual(len({o["id"] for o in objs}), 1)
        self.assertEqual(len({o["created"] for o in objs}), 1)
        self.assertTrue(all(o["object"] == "chat.completion.chunk" for o in objs))
        self.assertTrue(all("obfuscation" in o for o in objs))
        self.assertEqual(objs[0]["choices"][0]["delta"], {"role": "assistant", "content": "",
                                                          "refusal": None})
        content = objs[1:-2]
        self.assertTrue(content)
        for o in content:
            self.assertIsNone(o["choices"][0]["finish_reason"])
            self.assertEqual(list(o["choices"][0]["delta"]), ["content"])
        self.assertEqual("".join(o["choices"][0]["delta"]["content"] for o in content),
                         OPENAI_TEXT)
        self.assertEqual(objs[-2]["choices"][0]["delta"], {})
        self.assertEqual(objs[-2]["choices"][0]["finish_reason"], "stop")
        self.assertEqual(objs[-1]["choices"], [])
        self.assertEqual(objs[-1]["usage"]["completion_tokens"], len(content))
        self.assertTrue(all(o["usage"] is None for o in objs[:-1]))

    def test_openai_without_include_usage_or_obfuscation(self):
        body = openai_body(usage=False)
        body["stream_options"] = {"include_obfuscation": False}
        r = raw_request("POST", "/v1/chat/completions", body, OA_HEADERS)
        objs = [json.loads(e[6:]) for e in sse_events(r.body, b"\n\n")[:-1]]
        self.assertTrue(all("usage" not in o and "obfuscation" not in o for o in objs))
        self.assertTrue(all(o["choices"] for o in objs))

    def test_gemini_stream_shape(self):
        r = raw_request("POST", GM_PATH, GM_BODY, GM_HEADERS)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        self.assertEqual(r.headers["content-type"], "text/event-stream")
        self.assertNotIn("content-length", r.headers)
        self.assertNotIn(b"[DONE]", r.body)
        events = sse_events(r.body, b"\r\n\r\n")
        objs = []
        for e in events:
            self.assertTrue(e.startswith(b"data: {"), e)
            self.assertNotIn(b"\n", e)
            payload = e[len(b"data: "):]
            obj = json.loads(payload)
            self.assertEqual(payload, json.dumps(obj, ensure_ascii=False,
                                                 separators=(",", ": ")).encode())
            objs.append(obj)
        first_parts = objs[0]["candidates"][0]["content"]["parts"]
        self.assertTrue(first_parts[0].get("thought"))
        text, last_total = "", 0
        for i, o in enumerate(objs):
            cand = o["candidates"][0]
            self.assertEqual(cand["content"]["role"], "model")
            self.assertEqual(cand["index"], 0)
            self.assertIn("modelVersion", o)
            self.assertIn("responseId", o)
            u = o["usageMetadata"]
            self.assertGreaterEqual(u["totalTokenCount"], last_total)
            last_total = u["totalTokenCount"]
            self.assertEqual("finishReason" in cand, i == len(objs) - 1)
            text += "".join(p["text"] for p in cand["content"]["parts"] if not p.get("thought"))
        self.assertEqual(objs[-1]["candidates"][0]["finishReason"], "STOP")
        self.assertEqual(text, GEMINI_TEXT)
        self.assertEqual(len({o["responseId"] for o in objs}), 1)

    def test_gemini_without_alt_sse_is_a_json_array(self):
        r = raw_request("POST", GM_PATH.split("?")[0], GM_BODY, GM_HEADERS)
        arr = json.loads(r.body)
        self.assertIsInstance(arr, list)
        text = "".join(p["text"] for o in arr for p in o["candidates"][0]["content"]["parts"]
                       if not p.get("thought"))
        self.assertEqual(text, GEMINI_TEXT)

    def test_twelvelabs_stream_shape(self):
        r = raw_request("POST", "/v1.3/analyze", TL_BODY, TL_HEADERS)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        self.assertEqual(r.headers["content-type"], "application/x-ndjson")
        self.assertTrue(r.body.endswith(b"\n"))
        lines = r.body[:-1].split(b"\n")
        objs = [json.loads(ln) for ln in lines]
        kinds = [o["event_type"] for o in objs]
        self.assertEqual(kinds[0], "stream_start")
        self.assertEqual(kinds[-1], "stream_end")
        self.assertEqual(kinds.count("stream_start"), 1)
        self.assertEqual(kinds.count("stream_end"), 1)
        self.assertTrue(all(k == "text_generation" for k in kinds[1:-1]))
        self.assertEqual("".join(o["text"] for o in objs[1:-1]), PEGASUS_TEXT)
        end = objs[-1]
        self.assertEqual(end["finish_reason"], "stop")
        self.assertEqual(end["metadata"]["generation_id"], objs[0]["metadata"]["generation_id"])
        self.assertIn("output_tokens", end["metadata"]["usage"])

    def test_split_utf8_ends_writes_inside_characters_and_terminators(self):
        for path, body, hdrs, sep in (
                ("/v1/chat/completions", openai_body(), OA_HEADERS, b"\n\n"),
                (GM_PATH, GM_BODY, GM_HEADERS, b"\r\n\r\n"),
                ("/v1.3/analyze", TL_BODY, TL_HEADERS, b"\n")):
            r = raw_request("POST", path, body, behave("split=utf8", hdrs))
            self.assertTrue(r.complete)
            self.assertTrue(has_split_character(r.chunks), path)
            r.body.decode("utf-8")
            # some write ends inside (or, for NDJSON's one-byte "\n", right before) an
            # event terminator
            if len(sep) > 1:
                self.assertTrue(any(c.endswith(sep[:1]) and not c.endswith(sep)
                                    for c in r.chunks), path)
            else:
                self.assertTrue(any(c == sep for c in r.chunks[1:]), path)

    def test_split_random_splits_and_is_deterministic_per_seed(self):
        sizes = []
        for _ in range(2):
            r = raw_request("POST", "/v1.3/analyze", TL_BODY,
                            behave("split=random;seed=7", TL_HEADERS))
            sizes.append([len(c) for c in r.chunks])
        self.assertEqual(sizes[0], sizes[1])
        self.assertGreater(len(sizes[0]), 6)
        r = raw_request("POST", "/v1.3/analyze", TL_BODY, behave("split=random;seed=8",
                                                                 TL_HEADERS))
        self.assertNotEqual([len(c) for c in r.chunks], sizes[0])
        self.assertTrue(has_split_character(r.chunks))

    def test_coalesce_all_and_fixed_size(self):
        r = raw_request("POST", "/v1/chat/completions", openai_body(),
                        behave("coalesce=all", OA_HEADERS))
        self.assertEqual(len(r.chunks), 1)
        self.assertGreater(r.chunks[0].count(b"data: "), 5)
        r = raw_request("POST", "/v1/chat/completions", openai_body(),
                        behave("coalesce=3", OA_HEADERS))
        self.assertTrue(all(c.count(b"data: ") <= 3 for c in r.chunks))
        self.assertTrue(any(c.count(b"data: ") == 3 for c in r.chunks))
        r = raw_request("POST", "/v1/chat/completions", openai_body(),
                        behave("split=5", OA_HEADERS))
        self.assertTrue(all(len(c) <= 5 for c in r.chunks))

    def test_drip_one_byte_at_a_time(self):
        t0 = time.monotonic()
        r = raw_request("POST", "/v1.3/analyze", TL_BODY,
                        behave("drip=2;text=ab%F0%9F%8E%89", TL_HEADERS))
        elapsed = time.monotonic() - t0
        self.assertTrue(r.complete)
        self.assertTrue(all(len(c) == 1 for c in r.chunks))
        self.assertGreaterEqual(elapsed, (len(r.chunks) - 1) * 0.002 * 0.9)

    def test_cut_after_ends_mid_event_without_terminating_chunk(self):
        r = raw_request("POST", "/v1/chat/completions", openai_body(),
                        behave("cut_after=3", OA_HEADERS))
        self.assertFalse(r.complete)
        self.assertEqual(r.body.count(b"\n\n"), 3)
        self.assertFalse(r.body.endswith(b"\n\n"))
        r = raw_request("POST", GM_PATH, GM_BODY, behave("cut_after=1;cut=rst", GM_HEADERS))
        self.assertFalse(r.complete)
        self.assertEqual(r.body.count(b"\r\n\r\n"), 1)

    def test_stall_after_keeps_connection_open_and_quiet(self):
        t0 = time.monotonic()
        r = raw_request("POST", "/v1.3/analyze", TL_BODY, behave("stall_after=2", TL_HEADERS),
                        read_timeout=1.0)
        self.assertFalse(r.complete)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertEqual(r.body.count(b"\n"), 2)
        # a finite stall continues afterwards
        r = raw_request("POST", "/v1.3/analyze", TL_BODY,
                        behave("stall_after=1;stall_ms=300", TL_HEADERS))
        self.assertTrue(r.complete)
        self.assertIn(b"stream_end", r.body)

    def test_error_inside_200_streams(self):
        r = raw_request("POST", "/v1/chat/completions", openai_body(),
                        behave("error_after=2", OA_HEADERS))
        self.assertEqual(r.status, 200)
        last = sse_events(r.body, b"\n\n")[-1]
        self.assertEqual(json.loads(last[6:])["error"]["type"], "server_error")
        self.assertNotIn(b"[DONE]", r.body)
        r = raw_request("POST", GM_PATH, GM_BODY,
                        behave("error_after=2;error_form=array", GM_HEADERS))
        last = sse_events(r.body, b"\r\n\r\n")[-1]
        self.assertEqual(json.loads(last[6:])[0]["error"]["status"], "INTERNAL")

    def test_error_statuses_are_provider_shaped(self):
        r = raw_request("POST", "/v1/chat/completions", openai_body(),
                        behave("status=429;retry_after=2", OA_HEADERS))
        self.assertEqual(r.status, 429)
        err = json.loads(r.body)["error"]
        self.assertEqual((err["type"], err["code"]), ("tokens", "rate_limit_exceeded"))
        self.assertEqual(r.headers["retry-after"], "2")
        self.assertEqual(r.headers["retry-after-ms"], "2000")
        self.assertEqual(r.headers["x-ratelimit-reset-tokens"], "2s")
        self.assertEqual(r.headers["x-ratelimit-reset-requests"], "6m0s")
        r = raw_request("POST", GM_PATH, GM_BODY, behave("status=429;retry_after=26",
                                                         GM_HEADERS))
        err = json.loads(r.body)["error"]
        self.assertEqual((err["code"], err["status"]), (429, "RESOURCE_EXHAUSTED"))
        retry = [d for d in err["details"] if d["@type"].endswith("google.rpc.RetryInfo")]
        self.assertEqual(retry[0]["retryDelay"], "26s")
        r = raw_request("POST", "/v1.3/analyze", TL_BODY, behave("status=429", TL_HEADERS))
        self.assertEqual(json.loads(r.body)["code"], "too_many_requests")
        for h in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used",
                  "x-ratelimit-reset"):
            self.assertIn(h, r.headers)
        r = raw_request("POST", "/v1/chat/completions", openai_body(),
                        behave("status=502", OA_HEADERS))
        self.assertEqual(r.status, 502)
        self.assertTrue(r.body.startswith(b"<html>"))

    def test_times_then_normal(self):
        spec = f"status=503;times=2;key={unique_key()}"
        got = [raw_request("POST", GM_PATH, GM_BODY, behave(spec, GM_HEADERS)).status
               for _ in range(3)]
        self.assertEqual(got, [503, 503, 200])

    def test_header_wins_over_prompt_marker(self):
        body = openai_body("hello [fake:text=from-marker;piece=0]")
        r = raw_request("POST", "/v1/chat/completions", body, OA_HEADERS)
        self.assertIn(b'"content":"from-marker"', r.body)
        r = raw_request("POST", "/v1/chat/completions", body,
                        behave("text=from%20header", OA_HEADERS))
        self.assertIn(b'"content":"from header"', r.body)

    def test_gemini_noise_and_openai_keepalive_lines(self):
        r = raw_request("POST", "/v1/chat/completions", openai_body(),
                        behave("noise", OA_HEADERS))
        self.assertIn(b"\n\n: keep-alive\n\n", r.body)
        r = raw_request("POST", GM_PATH, GM_BODY, behave("noise", GM_HEADERS))
        self.assertIn(b"\r\n\r\n\r\n\r\ndata: ", r.body)

    def test_provider_scoped_keys(self):
        prompt = "Describe [fake:gemini.status=503;openai.text=only%20openai;text=everyone;piece=0]"
        r = raw_request("POST", "/v1/chat/completions", openai_body(prompt), OA_HEADERS)
        self.assertEqual(r.status, 200)
        self.assertIn(b'"content":"only openai"', r.body)
        body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
        r = raw_request("POST", GM_PATH, body, GM_HEADERS)
        self.assertEqual(r.status, 503)
        tl = dict(TL_BODY, prompt=prompt)
        r = raw_request("POST", "/v1.3/analyze", tl, behave("pegasus.seed=4", TL_HEADERS))
        self.assertIn(b'"text":"everyone"', r.body)

    def test_delay_before_headers(self):
        t0 = time.monotonic()
        r = raw_request("POST", "/v1.3/analyze", TL_BODY, behave("delay=400", TL_HEADERS))
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.39)

    def test_request_records_are_kept_with_masked_keys(self):
        tag = unique_key()
        raw_request("POST", "/v1.3/analyze", TL_BODY,
                    {"x-api-key": "tlk_secret_value_1234", "X-Fake-Behavior": f"tag={tag}"})
        recs = fake_requests(tag)
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["json"]["video_id"], "vid-1")
        self.assertNotIn("secret", json.dumps(recs[0]["headers"]))
        self.assertEqual(recs[0]["status"], 200)

    def test_auth_failures(self):
        r = raw_request("POST", "/v1/chat/completions", openai_body(), {})
        self.assertEqual(r.status, 401)
        r = raw_request("POST", "/v1/chat/completions", openai_body(),
                        {"Authorization": "Bearer bad-key-123456"})
        self.assertEqual(json.loads(r.body)["error"]["code"], "invalid_api_key")
        # OpenAI-compatible prefixes (local servers) accept a missing key
        r = raw_request("POST", "/local/v1/chat/completions", openai_body(), {})
        self.assertEqual(r.status, 200)
        r = raw_request("POST", GM_PATH, GM_BODY, {})
        self.assertEqual((r.status, json.loads(r.body)["error"]["status"]),
                         (403, "PERMISSION_DENIED"))
        r = raw_request("POST", GM_PATH, GM_BODY, {"x-goog-api-key": "bad"})
        self.assertEqual((r.status, json.loads(r.body)["error"]["status"]),
                         (400, "INVALID_ARGUMENT"))
        r = raw_request("POST", GM_PATH + "&key=query-key", GM_BODY, {})
        self.assertEqual(r.status, 200)
        r = raw_request("POST", "/v1.3/analyze", TL_BODY, {})
        self.assertEqual((r.status, json.loads(r.body)["code"]), (401, "api_key_invalid"))

    def test_twelvelabs_needs_a_video(self):
        body = dict(TL_BODY)
        del body["video_id"]
        r = raw_request("POST", "/v1.3/analyze", body, TL_HEADERS)
        self.assertEqual(r.status, 400)
        err = json.loads(r.body)
        self.assertEqual(err["code"], "parameter_not_provided")
        self.assertIn("video_id", err["message"])

    def test_media_with_range(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "v9.mp4"), "wb") as fh:
                fh.write(bytes(range(256)) * 4)
            p = subprocess.Popen([sys.executable, os.path.join(HERE, "server.py"), "--port",
                                  "0", "--media-dir", d], stdout=subprocess.PIPE, text=True)
            try:
                port = int(p.stdout.readline().split()[1])
                req = urllib.request.Request(f"http://127.0.0.1:{port}/v1.3/indexes/i1/videos/v9",
                                             headers=TL_HEADERS)
                with urllib.request.urlopen(req, timeout=10) as r:
                    url = json.loads(r.read())["hls"]["video_url"]
                self.assertEqual(url, f"http://127.0.0.1:{port}/media/v9.mp4")
                req = urllib.request.Request(url, headers={"Range": "bytes=10-19"})
                with urllib.request.urlopen(req, timeout=10) as r:
                    self.assertEqual(r.status, 206)
                    self.assertEqual(r.read(), bytes(range(10, 20)))
            finally:
                p.terminate()
                p.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# OpenAI SDK
# ---------------------------------------------------------------------------------------------

def oa_client(max_retries=0, timeout=20.0, key="sk-fake-test"):
    return openai.OpenAI(base_url=f"{base()}/v1", api_key=key, max_retries=max_retries,
                         timeout=timeout)


def oa_stream(behavior=None, prompt="Describe the video", client=None):
    client = client or oa_client()
    extra = {"X-Fake-Behavior": behavior} if behavior else None
    stream = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": prompt}], stream=True,
        stream_options={"include_usage": True}, extra_headers=extra)
    out = {"text": "", "role": None, "finish": None, "usage": None, "partial": ""}
    for chunk in stream:
        if chunk.usage is not None:
            out["usage"] = chunk.usage
        for ch in chunk.choices:
            if ch.delta.role:
                out["role"] = ch.delta.role
            if ch.delta.content:
                out["text"] += ch.delta.content
            if ch.finish_reason:
                out["finish"] = ch.finish_reason
    return out


def oa_partial(behavior):
    """Text read before the SDK raised; returns (text, exception)."""
    text = ""
    try:
        stream = oa_client(timeout=3.0).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "q"}], stream=True,
            stream_options={"include_usage": True}, extra_headers={"X-Fake-Behavior": behavior})
        for chunk in stream:
            for ch in chunk.choices:
                text += ch.delta.content or ""
    except Exception as e:  # noqa: BLE001 - the type is what the test checks
        return text, e
    return text, None


class OpenAISDKTests(unittest.TestCase):

    def check_full(self, out, text=OPENAI_TEXT):
        self.assertEqual(out["text"], text)
        self.assertEqual(out["role"], "assistant")
        self.assertEqual(out["finish"], "stop")
        self.assertIsNotNone(out["usage"])
        self.assertGreater(out["usage"].completion_tokens, 0)
        self.assertEqual(out["usage"].total_tokens,
                         out["usage"].prompt_tokens + out["usage"].completion_tokens)

    def test_default_stream(self):
        self.check_full(oa_stream())

    def test_random_splits(self):
        for seed in SEEDS:
            with self.subTest(seed=seed):
                self.check_full(oa_stream(f"split=random;seed={seed}"))

    def test_other_write_patterns(self):
        for spec in ("split=utf8", "split=1;gap=0", "split=2", "coalesce=all", "coalesce=4",
                     "coalesce=3;split=random;seed=5", "noise", "drip=0", "piece=1", "piece=0"):
            with self.subTest(spec=spec):
                self.check_full(oa_stream(spec))

    def test_chosen_text_via_header_and_marker(self):
        enc = urllib.parse.quote(CUSTOM_TEXT, safe="")
        self.check_full(oa_stream(f"text={enc};split=random;seed=3"), CUSTOM_TEXT)
        marker_text = CUSTOM_TEXT.replace("%", "%25")
        self.check_full(oa_stream(prompt=f"Describe [fake:text={marker_text};split=utf8]"),
                        CUSTOM_TEXT)

    def test_no_done_still_reads_everything(self):
        self.check_full(oa_stream("no_end"))

    def test_in_stream_error_raises(self):
        text, err = oa_partial("error_after=3;piece=5")
        self.assertIsInstance(err, openai.APIError)
        self.assertNotIsInstance(err, openai.APIStatusError)
        self.assertIn("server had an error", err.message)
        self.assertEqual(text, OPENAI_TEXT[:15])

    def test_429_rate_limit(self):
        _, err = oa_partial("status=429;retry_after=3")
        self.assertIsInstance(err, openai.RateLimitError)
        self.assertEqual(err.status_code, 429)
        self.assertEqual(err.code, "rate_limit_exceeded")
        self.assertEqual(err.type, "tokens")
        self.assertEqual(err.response.headers["retry-after"], "3")
        self.assertEqual(err.response.headers["retry-after-ms"], "3000")
        self.assertEqual(err.response.headers["x-ratelimit-remaining-tokens"], "63")
        _, err = oa_partial("status=429;kind=quota")
        self.assertIsInstance(err, openai.RateLimitError)
        self.assertEqual(err.code, "insufficient_quota")

    def test_sdk_retry_honours_retry_after_ms(self):
        spec = f"status=429;times=1;retry_after=none;retry_after_ms=1500;key={unique_key()}"
        t0 = time.monotonic()
        out = oa_stream(spec, client=oa_client(max_retries=2))
        elapsed = time.monotonic() - t0
        self.check_full(out)
        # the SDK's own back-off would be at most 0.5 s; 1.5 s proves it read retry-after-ms
        self.assertGreaterEqual(elapsed, 1.4)

    def test_retry_after_beyond_the_sdk_limit(self):
        # openai 3.x refuses to retry when the server asks for more than 120 s; 1.x falls back
        # to its own short back-off and retries. Either way the 429 surfaces.
        tag = unique_key()
        spec = f"status=429;retry_after=600;tag={tag}"
        with self.assertRaises(openai.RateLimitError):
            oa_stream(spec, client=oa_client(max_retries=2))
        sent = len(fake_requests(tag))
        self.assertIn(sent, (1, 3))
        if sent == 1:
            print(" [openai refused a retry-after of 600 s]", end="", flush=True)

    def test_5xx_and_auth(self):
        for status, cls in ((500, openai.InternalServerError), (503, openai.InternalServerError),
                            (400, openai.BadRequestError), (404, openai.NotFoundError)):
            with self.subTest(status=status):
                _, err = oa_partial(f"status={status}")
                self.assertIsInstance(err, cls)
                self.assertEqual(err.status_code, status)
        with self.assertRaises(openai.AuthenticationError) as cm:
            oa_stream(client=oa_client(key="bad-key-0123456789"))
        self.assertEqual(cm.exception.code, "invalid_api_key")

    def test_cut_connection_raises(self):
        for spec in ("cut_after=3", "cut_after=2;cut=rst"):
            with self.subTest(spec=spec):
                text, err = oa_partial(spec)
                self.assertIsInstance(err, (openai.APIConnectionError, ConnectionError)
                                      + HTTP_ERRORS)
                self.assertTrue(OPENAI_TEXT.startswith(text))

    def test_stall_times_out(self):
        t0 = time.monotonic()
        text, err = oa_partial("stall_after=2")
        # openai 1.x lets the raw httpx timeout escape from stream iteration; 2.x+ wraps it
        self.assertIsInstance(err, (openai.APITimeoutError, openai.APIConnectionError)
                              + TIMEOUT_ERRORS)
        self.assertLess(time.monotonic() - t0, 15)
        self.assertTrue(OPENAI_TEXT.startswith(text))

    def test_non_streaming(self):
        r = oa_client().chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "q"}])
        self.assertEqual(r.choices[0].message.content, OPENAI_TEXT)
        self.assertEqual(r.model, "gpt-4o-2024-08-06")

    def test_openai_compatible_base_url_without_key(self):
        client = openai.OpenAI(base_url=f"{base()}/local/v1", api_key="unused", max_retries=0)
        out = oa_stream("split=random;seed=11", client=client)
        self.check_full(out)


# ---------------------------------------------------------------------------------------------
# google-genai SDK
# ---------------------------------------------------------------------------------------------

_GM_CLIENTS = []


def gm_client(key="fake-gemini-key", **options):
    # genai.Client closes its HTTP client when it is garbage-collected, even while a stream
    # obtained through `client.models` is still being read: keep every client alive.
    client = genai.Client(api_key=key, http_options=genai_types.HttpOptions(
        base_url=f"{base()}/", timeout=20_000, **options))
    _GM_CLIENTS.append(client)
    return client


def gm_config(behavior=None, timeout_ms=None):
    headers = {"X-Fake-Behavior": behavior} if behavior else None
    return genai_types.GenerateContentConfig(
        http_options=genai_types.HttpOptions(headers=headers, timeout=timeout_ms))


def gm_stream(behavior=None, contents="Describe the video", client=None, timeout_ms=None):
    client = client or gm_client()
    out = {"text": "", "finish": None, "usage": None, "chunks": 0, "thoughts": ""}
    for chunk in client.models.generate_content_stream(
            model="gemini-2.5-flash", contents=contents,
            config=gm_config(behavior, timeout_ms)):
        out["chunks"] += 1
        out["text"] += chunk.text or ""
        for p in (chunk.candidates[0].content.parts or []) if chunk.candidates else []:
            if p.thought:
                out["thoughts"] += p.text or ""
        if chunk.candidates and chunk.candidates[0].finish_reason:
            out["finish"] = chunk.candidates[0].finish_reason
        if chunk.usage_metadata:
            out["usage"] = chunk.usage_metadata
    return out


def gm_partial(behavior, timeout_ms=None):
    out = {"text": ""}
    try:
        for chunk in gm_client().models.generate_content_stream(
                model="gemini-2.5-flash", contents="q", config=gm_config(behavior, timeout_ms)):
            out["text"] += chunk.text or ""
    except Exception as e:  # noqa: BLE001
        return out["text"], e
    return out["text"], None


class GeminiSDKTests(unittest.TestCase):

    def check_full(self, out, text=GEMINI_TEXT):
        self.assertEqual(out["text"], text)
        self.assertEqual(out["finish"], genai_types.FinishReason.STOP)
        self.assertIsNotNone(out["usage"])
        self.assertEqual(out["usage"].total_token_count,
                         out["usage"].prompt_token_count
                         + (out["usage"].candidates_token_count or 0)
                         + (out["usage"].thoughts_token_count or 0))

    def test_default_stream_skips_thought_part(self):
        out = gm_stream()
        self.check_full(out)
        self.assertEqual(out["thoughts"], fake.GEMINI_THOUGHT_TEXT)

    def test_random_splits(self):
        for seed in SEEDS:
            with self.subTest(seed=seed):
                self.check_full(gm_stream(f"split=random;seed={seed}"))

    def test_other_write_patterns(self):
        for spec in ("split=utf8", "split=1;gap=0", "split=3", "coalesce=all", "coalesce=2",
                     "coalesce=all;split=random;seed=9", "noise", "thought=0", "piece=1",
                     "piece=0", "drip=0"):
            with self.subTest(spec=spec):
                self.check_full(gm_stream(spec))

    def test_chosen_text_via_header_and_marker(self):
        enc = urllib.parse.quote(CUSTOM_TEXT, safe="")
        self.check_full(gm_stream(f"text={enc};split=utf8"), CUSTOM_TEXT)
        self.check_full(gm_stream(contents=f"Describe [fake:text={CUSTOM_TEXT};split=random]"),
                        CUSTOM_TEXT)

    def test_in_stream_error_raises(self):
        text, err = gm_partial("error_after=2;piece=10")
        self.assertIsInstance(err, genai_errors.ServerError)
        self.assertEqual((err.code, err.status), (500, "INTERNAL"))
        self.assertEqual(text, GEMINI_TEXT[:20])
        text, err = gm_partial("error_after=1;error_code=503;piece=10")
        self.assertIsInstance(err, genai_errors.ServerError)
        self.assertEqual((err.code, err.status), (503, "UNAVAILABLE"))

    def test_in_stream_error_in_array_form(self):
        # python-genai 3.6 only recognises in-stream errors whose JSON starts with {"error":,
        # so it ends this stream silently (README); a later SDK may raise. Either way the SDK
        # must have read exactly the text before the error and nothing after it.
        text, err = gm_partial("error_after=2;piece=10;error_form=array")
        self.assertTrue(err is None or isinstance(err, genai_errors.APIError), repr(err))
        self.assertEqual(text, GEMINI_TEXT[:20])

    def test_429_with_retry_info(self):
        for form in ("", ";error_form=array"):
            with self.subTest(form=form):
                _, err = gm_partial("status=429;retry_after=26" + form)
                self.assertIsInstance(err, genai_errors.ClientError)
                self.assertEqual((err.code, err.status), (429, "RESOURCE_EXHAUSTED"))
                details = err.details["error"]["details"]
                retry = [d for d in details if d["@type"].endswith("RetryInfo")]
                self.assertEqual(retry[0]["retryDelay"], "26s")

    def test_sdk_retry_options_recover_after_429(self):
        client = gm_client(retry_options=genai_types.HttpRetryOptions(
            attempts=3, initial_delay=0.05, max_delay=0.2, jitter=0.01))
        out = gm_stream(f"status=429;times=1;key={unique_key()}", client=client)
        self.check_full(out)

    def test_5xx_and_auth(self):
        for status, cls, name in ((500, genai_errors.ServerError, "INTERNAL"),
                                  (503, genai_errors.ServerError, "UNAVAILABLE"),
                                  (404, genai_errors.ClientError, "NOT_FOUND")):
            with self.subTest(status=status):
                _, err = gm_partial(f"status={status}")
                self.assertIsInstance(err, cls)
                self.assertEqual((err.code, err.status), (status, name))
        with self.assertRaises(genai_errors.ClientError) as cm:
            gm_stream(client=gm_client(key="bad-key"))
        self.assertEqual((cm.exception.code, cm.exception.status), (400, "INVALID_ARGUMENT"))
        self.assertIn("API key not valid", cm.exception.message)

    def test_cut_connection_raises(self):
        for spec in ("cut_after=2", "cut_after=3;cut=rst"):
            with self.subTest(spec=spec):
                text, err = gm_partial(spec)
                self.assertIsNotNone(err)
                self.assertIsInstance(err, HTTP_ERRORS + (ConnectionError,), repr(err))
                self.assertTrue(GEMINI_TEXT.startswith(text))

    def test_stall_times_out(self):
        t0 = time.monotonic()
        text, err = gm_partial("stall_after=2", timeout_ms=2000)
        self.assertIsInstance(err, TIMEOUT_ERRORS)
        self.assertLess(time.monotonic() - t0, 15)
        self.assertTrue(GEMINI_TEXT.startswith(text))

    def test_non_streaming(self):
        r = gm_client().models.generate_content(model="gemini-2.5-flash", contents="q")
        self.assertEqual(r.text, GEMINI_TEXT)

    def test_files_upload_poll_and_use(self):
        data = os.urandom(10_000)
        old = genai_api_client.CHUNK_SIZE
        genai_api_client.CHUNK_SIZE = 4096          # three pieces: upload, upload, finalize
        tag = unique_key()
        try:
            client = gm_client()
            f = client.files.upload(file=io.BytesIO(data), config=genai_types.UploadFileConfig(
                mime_type="video/mp4", display_name=f"clip [fake:polls=2;tag={tag}]"))
        finally:
            genai_api_client.CHUNK_SIZE = old
        self.assertEqual(f.state, genai_types.FileState.PROCESSING)
        self.assertEqual(f.size_bytes, len(data))
        self.assertEqual(f.mime_type, "video/mp4")
        import base64
        import hashlib
        self.assertEqual(base64.b64decode(f.sha256_hash).decode(),
                         hashlib.sha256(data).hexdigest())
        # using the file before it is ACTIVE is refused
        with self.assertRaises(genai_errors.ClientError) as cm:
            gm_stream(contents=[f, "Describe the video"], client=client)
        self.assertEqual((cm.exception.code, cm.exception.status), (400, "FAILED_PRECONDITION"))
        states = []
        for _ in range(10):
            g = client.files.get(name=f.name)
            states.append(g.state)
            if g.state != genai_types.FileState.PROCESSING:
                break
        self.assertEqual(states, [genai_types.FileState.PROCESSING] * 2
                         + [genai_types.FileState.ACTIVE])
        self.assertEqual(g.video_metadata["videoDuration"] if isinstance(g.video_metadata, dict)
                         else g.video_metadata.video_duration, "12s")
        out = gm_stream(contents=[g, "Describe the video"], client=client)
        self.check_full(out)
        sent = [r for r in fake_requests(tag)]
        self.assertEqual(len(sent), 1)                  # the start request carries the tag
        self.assertEqual(sent[0]["headers"].get("X-Goog-Upload-Protocol"), "resumable")
        client.files.delete(name=f.name)
        with self.assertRaises(genai_errors.ClientError):
            client.files.get(name=f.name)

    def test_files_failed_state(self):
        client = gm_client()
        f = client.files.upload(file=io.BytesIO(b"not a video"), config=genai_types.UploadFileConfig(
            mime_type="video/mp4", display_name="broken [fake:polls=1;file_state=FAILED]"))
        states = [client.files.get(name=f.name) for _ in range(3)]
        self.assertEqual([s.state for s in states],
                         [genai_types.FileState.PROCESSING, genai_types.FileState.FAILED,
                          genai_types.FileState.FAILED])
        self.assertTrue(states[-1].error.message)

    def test_files_marker_inside_uploaded_bytes(self):
        # as an ffmpeg `-metadata comment=...` would leave it, straddling two upload pieces
        marker = b"[fake:polls=0;file_state=FAILED]"
        data = os.urandom(4090) + marker + os.urandom(3000)
        old = genai_api_client.CHUNK_SIZE
        genai_api_client.CHUNK_SIZE = 4096
        try:
            client = gm_client()
            f = client.files.upload(file=io.BytesIO(data), config=genai_types.UploadFileConfig(
                mime_type="video/mp4", display_name="clip.mp4"))
        finally:
            genai_api_client.CHUNK_SIZE = old
        self.assertEqual(f.state, genai_types.FileState.PROCESSING)
        self.assertEqual(client.files.get(name=f.name).state, genai_types.FileState.FAILED)

    def test_files_upload_errors(self):
        with self.assertRaises(genai_errors.ClientError) as cm:
            gm_client().files.upload(file=io.BytesIO(b"x"), config=genai_types.UploadFileConfig(
                mime_type="video/mp4", display_name="[fake:status=429]"))
        self.assertEqual(cm.exception.code, 429)


# ---------------------------------------------------------------------------------------------
# twelvelabs SDK
# ---------------------------------------------------------------------------------------------

def tl_client(key="tlk_fake"):
    return TwelveLabs(api_key=key, base_url=f"{base()}/v1.3")


# twelvelabs 1.0.x: analyze_stream(video_id=..., prompt=...); later 1.x: analyze_stream(video=
# {"type": "asset_id" | "url" | "base64_string", ...}, prompt=...) with no video_id parameter.
import inspect  # noqa: E402
TL_HAS_VIDEO_OBJECT = "video" in inspect.signature(TwelveLabs.analyze_stream).parameters


def tl_video_args(opts, video_id=None, kwargs=None):
    kwargs = {} if kwargs is None else kwargs
    if not TL_HAS_VIDEO_OBJECT:
        kwargs.setdefault("video_id", video_id if video_id is not None else "asset-1")
    elif video_id is not None:
        opts["additional_body_parameters"] = {"video_id": video_id}
    else:
        kwargs.setdefault("video", {"type": "asset_id", "asset_id": "asset-1"})
    return kwargs


def tl_stream(behavior=None, prompt="Describe the video", video_id=None, client=None,
              timeout=None, **kwargs):
    client = client or tl_client()
    opts = {"max_retries": 0}
    if behavior:
        opts["additional_headers"] = {"X-Fake-Behavior": behavior}
    kwargs = tl_video_args(opts, video_id, kwargs)
    if timeout:
        opts["timeout_in_seconds"] = timeout
    out = {"text": "", "events": [], "end": None, "start": None}
    for ev in client.analyze_stream(prompt=prompt, request_options=opts, **kwargs):
        out["events"].append(ev.event_type)
        if ev.event_type == "text_generation":
            out["text"] += ev.text or ""
        elif ev.event_type == "stream_end":
            out["end"] = ev
        elif ev.event_type == "stream_start":
            out["start"] = ev
    return out


def tl_partial(behavior, **kwargs):
    text = ""
    try:
        opts = {"max_retries": 0, "additional_headers": {"X-Fake-Behavior": behavior}}
        opts.update(kwargs.pop("opts", {}))
        kwargs = tl_video_args(opts, None, kwargs)
        for ev in tl_client().analyze_stream(prompt="q", request_options=opts, **kwargs):
            if ev.event_type == "text_generation":
                text += ev.text or ""
    except Exception as e:  # noqa: BLE001
        return text, e
    return text, None


class TwelveLabsSDKTests(unittest.TestCase):

    def check_full(self, out, text=PEGASUS_TEXT, finish="stop"):
        self.assertEqual(out["text"], text)
        self.assertEqual(out["events"][0], "stream_start")
        self.assertEqual(out["events"][-1], "stream_end")
        self.assertEqual(out["end"].finish_reason, finish)
        self.assertEqual(out["end"].metadata.generation_id,
                         out["start"].metadata.generation_id)
        self.assertGreater(out["end"].metadata.usage.output_tokens, 0)

    def test_default_stream_with_video_object_and_with_video_id(self):
        self.check_full(tl_stream())
        tag = unique_key()
        self.check_full(tl_stream(f"tag={tag}", video_id="vid-42"))
        sent = fake_requests(tag)[0]["json"]
        self.assertEqual(sent["video_id"], "vid-42")
        self.assertIs(sent["stream"], True)
        self.assertNotIn("video", sent)
        if TL_HAS_VIDEO_OBJECT:
            self.check_full(tl_stream(video={"type": "url", "url": "https://example.invalid/v.mp4"}))

    def test_random_splits(self):
        for seed in SEEDS:
            with self.subTest(seed=seed):
                self.check_full(tl_stream(f"split=random;seed={seed}"))

    def test_other_write_patterns(self):
        for spec in ("split=utf8", "split=1;gap=0", "split=4", "coalesce=all", "coalesce=2",
                     "coalesce=all;split=random;seed=2", "noise", "piece=1", "piece=0",
                     "drip=0"):
            with self.subTest(spec=spec):
                self.check_full(tl_stream(spec))

    def test_chosen_text_via_header_and_marker(self):
        enc = urllib.parse.quote(CUSTOM_TEXT, safe="")
        self.check_full(tl_stream(f"text={enc};split=utf8"), CUSTOM_TEXT)
        self.check_full(tl_stream(prompt=f"Describe [fake:text={CUSTOM_TEXT};split=random]"),
                        CUSTOM_TEXT)

    def test_finish_length_warning(self):
        out = tl_stream("finish=length")
        self.check_full(out, finish="length")
        err = out["end"].error          # a model in newer SDKs, a plain dict (extra) in 1.0
        self.assertIn("truncated", err["message"] if isinstance(err, dict) else err.message)

    def test_missing_video_is_a_400(self):
        with self.assertRaises(twelvelabs.BadRequestError) as cm:
            extra = {} if TL_HAS_VIDEO_OBJECT else {"video_id": None}
            list(tl_client().analyze_stream(prompt="q", request_options={"max_retries": 0},
                                            **extra))
        self.assertEqual(cm.exception.status_code, 400)
        self.assertEqual(cm.exception.body["code"], "parameter_not_provided")

    def test_missing_video_id_resource_is_a_404(self):
        with self.assertRaises(TLApiError) as cm:     # NotFoundError from twelvelabs 1.1 on
            tl_stream(video_id="missing-123")
        self.assertEqual(cm.exception.status_code, 404)
        self.assertEqual(cm.exception.body["code"], "resource_not_exist")

    def test_429_rate_limit(self):
        _, err = tl_partial("status=429")
        self.assertIsInstance(err, twelvelabs.TooManyRequestsError)
        self.assertEqual(err.body["code"], "too_many_requests")
        self.assertEqual(err.headers["x-ratelimit-remaining"], "0")
        self.assertIn("x-ratelimit-reset", err.headers)

    def test_5xx_and_auth(self):
        for status in (500, 503):
            with self.subTest(status=status):
                _, err = tl_partial(f"status={status}")
                self.assertIsInstance(err, TLApiError)
                self.assertEqual(err.status_code, status)
        with self.assertRaises(TLApiError) as cm:
            tl_stream(client=tl_client(key="bad-key"))
        self.assertEqual((cm.exception.status_code, cm.exception.body["code"]),
                         (401, "api_key_invalid"))

    def test_in_stream_error_event(self):
        # twelvelabs 1.3 parses each line as StreamAnalyzeResponse and drops what does not
        # parse, so the legacy `stream_error` event ends the stream without raising (README);
        # a later SDK may raise. Either way: the text before it, and no stream_end.
        text, err = tl_partial("error_after=2;piece=10")
        self.assertTrue(err is None or isinstance(err, TLApiError), repr(err))
        self.assertEqual(text, PEGASUS_TEXT[:20])
        out = {"events": []}
        try:
            out = tl_stream("error_after=2;piece=10")
        except TLApiError:
            pass
        self.assertNotIn("stream_end", out["events"])

    def test_cut_connection_raises(self):
        text, err = tl_partial("cut_after=3")
        self.assertIsInstance(err, HTTP_ERRORS + (ConnectionError,))
        self.assertTrue(PEGASUS_TEXT.startswith(text))

    def test_stall_times_out(self):
        t0 = time.monotonic()
        text, err = tl_partial("stall_after=2", opts={"timeout_in_seconds": 2})
        self.assertIsInstance(err, TIMEOUT_ERRORS)
        self.assertLess(time.monotonic() - t0, 15)

    def test_video_retrieval(self):
        v = tl_client().indexes.videos.retrieve("index-1", "vid-7")
        self.assertEqual(v.id, "vid-7")
        self.assertEqual(v.hls.status, "COMPLETE")
        self.assertTrue(v.hls.video_url.startswith(base() + "/media/vid-7."))
        self.assertGreater(v.system_metadata.duration, 0)
        v = tl_client().indexes.videos.retrieve(
            "index-1", "vid-7", request_options={"additional_headers": {
                "X-Fake-Behavior": "hls_url=http%3A%2F%2Fexample.invalid%2Fx.m3u8"}})
        self.assertEqual(v.hls.video_url, "http://example.invalid/x.m3u8")
        with self.assertRaises(twelvelabs.NotFoundError):
            tl_client().indexes.videos.retrieve("index-1", "missing-9")
        v = tl_client().indexes.videos.retrieve("index-1", "vid-8[fake:hls=none]")
        self.assertEqual(v.id, "vid-8")
        self.assertIsNone(v.hls)


def versions():
    from importlib.metadata import version
    return ", ".join(f"{p} {version(p)}" for p in ("openai", "google-genai", "twelvelabs",
                                                   "httpx"))


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-k", dest="pattern", action="append", help="only tests matching")
    args = ap.parse_args()
    print(f"SDKs: {versions()}; Python {sys.version.split()[0]}", flush=True)
    loader = unittest.TestLoader()
    if args.pattern:
        loader.testNamePatterns = [f"*{p}*" for p in args.pattern]
    suite = loader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2 if args.verbose else 1).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"fakes: {result.testsRun - failed} passed, {failed} failed")
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
