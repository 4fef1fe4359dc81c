#!/usr/bin/env bash
# Headless-browser test of the web page that chorusd's HTTP bridge serves at `/`.
#
#   tools/browser-test.sh [--screenshot-dir DIR]        (default DIR: artifacts/browser)
#
# Installs what is missing (Debian chromium + chromium-driver, PyPI selenium), builds, starts
# chorusd on the built-in demo registry with the bridge on a free loopback port (its stderr goes to
# DIR/chorusd.log), runs tools/browser_test.py against it, stops chorusd, and checks in the log that
# the server saw the call the page stopped as cancelled (`outcome=cancelled`). Screenshots land in
# DIR: completed.png, stopped.png, failed-model.png, narrow.png (and failure.png when a check fails).
set -euo pipefail
cd "$(dirname "$0")/.."

screenshots="artifacts/browser"
while [ $# -gt 0 ]; do
  case "$1" in
    --screenshot-dir) screenshots="$2"; shift 2 ;;
    --screenshot-dir=*) screenshots="${1#*=}"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "browser-test: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$screenshots"
log="$screenshots/chorusd.log"

say() { echo "[browser-test] $*"; }

# --- what the test needs ----------------------------------------------------------------------
tools/bootstrap.sh
missing=()
for package in chromium chromium-driver; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! python3 -c 'import selenium' 2>/dev/null; then
  say "installing: selenium (pip)"
  python3 -m pip install --quiet selenium 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages selenium
fi

# --- build and start chorusd --------------------------------------------------------------------
swift build
bin="$(swift build --show-bin-path)"

read -r rpc_port http_port < <(tools/free-ports.sh 2 | xargs)
url="http://127.0.0.1:$http_port"

say "starting chorusd (RPC 127.0.0.1:$rpc_port, HTTP $url), log $log"
"$bin/chorusd" --rpc-address "127.0.0.1:$rpc_port" --http-address "127.0.0.1:$http_port" 2>"$log" &
server=$!
stop_server() {
  if kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server" 2>/dev/null || true
  fi
  wait "$server" 2>/dev/null || true
}
trap stop_server EXIT

ready=""
for _ in $(seq 1 150); do
  if ! kill -0 "$server" 2>/dev/null; then
    echo "[browser-test] FAIL: chorusd exited during startup; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  if python3 -c "import sys, urllib.request; urllib.request.urlopen('$url/api/models', timeout=1); sys.exit(0)" 2>/dev/null; then
    ready=yes
    break
  fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "[browser-test] FAIL: the bridge did not answer on $url within 30 s; chorusd's log:" >&2
  cat "$log" >&2
  exit 1
fi

# --- the browser checks ---------------------------------------------------------------------------
status=0
python3 tools/browser_test.py --url "$url" --screenshot-dir "$screenshots" || status=$?

# Stop the server (it drains and writes every call's log line), then read what it saw.
stop_server
trap - EXIT
if [ "$status" -ne 0 ]; then
  echo "[browser-test] FAIL: the browser checks failed (exit $status); chorusd's log is $log" >&2
  exit "$status"
fi
cancelled="$(grep -c 'outcome=cancelled' "$log" || true)"
completed="$(grep -c 'outcome=ok' "$log" || true)"
say "chorusd log: $completed call(s) with outcome=ok, $cancelled with outcome=cancelled"
if [ "$cancelled" -lt 1 ]; then
  echo "[browser-test] FAIL: chorusd never logged a call with outcome=cancelled after Stop; its log:" >&2
  grep 'outcome=' "$log" >&2 || cat "$log" >&2
  exit 1
fi
if [ "$completed" -lt 1 ]; then
  echo "[browser-test] FAIL: chorusd logged no call with outcome=ok; its log:" >&2
  grep 'outcome=' "$log" >&2 || cat "$log" >&2
  exit 1
fi
say "PASS: screenshots in $screenshots/"
