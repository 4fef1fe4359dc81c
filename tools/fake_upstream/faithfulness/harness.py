"""The fake server process and what every faithfulness test shares: the SDKs' HTTP error types,
the server's base URL, request records, and the texts the fake sends by default.

setUpModule / tearDownModule are meant for test_sdk_faithfulness.py (the module of the test
classes), which runs them: one server for the whole run. Import this module before any SDK:
it clears the settings the SDKs would read.
"""

import json
import os
import subprocess
import sys
import urllib.request
import uuid

from fakeupstream.texts import DEFAULT_TEXT

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))    # tools/fake_upstream

# The SDKs read these; a developer's real settings must not leak into the test.
for _var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
             "GOOGLE_GEMINI_BASE_URL", "GEMINI_BASE_URL", "TWELVELABS_BASE_URL",
             "TWELVELABS_API_KEY", "TWELVE_LABS_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI",
             "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

import httpx  # noqa: E402
try:  # newer openai / google-genai releases talk through httpx2
    import httpx2  # noqa: E402
    HTTP_ERRORS = (httpx.HTTPError, httpx2.HTTPError)
    TIMEOUT_ERRORS = (httpx.TimeoutException, httpx2.TimeoutException)
except ImportError:  # pragma: no cover
    HTTP_ERRORS = (httpx.HTTPError,)
    TIMEOUT_ERRORS = (httpx.TimeoutException,)

PORT = None
SERVER = None
SEEDS = range(1, 21)
OPENAI_TEXT = DEFAULT_TEXT["openai"]
GEMINI_TEXT = DEFAULT_TEXT["gemini"]
PEGASUS_TEXT = DEFAULT_TEXT["pegasus"]
CUSTOM_TEXT = "Zoë's 日本 trip 🎌 — naïve café, 👨‍👩‍👧 family, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓ end."


def setUpModule():
    global PORT, SERVER
    SERVER = subprocess.Popen([sys.executable, os.path.join(HERE, "server.py"), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = SERVER.stdout.readline().strip()
    if not line.startswith("PORT "):
        SERVER.kill()
        raise RuntimeError(f"fake server did not print its port: {line!r} "
                           f"{SERVER.stderr.read()}")
    PORT = int(line.split()[1])


def tearDownModule():
    if SERVER is not None:
        SERVER.terminate()
        try:
            SERVER.wait(timeout=10)
        except subprocess.TimeoutExpired:
            SERVER.kill()
            SERVER.wait()


def base():
    return f"http://127.0.0.1:{PORT}"


def unique_key():
    return uuid.uuid4().hex[:12]


def fake_requests(tag):
    with urllib.request.urlopen(f"{base()}/_fake/requests?tag={tag}", timeout=10) as r:
        return json.loads(r.read())
