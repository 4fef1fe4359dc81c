"""TwelveLabs: POST /v1.3/analyze (NDJSON events) and GET /v1.3/indexes/{index}/videos/{video}
(video retrieval with hls.video_url), with their error bodies. The asset (direct upload)
endpoints are in twelvelabs_assets.py."""

import base64
import binascii
import os
import time
import urllib.parse

from .behavior import MARKER_RE, content_before_error
from .formats import approx_tokens, now_rfc3339, rand_id, split_text, tl_json
from .state import MEDIA_DIR
from .texts import DEFAULT_TEXT

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


def twelvelabs_error_body(code, message):
    return tl_json({"code": code, "message": message,
                    "docs_url": "https://docs.twelvelabs.io/v1.3/api-reference/error-codes"}
                   ).encode()


class TwelveLabsAPI:
    """Handler mixin: the TwelveLabs endpoints."""

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

    def twelvelabs_refused(self, b):
        """Answers a bad key or a `status=` behaviour; True when it did (nothing else to send)."""
        auth = self.twelvelabs_auth_error()
        if auth:
            self.send_bytes(401, auth)
            return True
        status = b.int("status")
        if status:
            self.twelvelabs_status(status, b)
            return True
        return False

    def twelvelabs_analyze(self, raw):
        body, b, rng = self.common_setup("twelvelabs", raw)
        self.pre_delay(b)
        if self.twelvelabs_refused(b):
            return
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
            if video["type"] == "base64_string":
                encoded = video["base64_string"]
                # providers.md 3.2: a base64 video is at most 30 MB.
                if not isinstance(encoded, str) or len(encoded) > 30 * 1000 * 1000:
                    return self.send_bytes(400, twelvelabs_error_body(
                        "parameter_invalid", "The video parameter is invalid: base64_string "
                        "must be a string of at most 30 MB."))
                try:
                    base64.b64decode(encoded, validate=True)
                except (binascii.Error, ValueError):
                    return self.send_bytes(400, twelvelabs_error_body(
                        "parameter_invalid", "The video parameter is invalid: base64_string "
                        "is not valid base64."))
        if not body.get("prompt") and not body.get("prompt_v2"):
            return self.send_bytes(400, twelvelabs_error_body(
                "parameter_not_provided", "The prompt parameter is required but was not provided."))
        ident = video_id or (video or {}).get("asset_id") or ""
        if isinstance(ident, str) and ident.startswith("missing"):
            return self.send_bytes(404, twelvelabs_error_body(
                "resource_not_exist", f"Resource with id {ident} does not exist in videos."))
        if video is not None and video["type"] == "asset_id":
            refusal = self.twelvelabs_asset_refusal(video["asset_id"])   # twelvelabs_assets.py
            if refusal:
                return self.send_bytes(400, twelvelabs_error_body("parameter_invalid", refusal))
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
        sent, errored = content_before_error(b, pieces)
        for i, p in enumerate(sent):
            if noise and i == 1:
                events.append(b"\n")
                events.append(tl_json({"event_type": "fake_heartbeat", "seq": i}).encode() + b"\n")
            events.append(tl_json({"event_type": "text_generation", "text": p}).encode() + b"\n")
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
        if self.twelvelabs_refused(b):
            return
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
