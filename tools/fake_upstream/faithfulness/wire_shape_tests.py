"""Wire tests, part 1: each provider's normal answer as bytes, against the checklist in
shared/reference/providers.md section 5 (framing, compact JSON, field order, chunked transfer,
terminators)."""

import json

from .harness import GEMINI_TEXT, OPENAI_TEXT, PEGASUS_TEXT
from .raw_http import (GM_BODY, GM_HEADERS, GM_PATH, OA_HEADERS, TL_BODY, TL_HEADERS,
                       openai_body, raw_request, sse_events)


class WireShapeCases:
    """WireTests mixin: normal answers on the wire."""

    def test_openai_stream_shape(self):
        r = raw_request("POST", "/v1/chat/completions", openai_body(), OA_HEADERS)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        self.assertEqual(r.headers["content-type"], "text/event-stream; charset=utf-8")
        self.assertEqual(r.headers["transfer-encoding"], "chunked")
        self.assertNotIn("content-length", r.headers)
        for h in ("x-request-id", "x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
                  "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
                  "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
            self.assertIn(h, r.headers)
        events = sse_events(r.body, b"\n\n")
        self.assertEqual(events[-1], b"data: [DONE]")
        objs = []
        for e in events[:-1]:
            self.assertTrue(e.startswith(b"data: {"), e)
            self.assertNotIn(b"\n", e)
            payload = e[len(b"data: "):]
            obj = json.loads(payload)
            # compact JSON: re-encoding without spaces gives the same bytes
            self.assertEqual(payload, json.dumps(obj, ensure_ascii=False,
                                                 separators=(",", ":")).encode())
            objs.append(obj)
        self.assertEqual(len({o["id"] for o in objs}), 1)
        self.assertEqual(len({o["created"] for o in objs}), 1)
        self.assertTrue(all(o["object"] == "chat.completion.chunk" for o in objs))
        self.assertTrue(all("obfuscation" in o for o in objs))
        self.assertEqual(objs[0]["choices"][0]["delta"], {"role": "assistant", "content": "",
                                                          "refusal": None})
        content = objs[1:-2]
        self.assertTrue(content)
        for o in content:
            self.assertIsNone(o["choices"][0]["finish_reason"])
            self.assertEqual(list(o["choices"][0]["delta"]), ["content"])
        self.assertEqual("".join(o["choices"][0]["delta"]["content"] for o in content),
                         OPENAI_TEXT)
        self.assertEqual(objs[-2]["choices"][0]["delta"], {})
        self.assertEqual(objs[-2]["choices"][0]["finish_reason"], "stop")
        self.assertEqual(objs[-1]["choices"], [])
        self.assertEqual(objs[-1]["usage"]["completion_tokens"], len(content))
        self.assertTrue(all(o["usage"] is None for o in objs[:-1]))

    def test_openai_without_include_usage_or_obfuscation(self):
        body = openai_body(usage=False)
        body["stream_options"] = {"include_obfuscation": False}
        r = raw_request("POST", "/v1/chat/completions", body, OA_HEADERS)
        objs = [json.loads(e[6:]) for e in sse_events(r.body, b"\n\n")[:-1]]
        self.assertTrue(all("usage" not in o and "obfuscation" not in o for o in objs))
        self.assertTrue(all(o["choices"] for o in objs))

    def test_gemini_stream_shape(self):
        r = raw_request("POST", GM_PATH, GM_BODY, GM_HEADERS)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        self.assertEqual(r.headers["content-type"], "text/event-stream")
        self.assertNotIn("content-length", r.headers)
        self.assertNotIn(b"[DONE]", r.body)
        events = sse_events(r.body, b"\r\n\r\n")
        objs = []
        for e in events:
            self.assertTrue(e.startswith(b"data: {"), e)
            self.assertNotIn(b"\n", e)
            payload = e[len(b"data: "):]
            obj = json.loads(payload)
            self.assertEqual(payload, json.dumps(obj, ensure_ascii=False,
                                                 separators=(",", ": ")).encode())
            objs.append(obj)
        first_parts = objs[0]["candidates"][0]["content"]["parts"]
        self.assertTrue(first_parts[0].get("thought"))
        text, last_total = "", 0
        for i, o in enumerate(objs):
            cand = o["candidates"][0]
            self.assertEqual(cand["content"]["role"], "model")
            self.assertEqual(cand["index"], 0)
            self.assertIn("modelVersion", o)
            self.assertIn("responseId", o)
            u = o["usageMetadata"]
            self.assertGreaterEqual(u["totalTokenCount"], last_total)
            last_total = u["totalTokenCount"]
            self.assertEqual("finishReason" in cand, i == len(objs) - 1)
            text += "".join(p["text"] for p in cand["content"]["parts"] if not p.get("thought"))
        self.assertEqual(objs[-1]["candidates"][0]["finishReason"], "STOP")
        self.assertEqual(text, GEMINI_TEXT)
        self.assertEqual(len({o["responseId"] for o in objs}), 1)

    def test_gemini_without_alt_sse_is_a_json_array(self):
        r = raw_request("POST", GM_PATH.split("?")[0], GM_BODY, GM_HEADERS)
        arr = json.loads(r.body)
        self.assertIsInstance(arr, list)
        text = "".join(p["text"] for o in arr for p in o["candidates"][0]["content"]["parts"]
                       if not p.get("thought"))
        self.assertEqual(text, GEMINI_TEXT)

    def test_twelvelabs_stream_shape(self):
        r = raw_request("POST", "/v1.3/analyze", TL_BODY, TL_HEADERS)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        self.assertEqual(r.headers["content-type"], "application/x-ndjson")
        self.assertTrue(r.body.endswith(b"\n"))
        lines = r.body[:-1].split(b"\n")
        objs = [json.loads(ln) for ln in lines]
        kinds = [o["event_type"] for o in objs]
        self.assertEqual(kinds[0], "stream_start")
        self.assertEqual(kinds[-1], "stream_end")
        self.assertEqual(kinds.count("stream_start"), 1)
        self.assertEqual(kinds.count("stream_end"), 1)
        self.assertTrue(all(k == "text_generation" for k in kinds[1:-1]))
        self.assertEqual("".join(o["text"] for o in objs[1:-1]), PEGASUS_TEXT)
        end = objs[-1]
        self.assertEqual(end["finish_reason"], "stop")
        self.assertEqual(end["metadata"]["generation_id"], objs[0]["metadata"]["generation_id"])
        self.assertIn("output_tokens", end["metadata"]["usage"])
