"""OpenAI Chat Completions: POST /v1/chat/completions (and any path ending in /chat/completions,
an OpenAI-compatible local server), its error bodies and rate-limit headers."""

import json
import os
import time

from .behavior import collect_strings, content_before_error
from .formats import _iter_dicts, approx_tokens, go_duration, oa_json, rand_id, split_text
from .texts import DEFAULT_TEXT

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


def openai_error_body(message, etype, param, code):
    # OpenAI pretty-prints error bodies with 4-space indentation.
    return (json.dumps({"error": {"message": message, "type": etype, "param": param,
                                  "code": code}}, indent=4, ensure_ascii=False) + "\n").encode()


class OpenAIChat:
    """Handler mixin: the OpenAI endpoint."""

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
        sent, errored = content_before_error(b, pieces)
        for i, p in enumerate(sent):
            if noise and i % 3 == 1:
                events.append(b": keep-alive\n\n")
            events.append(chunk(choice({"content": p})))
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
