"""Wire tests, part 2: that each misbehaviour really happens on the wire (splits inside
characters and terminators, coalescing, drip, cuts, stalls, in-stream errors), provider-shaped
error statuses, `times`, scopes, delay, request records, keys, and media with Range."""

import json
import os
import subprocess
import sys
import time
import urllib.request

from .harness import HERE, fake_requests, unique_key
from .raw_http import (GM_BODY, GM_HEADERS, GM_PATH, OA_HEADERS, TL_BODY, TL_HEADERS, behave,
                       has_split_character, openai_body, raw_request, sse_events)


class WireBehaviorCases:
    """WireTests mixin: misbehaviour and errors on the wire."""

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
