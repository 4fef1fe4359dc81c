#!/usr/bin/env bash
# Fails when the committed protoc-c output differs from a fresh generation.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/gen-proto.sh >/dev/null
if ! git diff --exit-code -- Sources/CChorusWireProto || [ -n "$(git status --porcelain -- Sources/CChorusWireProto)" ]; then
  echo "error: Sources/CChorusWireProto is out of date; run tools/gen-proto.sh and commit" >&2
  exit 1
fi
echo "generated code is up to date"
