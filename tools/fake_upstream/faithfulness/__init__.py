"""The faithfulness test's modules; `tools/fake_upstream/test_sdk_faithfulness.py` runs them.

  harness.py               the fake server process (one per run), the SDK error types, shared
                           helpers and texts
  raw_http.py              a socket client that keeps HTTP chunk boundaries, request bodies and
                           headers for the wire tests
  wire_shape_tests.py      the bytes of normal answers, against providers.md section 5
  wire_behavior_tests.py   each misbehaviour on the wire, errors, keys, records, media
  openai_sdk_tests.py      the `openai` SDK against the fake
  gemini_sdk_tests.py      the `google-genai` SDK, Files API included
  twelvelabs_sdk_tests.py  the `twelvelabs` SDK, video retrieval included
  twelvelabs_asset_tests.py  TwelveLabs direct uploads (assets): the SDK's assets.create /
                           retrieve, analyze with an asset id, a raw multipart upload's record

The modules hold mixins (`...Cases`); test_sdk_faithfulness.py turns them into the TestCase
classes, so that the test names and the one server per run stay as they were.
"""
