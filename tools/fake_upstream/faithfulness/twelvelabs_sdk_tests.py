"""The official `twelvelabs` SDK against the fake: analyze_stream (with `video` and with
`video_id`) under every write pattern, the errors, and indexes.videos.retrieve."""

import inspect
import time
import urllib.parse

import twelvelabs
from twelvelabs import TwelveLabs
from twelvelabs.core.api_error import ApiError as TLApiError

from .harness import (CUSTOM_TEXT, HTTP_ERRORS, PEGASUS_TEXT, SEEDS, TIMEOUT_ERRORS, base,
                      fake_requests, unique_key)


def tl_client(key="tlk_fake"):
    return TwelveLabs(api_key=key, base_url=f"{base()}/v1.3")


# twelvelabs 1.0.x: analyze_stream(video_id=..., prompt=...); later 1.x: analyze_stream(video=
# {"type": "asset_id" | "url" | "base64_string", ...}, prompt=...) with no video_id parameter.
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


class TwelveLabsSDKCases:
    """TwelveLabsSDKTests mixin."""

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
