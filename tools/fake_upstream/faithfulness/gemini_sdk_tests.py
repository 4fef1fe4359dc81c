"""The official `google-genai` SDK against the fake: generate_content_stream under every write
pattern (thought part skipped, finish reason, cumulative usage), the errors, the SDK's retry
options, and the Files API (upload in pieces, polling, FAILED, markers in the bytes)."""

import io
import os
import time
import urllib.parse

from google import genai
from google.genai import _api_client as genai_api_client
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from fakeupstream.texts import GEMINI_THOUGHT_TEXT

from .harness import (CUSTOM_TEXT, GEMINI_TEXT, HTTP_ERRORS, SEEDS, TIMEOUT_ERRORS, base,
                      fake_requests, unique_key)

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


class GeminiSDKCases:
    """GeminiSDKTests mixin."""

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
        self.assertEqual(out["thoughts"], GEMINI_THOUGHT_TEXT)

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
