"""Small helpers every provider uses: answer pieces, token estimates, Go-style durations, random
ids, RFC 3339 timestamps, each provider's JSON encoding, and a walk over nested JSON."""

import json
import string
import time


def split_text(text, piece):
    if not text:
        return []
    if piece is None:
        piece = 8
    if piece <= 0:
        return [text]
    return [text[i:i + piece] for i in range(0, len(text), piece)]


def approx_tokens(text):
    return max(1, (len(text) + 3) // 4) if text else 0


def go_duration(ms):
    """Go-style duration as in OpenAI's x-ratelimit-reset-* headers: 12ms, 1s, 6m0s, 1h2m3s."""
    ms = int(ms)
    if ms < 1000:
        return f"{ms}ms"
    s = ms / 1000.0
    h, rem = divmod(int(s), 3600)
    m, sec = divmod(rem, 60)
    frac = s - int(s)
    sec_txt = f"{sec + frac:.3f}".rstrip("0").rstrip(".")
    if h:
        return f"{h}h{m}m{sec_txt}s"
    if m:
        return f"{m}m{sec_txt}s"
    return f"{sec_txt}s"


def rand_id(rng, n, alphabet=string.ascii_letters + string.digits):
    return "".join(rng.choice(alphabet) for _ in range(n))


def now_rfc3339(t=None):
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


def oa_json(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def gm_json(obj):
    # Gemini's SSE chunks: one line, ": " after keys, no space after commas.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ": "))


def tl_json(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _iter_dicts(obj):
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from _iter_dicts(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _iter_dicts(v)
