#!/usr/bin/env python3
"""Proves the fake upstream (server.py) is faithful to the real provider APIs.

Starts `server.py --port 0` as a subprocess, then:

* points each provider's official Python SDK at it -- `openai` (Chat Completions streaming with
  include_usage), `google-genai` (generate_content_stream, Files API upload + polling) and
  `twelvelabs` (analyze_stream, indexes.videos.retrieve, assets.create/retrieve) -- and
  checks that the SDK reads exactly the text the fake meant to send, also under every write
  pattern (random splits at many seeds, splits inside UTF-8 sequences, one byte per write,
  coalesced events, filler lines), and that the SDK surfaces 429s, 5xx, bad keys, in-stream
  errors, cuts and stalls as errors;
* checks the raw wire bytes against the checklist in shared/reference/providers.md section 5
  (framing, field order, chunked transfer, terminators), and that each misbehaviour really
  happens on the wire (for example that split=utf8 ends HTTP chunks inside characters).

    python3 tools/fake_upstream/test_sdk_faithfulness.py [-v] [-k PATTERN]

Needs the three SDKs (tools/test-fakes.sh installs them). Ends with the line
`fakes: N passed, N failed` and exits 0 only when every test passed.

The tests themselves are in the package `faithfulness` next to this file (see its __init__.py);
this file puts them together into the test classes and runs them.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# harness first: it clears the developer's provider and proxy settings before any SDK is imported.
from faithfulness import harness  # noqa: E402
from faithfulness.gemini_sdk_tests import GeminiSDKCases  # noqa: E402
from faithfulness.openai_sdk_tests import OpenAISDKCases  # noqa: E402
from faithfulness.twelvelabs_asset_tests import TwelveLabsAssetCases  # noqa: E402
from faithfulness.twelvelabs_sdk_tests import TwelveLabsSDKCases  # noqa: E402
from faithfulness.wire_behavior_tests import WireBehaviorCases  # noqa: E402
from faithfulness.wire_shape_tests import WireShapeCases  # noqa: E402


# The TestCase classes are defined here, in the module that unittest loads and that holds
# setUpModule/tearDownModule: so one fake server serves the whole run, and the test names that
# -k matches and -v prints (`__main__.WireTests.test_...`) are the same as before the split.
setUpModule = harness.setUpModule
tearDownModule = harness.tearDownModule


class WireTests(WireShapeCases, WireBehaviorCases, unittest.TestCase):
    """The bytes on the wire, against providers.md section 5."""


class OpenAISDKTests(OpenAISDKCases, unittest.TestCase):
    pass


class GeminiSDKTests(GeminiSDKCases, unittest.TestCase):
    pass


class TwelveLabsSDKTests(TwelveLabsSDKCases, unittest.TestCase):
    pass


class TwelveLabsAssetTests(TwelveLabsAssetCases, unittest.TestCase):
    """Direct uploads (assets): the SDK's assets.create/retrieve, and a raw multipart upload."""


def versions():
    from importlib.metadata import version
    return ", ".join(f"{p} {version(p)}" for p in ("openai", "google-genai", "twelvelabs",
                                                   "httpx"))


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-k", dest="pattern", action="append", help="only tests matching")
    args = ap.parse_args()
    print(f"SDKs: {versions()}; Python {sys.version.split()[0]}", flush=True)
    loader = unittest.TestLoader()
    if args.pattern:
        loader.testNamePatterns = [f"*{p}*" for p in args.pattern]
    suite = loader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2 if args.verbose else 1).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"fakes: {result.testsRun - failed} passed, {failed} failed")
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
