"""TwelveLabs direct uploads ("assets"): POST /v1.3/assets (multipart/form-data, `method`
direct or url), GET /v1.3/assets/{asset_id} (processing -> ready | failed) and
DELETE /v1.3/assets/{asset_id} (204; 404 for an unknown or already deleted asset), plus the check
analyze makes on `video: {"type": "asset_id"}`. Shapes follow the twelvelabs SDK's Asset and
AssetDetail models."""

import hashlib
import json
import mimetypes
import os
import time
import urllib.parse

from .behavior import (BYTES_MARKER_RE, MARKER_RE, Behavior, apply_times, behavior_from,
                       parse_behavior, scope_behavior)
from .formats import tl_json
from .multipart import parse_form
from .state import ASSETS, STATE_LOCK
from .twelvelabs_api import twelvelabs_error_body

# The SDK's create() docstring: "Video and audio, local files: Up to 200 MB", "Images: Up to
# 32 MB". `asset_max_bytes=N` lowers the limit for one request (a test knob).
MAX_LOCAL_BYTES = 200 * 1000 * 1000
MAX_IMAGE_BYTES = 32 * 1000 * 1000
FORM_RECORD_CAP = 64 * 1024          # longest form value kept in the request record
FAKE_DURATION = 12.0                 # like the video retrieval and Gemini's videoMetadata


def new_asset_id():
    """24 lowercase hex digits like a Mongo ObjectId: 4 bytes of time, 8 random bytes."""
    return "%08x" % (int(time.time()) & 0xFFFFFFFF) + os.urandom(8).hex()


