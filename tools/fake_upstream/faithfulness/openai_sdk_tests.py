"""The official `openai` SDK against the fake: Chat Completions streaming with include_usage under
every write pattern, and the errors (429 and retries, 5xx, keys, in-stream errors, cuts,
stalls)."""

import time
import urllib.parse

import openai

from .harness import (CUSTOM_TEXT, HTTP_ERRORS, OPENAI_TEXT, SEEDS, TIMEOUT_ERRORS, base,
                      fake_requests, unique_key)


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


class OpenAISDKCases:
    """OpenAISDKTests mixin."""

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
