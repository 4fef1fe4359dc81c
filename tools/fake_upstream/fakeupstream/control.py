"""The test helpers: GET /media/{file} (files from --media-dir, with Range) and /_fake/ (health,
request records, reset)."""

import json
import os
import re
import urllib.parse

from .state import ASSETS, FILES, MEDIA_DIR, REQUESTS, STATE_LOCK, TIMES_COUNTERS, UPLOADS


class MediaAndControl:
    """Handler mixin: /media/ and /_fake/."""

    def serve_media(self, rel):
        media = MEDIA_DIR[0]
        rel = urllib.parse.unquote(rel)
        if not media or ".." in rel.split("/") or rel.startswith("/"):
            return self.send_bytes(404, b"not found\n", "text/plain")
        path = os.path.realpath(os.path.join(media, rel))
        if not path.startswith(os.path.realpath(media) + os.sep) or not os.path.isfile(path):
            return self.send_bytes(404, b"not found\n", "text/plain")
        with open(path, "rb") as fh:
            data = fh.read()
        ctype = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t",
                 ".mp4": "video/mp4", ".jpg": "image/jpeg", ".png": "image/png"}.get(
            os.path.splitext(path)[1].lower(), "application/octet-stream")
        rng_h = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng_h or "")
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else len(data) - 1
            else:
                start = max(0, len(data) - int(m.group(2)))
                end = len(data) - 1
            end = min(end, len(data) - 1)
            if start >= len(data) or start > end:
                return self.send_bytes(416, b"", ctype,
                                       {"Content-Range": f"bytes */{len(data)}"})
            return self.send_bytes(206, data[start:end + 1], ctype, {
                "Content-Range": f"bytes {start}-{end}/{len(data)}", "Accept-Ranges": "bytes"})
        self.send_bytes(200, data, ctype, {"Accept-Ranges": "bytes"})

    def fake_control(self, path, query):
        if path == "/_fake/health":
            return self.send_bytes(200, b'{"ok":true}')
        if path == "/_fake/requests" and self.command == "GET":
            tag = (query.get("tag") or [None])[0]
            since = int((query.get("since") or ["0"])[0])
            with STATE_LOCK:
                out = [r for r in REQUESTS if r["seq"] > since and (tag is None or
                                                                     r.get("tag") == tag)]
                body = json.dumps(out, ensure_ascii=False).encode()
            return self.send_bytes(200, body)
        if path == "/_fake/reset" and self.command == "POST":
            with STATE_LOCK:
                REQUESTS.clear()
                TIMES_COUNTERS.clear()
                FILES.clear()
                UPLOADS.clear()
                ASSETS.clear()
            return self.send_bytes(200, b'{"ok":true}')
        self.send_bytes(404, b'{"error":"unknown control path"}')
