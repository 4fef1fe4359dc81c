"""The behaviour syntax: BEHAVIOR_HELP (`--help-behavior`), parsing of the `X-Fake-Behavior`
header and `[fake:...]` markers, provider scopes and `times=N`."""

import re
import urllib.parse

from .state import STATE_LOCK, TIMES_COUNTERS

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
  upload_cut=N      the first `upload` request of the session breaks after N bytes: the session
                    keeps them (`query` answers X-Goog-Upload-Size-Received: N) and the
                    connection closes with no answer

TwelveLabs video retrieval
  hls_url=URL       hls.video_url to return (default: /media/{video_id}.m3u8 or .mp4 on this
                    server when --media-dir has it, else /media/{video_id}.m3u8)
  hls_status=S      hls.status (default COMPLETE); hls=none omits the hls object

TwelveLabs assets (given on POST /v1.3/assets: header, or a marker in the `filename` or
`user_metadata` field, the file part's filename or the uploaded bytes)
  asset_polls=N     GET /v1.3/assets/{id} answers `processing` N times (default 1), then
                    `ready`; 0 = ready at once (the create answer still says processing).
                    analyze refuses the asset (400) until a GET has answered `ready`
  asset_fail        the final status is `failed`, with `error.message`
  asset_max_bytes=N test knob: the size limit for this upload (default 200000000, images
                    32000000); a larger file gets 400 parameter_invalid

Scopes
  openai.K=V, gemini.K=V, twelvelabs.K=V (alias pegasus.K=V): apply K=V to that provider only,
  winning over an unscoped K. One Chorus query reaches every model, so a marker in it can make
  one provider fail while the others answer: `[fake:gemini.status=503;openai.split=utf8]`.

Where else markers are read
  Gemini uploads: `[fake:...]` anywhere in the uploaded bytes (for example a video made with
  `ffmpeg ... -metadata comment='[fake:file_state=FAILED]'`), besides the start request's
  header and display_name (those win).
  TwelveLabs asset uploads (multipart, no JSON body): the text form fields (`filename`,
  `user_metadata`, ...), the file part's filename, and the uploaded bytes (those lose).
  TwelveLabs video and asset retrieval: `[fake:...]` inside the index, video or asset id path
  segment (percent-encoded); it is removed from the id before use.

Bookkeeping
  tag=T             stored with the request record (GET /_fake/requests?tag=T)
  key=K             counter name for times=N
"""

CONTENT_KEYS = {"text", "piece", "seed", "thought", "finish", "tag", "key", "polls",
                "file_state", "hls_url", "hls_status", "hls", "asset_polls", "asset_fail"}

MARKER_RE = re.compile(r"\[fake:([^\]]*)\]")
BYTES_MARKER_RE = re.compile(rb"\[fake:([^\]\x00-\x1f]{0,256})\]")


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


def content_before_error(b, pieces):
    """error_after=N: the content pieces sent before the in-stream error (all of them when N is
    at least their number) and whether the error comes. Shared by the three providers."""
    n = b.int("error_after")
    if n is None or n < 0:
        return pieces, False
    return pieces[:n], True