def rfc3339_seconds(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class TwelveLabsAssets:
    """Handler mixin: the TwelveLabs asset endpoints."""

    def asset_bad(self, code, message):
        self.send_bytes(400, twelvelabs_error_body(code, message))

    def twelvelabs_asset_create(self, raw):
        try:
            parts, parse_error = parse_form(raw, self.headers.get("Content-Type")), None
        except ValueError as e:
            parts, parse_error = [], str(e)
        fields, upload = {}, None
        for p in parts:
            if p.name == "file":
                upload = upload or p
            elif p.name is not None and p.name not in fields:
                fields[p.name] = p.text()
        size = len(upload.data) if upload is not None else None
        sha = hashlib.sha256(upload.data).hexdigest() if upload is not None else None
        # Behaviour: markers in the uploaded bytes, then in the form fields and the file
        # part's filename, then the header (each wins over the one before, key by key).
        b = Behavior(self.file_markers(raw, upload))
        b.update(behavior_from({"form": fields, "filename": upload and upload.filename},
                               self.headers.get("X-Fake-Behavior")))
        self.record("twelvelabs", raw, None, b)
        with STATE_LOCK:
            self._record.update({
                "form": {k: v[:FORM_RECORD_CAP] for k, v in fields.items()},
                "file_bytes": size, "file_sha256": sha,
                "file_name": upload.filename if upload is not None else None,
                "file_content_type": upload.content_type if upload is not None else None})
        b = apply_times("twelvelabs", scope_behavior(b, "twelvelabs"))
        self.pre_delay(b)
        if self.twelvelabs_refused(b):
            return
        if parse_error:
            return self.asset_bad("parameter_invalid", parse_error)
        method = fields.get("method")
        if not method:
            return self.asset_bad("parameter_not_provided",
                                  "The method parameter is required but was not provided.")
        if method not in ("direct", "url"):
            return self.asset_bad("parameter_invalid", f"The method parameter is invalid: "
                                  f"{method!r}. Use `direct` or `url`.")
        url = fields.get("url")
        filename = fields.get("filename") or None
        if method == "direct":
            if upload is None:
                return self.asset_bad("parameter_not_provided", "The file parameter is "
                                      "required when method is direct but was not provided.")
            filename = filename or upload.filename or "file"
            file_type = self.asset_file_type(upload.content_type, filename)
            image = file_type.startswith("image/")
            limit = b.int("asset_max_bytes", MAX_IMAGE_BYTES if image else MAX_LOCAL_BYTES)
            if size == 0:
                return self.asset_bad("parameter_invalid",
                                      "The file parameter is invalid: the file is empty.")
            if size > limit:
                kind = "images" if image else "local video, audio and document files"
                return self.asset_bad("parameter_invalid", (
                    f"The file parameter is invalid: the file is {size} bytes, over the limit "
                    f"of {limit / 1e6:g} MB ({limit} bytes) for {kind}." if limit >= 10 ** 6
                    else f"The file parameter is invalid: the file is {size} bytes, over the "
                    f"limit of {limit} bytes (asset_max_bytes) for {kind}."))
        else:
            if not url:
                return self.asset_bad("parameter_not_provided", "The url parameter is "
                                      "required when method is url but was not provided.")
            if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
                return self.asset_bad("parameter_invalid", "The url parameter is invalid: "
                                      "it must be a publicly accessible http(s) URL.")
            path = urllib.parse.urlsplit(url).path
            filename = filename or os.path.basename(path) or "file"
            file_type = self.asset_file_type(None, filename)
        flags = {}
        for key in ("enable_hls", "enable_thumbnail"):
            value = (fields.get(key) or "true").lower()
            if value not in ("true", "false", "1", "0"):
                return self.asset_bad("parameter_invalid", f"The {key} parameter is invalid: "
                                      "use true or false.")
            flags[key] = value in ("true", "1")
        user_metadata = None
        if fields.get("user_metadata"):
            try:
                user_metadata = json.loads(fields["user_metadata"])
            except ValueError:
                user_metadata = None
            if not isinstance(user_metadata, dict):
                return self.asset_bad("parameter_invalid", "The user_metadata parameter is "
                                      "invalid: send a JSON-encoded object.")
        polls = max(0, b.int("asset_polls", 1))
        final = "failed" if b.flag("asset_fail") else "ready"
        aid = new_asset_id()
        asset = {"id": aid, "method": method, "filename": filename, "file_type": file_type,
                 "created_at": rfc3339_seconds(time.time()), "user_metadata": user_metadata,
                 "size": size if method == "direct" else None, "sha256": sha,
                 "url": url if method == "url" else None, "polls_left": polls,
                 # asset_polls=0: usable at once (the create answer still says processing).
                 "status": final if polls == 0 else "processing", "final_status": final,
                 "behavior": dict(b), **flags}
        with STATE_LOCK:
            ASSETS[aid] = asset
            self._record["asset_id"] = aid
            obj = self.asset_object(asset, "processing")
        self.send_bytes(201, tl_json(obj).encode())

    def file_markers(self, raw, upload):
        """`[fake:...]` markers inside the uploaded bytes (e.g. an ffmpeg
        `-metadata comment=`), found with bytes.find over the file part without copying it."""
        out = {}
        if upload is None or not len(upload.data):
            return out
        start, end = upload.start, upload.end
        pos = raw.find(b"[fake:", start, end)
        while 0 <= pos < end:
            m = BYTES_MARKER_RE.match(raw, pos, end)
            if m:
                out.update(parse_behavior(m.group(1).decode("utf-8", "replace")))
            pos = raw.find(b"[fake:", pos + 6, end)
        return out

    @staticmethod
    def asset_file_type(content_type, filename):
        ctype = (content_type or "").split(";")[0].strip().lower()
        if ctype and ctype != "application/octet-stream":
            return ctype
        return mimetypes.guess_type(filename or "")[0] or "application/octet-stream"

    def asset_object(self, a, status):
        """The Asset JSON (create), or AssetDetail for `status` ready/failed/processing."""
        obj = {"_id": a["id"], "method": a["method"], "status": status,
               "filename": a["filename"], "file_type": a["file_type"],
               "created_at": a["created_at"]}
        if a["user_metadata"] is not None:
            obj["user_metadata"] = a["user_metadata"]
        return obj

    def asset_detail(self, a):
        status = a["status"]
        obj = self.asset_object(a, status)
        media = a["file_type"].split("/")[0] in ("video", "audio")
        sub = {"processing": "processing", "ready": "ready", "failed": "error"}[status]
        if a["enable_hls"] and media:
            obj["hls"] = {"status": sub}
            if status == "ready":
                obj["hls"]["manifest_url"] = f"{self.base_url()}/media/{a['id']}.m3u8"
        if a["enable_thumbnail"] and not a["file_type"].startswith("text/"):
            obj["thumbnail"] = {"status": sub}
            if status == "ready":
                obj["thumbnail"]["representative_url"] = f"{self.base_url()}/media/{a['id']}.jpg"
        if status == "processing":
            return obj                       # technical_metadata is omitted while processing
        tech = {"file_mime_type": a["file_type"]}
        if a["size"] is not None:
            tech["file_size_bytes"] = a["size"]
        if status == "ready" and a["file_type"].startswith("video/"):
            tech.update({"video_width": 1280, "video_height": 720, "video_fps": 25.0,
                         "video_duration_seconds": FAKE_DURATION})
        obj["technical_metadata"] = tech
        if status == "ready":
            if a["size"] is not None:
                obj["size"] = a["size"]
            if media:
                obj["duration"] = FAKE_DURATION
        else:
            obj["error"] = {"message": "The file could not be processed: it is corrupt, "
                                       "unreadable or in an unsupported format (fake upstream "
                                       "failed state)."}
        return obj

    def asset_request(self, asset_id):
        """What GET and DELETE /v1.3/assets/{id} share: the record, behaviours (a marker may ride in
        the id), the delay and refusals. Returns the bare id, or None when the request was answered."""
        body, b, rng = self.common_setup("twelvelabs", b"", (asset_id,))
        self.pre_delay(b)
        if self.twelvelabs_refused(b):
            return None
        return MARKER_RE.sub("", asset_id)

    def twelvelabs_asset(self, asset_id):
        asset_id = self.asset_request(asset_id)
        if asset_id is None:
            return
        with STATE_LOCK:
            a = ASSETS.get(asset_id)
            if a is not None:
                # asset_polls=N: the first N GETs see processing, later ones the final status.
                if a["status"] == "processing":
                    if a["polls_left"] > 0:
                        a["polls_left"] -= 1
                    else:
                        a["status"] = a["final_status"]
                obj = self.asset_detail(a)
        if a is None:
            return self.asset_missing(asset_id)
        self.send_bytes(200, tl_json(obj).encode())

    def asset_missing(self, asset_id):
        """404 for an id this fake does not have (never uploaded, or deleted)."""
        self.send_bytes(404, twelvelabs_error_body(
            "resource_not_exist", f"Resource with id {asset_id} does not exist in assets."))

    def twelvelabs_asset_delete(self, asset_id):
        """DELETE /v1.3/assets/{id}: 204 without a body (the SDK's `assets.delete` takes any 2xx),
        404 `resource_not_exist` for an id this fake does not have (never uploaded, or deleted)."""
        asset_id = self.asset_request(asset_id)
        if asset_id is None:
            return
        with STATE_LOCK:
            removed = ASSETS.pop(asset_id, None)
        if removed is None:
            return self.asset_missing(asset_id)
        self.send_no_content()

    def twelvelabs_asset_refusal(self, asset_id):
        """analyze with `video: {"type": "asset_id"}`: the 400 message when the asset is one
        of this fake's and is not ready; None otherwise (unknown ids are accepted)."""
        with STATE_LOCK:
            a = ASSETS.get(asset_id) if isinstance(asset_id, str) else None
            status = a["status"] if a is not None else None
        if status is None or status == "ready":
            return None
        if status == "failed":
            return (f"The asset_id parameter is invalid: the asset {asset_id} failed "
                    "processing and cannot be used.")
        return (f"The asset_id parameter is invalid: the asset {asset_id} is not ready yet "
                "(status: processing). Wait until its status is `ready` before you use it.")
