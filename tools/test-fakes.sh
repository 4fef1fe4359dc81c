#!/usr/bin/env bash
# Proves the fake upstream server (tools/fake_upstream/server.py) is faithful to the real provider
# APIs: points the official Python SDKs (PyPI openai, google-genai, twelvelabs) at it and checks
# that each reads exactly the text the fake meant to send, under every write pattern, and surfaces
# the error cases as errors; also checks the raw wire bytes against
# shared/reference/providers.md section 5.
#
#   tools/test-fakes.sh [-v] [-k PATTERN]...
#
# Installs the SDKs with pip when they are missing (or older than the floors below). Needs only
# the loopback interface: the fake listens on 127.0.0.1 on a free port and is stopped at the end.
# Last line: `fakes: N passed, N failed`; exit 0 only when all passed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "[test-fakes] $*"; }

# Floors: the SDK APIs the test uses (stream_options, genai.Client, TwelveLabs analyze_stream
# with `video`) exist from these versions on. Verified versions are listed in
# tools/fake_upstream/README.md.
requirements=("openai>=1.40" "google-genai>=1.0" "twelvelabs>=1.0")

missing="$(python3 - "${requirements[@]}" <<'EOF'
import re, sys
from importlib.metadata import version, PackageNotFoundError

def key(v):
    return [int(x) for x in re.findall(r"\d+", v)[:3]]

out = []
for spec in sys.argv[1:]:
    name, floor = spec.split(">=")
    try:
        if key(version(name)) < key(floor):
            out.append(spec)
    except PackageNotFoundError:
        out.append(spec)
print(" ".join(out))
EOF
)"
if [ -n "$missing" ]; then
  say "installing (pip): $missing"
  # shellcheck disable=SC2086
  python3 -m pip install --quiet --disable-pip-version-check $missing 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages $missing
fi

exec python3 tools/fake_upstream/test_sdk_faithfulness.py "$@"
