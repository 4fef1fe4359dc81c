"""Gemini generateContent and streamGenerateContent (alt=sse or a JSON array), the Gemini key
check and error bodies (shared with the Files API)."""

import json
import re
import string

from .behavior import collect_strings, content_before_error
from .formats import _iter_dicts, approx_tokens, gm_json, rand_id, split_text
from .state import FILES, STATE_LOCK
from .texts import DEFAULT_TEXT, GEMINI_THOUGHT_TEXT

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


class GeminiAPI:
    """Handler mixin: the Gemini model endpoints, key check and error answers."""

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

    def gemini_refused(self, query, b, what):
        """Answers a bad key or a `status=` behaviour; True when it did (nothing else to send)."""
        auth = self.gemini_auth_error(query)
        if auth:
            self.gemini_send_error(auth[0], auth[1], b)
            return True
        status = b.int("status")
        if status:
            self.gemini_status(status, b, what)
            return True
        return False

    def gemini_generate(self, model, method, query, raw):
        self._server_header = "scaffolding on HTTPServer2"
        body, b, rng = self.common_setup("gemini", raw)
        self.pre_delay(b)
        if self.gemini_refused(query, b, model):
            return
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
            sent, errored = content_before_error(b, pieces)
            end_ok = not b.flag("no_end") and not errored
            for i, p in enumerate(sent):
                last = i == len(pieces) - 1
                objs.append(resp([{"text": p}], approx_tokens("".join(pieces[:i + 1])),
                                 finish if (last and end_ok) else None))
            if errored:
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
