"""The Gemini Files API: resumable upload (start, upload, finalize, query, cancel), then
GET (PROCESSING -> ACTIVE | FAILED) and DELETE /v1beta/files/{id}."""

import base64
import hashlib
import json
import random
import string
import time

from .behavior import BYTES_MARKER_RE, Behavior, parse_behavior, scope_behavior
from .formats import now_rfc3339, rand_id
from .gemini_api import gemini_error_obj
from .state import FILES, STATE_LOCK, UPLOADS


class GeminiFiles:
    """Handler mixin: the Files API endpoints."""

    def file_object(self, f):
        obj = {"name": "files/" + f["id"]}
        if f.get("display_name"):
            obj["displayName"] = f["display_name"]
        obj.update({
            "mimeType": f["mime_type"], "sizeBytes": str(f["size"]),
            "createTime": f["create_time"], "updateTime": f["update_time"],
            "expirationTime": f["expiration_time"],
            "sha256Hash": base64.b64encode(f["sha256"].encode()).decode(),
            "uri": f["uri"], "state": f["state"], "source": "UPLOADED",
        })
        if f["state"] == "ACTIVE" and f["mime_type"].startswith("video/"):
            obj["videoMetadata"] = {"videoDuration": "12s"}
        if f["state"] == "FAILED":
            obj["error"] = {"code": 400, "message": "The video could not be processed "
                                                    "(fake upstream FAILED state)."}
        return obj

    def gemini_upload(self, query, raw):
        self._server_header = "UploadServer"
        upload_id = (query.get("upload_id") or [None])[0]
        if upload_id:
            return self.gemini_upload_chunk(upload_id, raw)
        body, b, rng = self.common_setup("gemini", raw)
        self.pre_delay(b)
        if self.gemini_refused(query, b, "files"):
            return
        proto = (self.headers.get("X-Goog-Upload-Protocol") or "").lower()
        command = (self.headers.get("X-Goog-Upload-Command") or "").lower()
        if proto != "resumable" or command != "start":
            return self.gemini_send_error(400, gemini_error_obj(
                400, "This fake only implements the resumable upload protocol "
                "(X-Goog-Upload-Protocol: resumable, X-Goog-Upload-Command: start).",
                "INVALID_ARGUMENT"), b)
        file_meta = (body or {}).get("file") if isinstance(body, dict) else None
        file_meta = file_meta if isinstance(file_meta, dict) else {}
        declared = self.headers.get("X-Goog-Upload-Header-Content-Length")
        mime = (self.headers.get("X-Goog-Upload-Header-Content-Type")
                or file_meta.get("mimeType") or file_meta.get("mime_type")
                or "application/octet-stream")
        uid = "ABgVH" + rand_id(random.Random(), 40, string.ascii_letters + string.digits + "-_")
        with STATE_LOCK:
            UPLOADS[uid] = {
                "declared": int(declared) if declared and declared.isdigit() else None,
                "mime_type": mime,
                "display_name": file_meta.get("displayName") or file_meta.get("display_name"),
                "name": file_meta.get("name"),
                "data": hashlib.sha256(), "received": 0, "behavior": dict(b), "done": False,
                "tail": b"", "content_behavior": {},
            }
            if b.int("upload_cut", -1) >= 0:
                UPLOADS[uid]["cut"] = b.int("upload_cut", 0)
        url = f"{self.base_url()}/upload/v1beta/files?upload_id={uid}&upload_protocol=resumable"
        self.set_status_record(200)
        self.send_response(200)
        self.send_header("X-Goog-Upload-Status", "active")
        self.send_header("X-Goog-Upload-URL", url)
        self.send_header("X-Goog-Upload-Control-URL", url)
        self.send_header("X-Goog-Upload-Chunk-Granularity", "8388608")
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def gemini_upload_chunk(self, upload_id, raw):
        self.record("gemini", raw, None, Behavior())
        with STATE_LOCK:
            up = UPLOADS.get(upload_id)
        if up is None or up["done"]:
            return self.send_bytes(404, b"Upload session not found.\n", "text/plain",
                                   {"X-Goog-Upload-Status": "final" if up else "cancelled"})
        commands = [c.strip() for c in (self.headers.get("X-Goog-Upload-Command") or "")
                    .lower().split(",")]
        if "query" in commands:
            return self.send_bytes(200, b"", "text/plain", {
                "X-Goog-Upload-Status": "active",
                "X-Goog-Upload-Size-Received": str(up["received"])})
        if "cancel" in commands:
            up["done"] = True
            return self.send_bytes(200, b"", "text/plain", {"X-Goog-Upload-Status": "cancelled"})
        offset = self.headers.get("X-Goog-Upload-Offset")
        if "upload" in commands:
            if offset is None or not offset.isdigit() or int(offset) != up["received"]:
                return self.send_bytes(400, (
                    f"Invalid X-Goog-Upload-Offset {offset!r}: expected {up['received']}.\n"
                ).encode(), "text/plain", {"X-Goog-Upload-Status": "active"})
            cut = up.pop("cut", None)
            if cut is not None and cut < len(raw):
                # upload_cut=N: the connection breaks after N bytes of this piece arrived; the
                # session keeps them (a `query` reports them) and no answer is sent.
                raw = raw[:cut]
            up["data"].update(raw)
            up["received"] += len(raw)
            # `[fake:...]` inside the uploaded bytes (e.g. an ffmpeg `-metadata comment=`) also
            # selects behaviour; a carried-over tail catches markers split across pieces.
            window = up["tail"] + raw
            for m in BYTES_MARKER_RE.finditer(window):
                up["content_behavior"].update(parse_behavior(m.group(1).decode("utf-8",
                                                                               "replace")))
            up["tail"] = window[-300:]
            if cut is not None and len(raw) == cut:
                return self.cut("fin")
        if "finalize" not in commands:
            return self.send_bytes(200, b"", "text/plain", {"X-Goog-Upload-Status": "active",
                                                           "X-Goog-Upload-Size-Received":
                                                               str(up["received"])})
        if up["declared"] is not None and up["declared"] != up["received"]:
            return self.send_bytes(400, (
                f"Finalized with {up['received']} bytes but {up['declared']} were declared.\n"
            ).encode(), "text/plain", {"X-Goog-Upload-Status": "active"})
        up["done"] = True
        merged = dict(up["content_behavior"])
        merged.update(up["behavior"])
        b = scope_behavior(Behavior(merged), "gemini")
        name = up["name"] or ""
        fid = name[len("files/"):] if name.startswith("files/") else \
            rand_id(random.Random(), 12, string.ascii_lowercase + string.digits)
        now = time.time()
        f = {
            "id": fid, "display_name": up["display_name"], "mime_type": up["mime_type"],
            "size": up["received"], "sha256": up["data"].hexdigest(),
            "create_time": now_rfc3339(now), "update_time": now_rfc3339(now),
            "expiration_time": now_rfc3339(now + 48 * 3600),
            "uri": f"{self.base_url()}/v1beta/files/{fid}", "state": "PROCESSING",
            "polls_left": b.int("polls", 2),
            "final_state": "FAILED" if b.get("file_state", "").upper() == "FAILED" else "ACTIVE",
        }
        with STATE_LOCK:
            FILES[fid] = f
            obj = self.file_object(f)
        self.send_bytes(200, (json.dumps({"file": obj}, indent=2) + "\n").encode(),
                        headers={"X-Goog-Upload-Status": "final"})

    def gemini_file(self, fid, query, raw):
        self._server_header = "ESF"
        body, b, rng = self.common_setup("gemini", raw)
        if self.gemini_refused(query, b, "files"):
            return
        with STATE_LOCK:
            f = FILES.get(fid)
            if f is not None and self.command == "GET":
                # polls=N: the first N GETs still see PROCESSING, later ones the final state.
                if f["state"] == "PROCESSING":
                    if f["polls_left"] > 0:
                        f["polls_left"] -= 1
                    else:
                        f["state"] = f["final_state"]
                        f["update_time"] = now_rfc3339()
                obj = self.file_object(f)
            elif f is not None:
                del FILES[fid]
                obj = {}
        if f is None:
            return self.gemini_send_error(403, gemini_error_obj(
                403, f"You do not have permission to access the File {fid} or it may not exist.",
                "PERMISSION_DENIED"), b)
        self.send_bytes(200, (json.dumps(obj, indent=2) + "\n").encode())
