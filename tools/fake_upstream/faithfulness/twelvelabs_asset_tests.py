"""TwelveLabs direct uploads ("assets") against the fake: the official SDK's assets.create /
assets.retrieve (processing -> ready | failed) / assets.delete, errors, analyze_stream with an asset id, and a
raw multipart upload whose request record carries the file's size and SHA-256."""

import hashlib
import json
import os
import re
import tempfile
import urllib.request

import twelvelabs
from twelvelabs.core.api_error import ApiError as TLApiError

from .harness import PEGASUS_TEXT, base, fake_requests, unique_key
from .raw_http import TL_HEADERS, raw_request
from .twelvelabs_sdk_tests import TL_HAS_VIDEO_OBJECT, tl_client, tl_stream

CLIP = bytes(range(256)) * 40 + b"fake mp4 payload"


def behave(spec):
    return {"max_retries": 0, "additional_headers": {"X-Fake-Behavior": spec}}


def multipart(fields, file_name=None, content=None, content_type="video/mp4"):
    boundary = "fakeBoundary" + unique_key()
    out = []
    for name, value in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   f'{value}\r\n'.encode())
    if content is not None:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                   f'filename="{file_name}"\r\nContent-Type: {content_type}\r\n\r\n'.encode())
        out.append(content)
        out.append(b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


class TwelveLabsAssetCases:
    """TwelveLabsAssetTests mixin."""

    def setUp(self):
        self.client = tl_client()
        if not TL_HAS_VIDEO_OBJECT or not hasattr(self.client, "assets"):
            self.skipTest("this twelvelabs SDK has no assets API")
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.clip = os.path.join(self.tmp.name, "clip.mp4")
        with open(self.clip, "wb") as fh:
            fh.write(CLIP)

    def create(self, spec=None, **kwargs):
        kwargs.setdefault("method", "direct")
        if kwargs["method"] == "direct" and "file" not in kwargs:
            kwargs["file"] = open(self.clip, "rb")       # noqa: SIM115 (closed below)
        try:
            return self.client.assets.create(request_options=behave(spec or ""), **kwargs)
        finally:
            if hasattr(kwargs.get("file"), "close"):
                kwargs["file"].close()

    def test_asset_create_polls_to_ready_and_analyze(self):
        tag = unique_key()
        a = self.create(f"tag={tag}")
        self.assertRegex(a.id, r"^[0-9a-f]{24}$")
        self.assertEqual((a.method, a.status, a.filename, a.file_type),
                         ("direct", "processing", "clip.mp4", "video/mp4"))
        self.assertIsNotNone(a.created_at.tzinfo)
        rec = fake_requests(tag)[0]
        self.assertEqual((rec["status"], rec["asset_id"]), (201, a.id))
        self.assertEqual((rec["file_bytes"], rec["file_sha256"]),
                         (len(CLIP), hashlib.sha256(CLIP).hexdigest()))
        self.assertEqual(rec["form"], {"method": "direct"})
        with self.assertRaises(twelvelabs.BadRequestError) as cm:     # not ready yet
            tl_stream(video={"type": "asset_id", "asset_id": a.id})
        self.assertEqual(cm.exception.body["code"], "parameter_invalid")
        self.assertIn("not ready", cm.exception.body["message"])
        d = self.client.assets.retrieve(a.id)
        self.assertEqual((d.id, d.status, d.filename), (a.id, "processing", "clip.mp4"))
        self.assertIsNone(d.technical_metadata)
        d = self.client.assets.retrieve(a.id)
        self.assertEqual(d.status, "ready")
        self.assertEqual((d.size, d.technical_metadata.file_size_bytes), (len(CLIP), len(CLIP)))
        self.assertGreater(d.duration, 0)
        self.assertEqual(d.hls.status, "ready")
        self.assertTrue(d.hls.manifest_url.startswith(base() + "/media/"))
        self.assertEqual(self.client.assets.retrieve(a.id).status, "ready")
        out = tl_stream(video={"type": "asset_id", "asset_id": a.id})
        self.assertEqual(out["text"], PEGASUS_TEXT)
        self.assertEqual(out["events"][-1], "stream_end")

    def test_asset_delete(self):
        tag = unique_key()
        a = self.create(f"tag={tag};asset_polls=0")
        self.assertEqual(self.client.assets.retrieve(a.id).status, "ready")
        self.assertIsNone(self.client.assets.delete(a.id, request_options=behave(f"tag={tag}")))
        rec = [r for r in fake_requests(tag) if r["method"] == "DELETE"]
        self.assertEqual((len(rec), rec[0]["status"], rec[0]["path"]), (1, 204, f"/v1.3/assets/{a.id}"))
        with self.assertRaises(twelvelabs.NotFoundError):
            self.client.assets.retrieve(a.id)
        # Deleted already: the SDK's delete maps only 400 and 409 to classes, a 404 is an ApiError.
        with self.assertRaises(TLApiError) as cm:
            self.client.assets.delete(a.id)
        self.assertEqual((cm.exception.status_code, cm.exception.body["code"]), (404, "resource_not_exist"))
        # raw: 204 with neither a body nor a Content-Length
        b = self.create(f"tag={tag};asset_polls=0")
        r = raw_request("DELETE", f"/v1.3/assets/{b.id}", None, TL_HEADERS)
        self.assertEqual((r.status, b"".join(r.chunks)), (204, b""))
        self.assertNotIn("content-length", r.headers)

    def test_asset_polls_zero_filename_metadata_and_url(self):
        a = self.create("asset_polls=0", filename="Named clip.mp4", enable_hls=False,
                        user_metadata=json.dumps({"case": "c-1", "tags": ["a", "b"]}))
        self.assertEqual((a.status, a.filename), ("processing", "Named clip.mp4"))
        self.assertEqual(a.user_metadata, {"case": "c-1", "tags": ["a", "b"]})
        # usable at once, before any retrieval
        self.assertEqual(tl_stream(video={"type": "asset_id", "asset_id": a.id})["text"],
                         PEGASUS_TEXT)
        d = self.client.assets.retrieve(a.id)
        self.assertEqual(d.status, "ready")
        self.assertIsNone(d.hls)
        u = self.create(method="url", url="https://example.invalid/media/talk.mov")
        self.assertEqual((u.method, u.filename, u.file_type),
                         ("url", "talk.mov", "video/quicktime"))

    def test_asset_fail(self):
        a = self.create("asset_fail")
        self.assertEqual(self.client.assets.retrieve(a.id).status, "processing")
        d = self.client.assets.retrieve(a.id)
        self.assertEqual(d.status, "failed")
        self.assertIn("could not be processed", d.error.message)
        self.assertIsNone(d.size)
        # a marker in user_metadata works too
        a = self.create(user_metadata=json.dumps({"note": "[fake:asset_fail;asset_polls=0]"}))
        self.assertEqual(self.client.assets.retrieve(a.id).status, "failed")
        with self.assertRaises(twelvelabs.BadRequestError) as cm:
            tl_stream(video={"type": "asset_id", "asset_id": a.id})
        self.assertIn("failed", cm.exception.body["message"])

    def test_asset_errors(self):
        with self.assertRaises(twelvelabs.NotFoundError) as cm:
            self.client.assets.retrieve("0123456789abcdef01234567")
        self.assertEqual(cm.exception.body["code"], "resource_not_exist")
        self.assertIn("does not exist in assets", cm.exception.body["message"])
        bad = tl_client(key="bad-key")
        for call in (lambda: bad.assets.retrieve("0123456789abcdef01234567"),
                     lambda: bad.assets.create(method="direct", file=CLIP)):
            with self.assertRaises(TLApiError) as cm:
                call()
            self.assertEqual((cm.exception.status_code, cm.exception.body["code"]),
                             (401, "api_key_invalid"))
        with self.assertRaises(twelvelabs.BadRequestError) as cm:
            self.create(f"asset_max_bytes={len(CLIP) - 1}")
        self.assertEqual(cm.exception.body["code"], "parameter_invalid")
        self.assertIn(f"limit of {len(CLIP) - 1} bytes", cm.exception.body["message"])
        self.assertEqual(self.create(f"asset_max_bytes={len(CLIP)}").status, "processing")
        for kwargs, code in (({"file": ("empty.mp4", b"", "video/mp4")}, "parameter_invalid"),
                             ({"method": "url"}, "parameter_not_provided"),
                             ({"method": "direct", "file": None}, "parameter_not_provided"),
                             ({"method": "upload"}, "parameter_invalid")):
            with self.subTest(kwargs=kwargs), self.assertRaises(twelvelabs.BadRequestError) as cm:
                self.create(**kwargs)
            self.assertEqual(cm.exception.body["code"], code)
        with self.assertRaises(TLApiError) as cm:
            self.create("status=503")
        self.assertEqual(cm.exception.status_code, 503)

    def test_asset_raw_upload_record_has_size_and_sha256(self):
        # 30 MB of known bytes, with a marker at the very end of the file
        content = hashlib.sha256(b"seed").digest() * (30 * 1000 * 1000 // 32)
        content += b"[fake:asset_polls=0]"
        tag = unique_key()
        body, ctype = multipart({"method": "direct", "filename": f"[fake:tag={tag}]big.mp4"},
                                "big.bin", content, "application/octet-stream")
        r = raw_request("POST", "/v1.3/assets", body, dict(TL_HEADERS, **{
            "Content-Type": ctype}), timeout=60)
        self.assertEqual(r.status, 201, r.body[:300])
        asset = json.loads(r.body)
        self.assertEqual((asset["filename"], asset["file_type"]),
                         (f"[fake:tag={tag}]big.mp4", "video/mp4"))
        with urllib.request.urlopen(f"{base()}/_fake/requests?tag={tag}", timeout=10) as resp:
            raw_records = resp.read()
        self.assertLess(len(raw_records), 10000)       # no file bytes (or base64) in records
        rec = json.loads(raw_records)[0]
        self.assertEqual(rec["file_bytes"], len(content))
        self.assertEqual(rec["file_sha256"], hashlib.sha256(content).hexdigest())
        self.assertEqual((rec["asset_id"], rec["file_name"], rec["body_bytes"]),
                         (asset["_id"], "big.bin", len(body)))
        self.assertNotIn("json", rec)
        # the marker at the end of the uploaded bytes made the asset ready at once
        r = raw_request("GET", f"/v1.3/assets/{asset['_id']}", None, TL_HEADERS)
        detail = json.loads(r.body)
        self.assertEqual((r.status, detail["status"], detail["size"]),
                         (200, "ready", len(content)))
        self.assertTrue(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", detail["created_at"]))
