#!/usr/bin/env bash
# Regenerates the protoc-c output committed under Sources/CChorusWireProto from
# proto/chorus/v1/*.proto. Needs protobuf-c-compiler (protoc-c).
set -euo pipefail
cd "$(dirname "$0")/.."
out=Sources/CChorusWireProto
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
protoc-c --proto_path=proto --c_out="$tmp" proto/chorus/v1/*.proto
mkdir -p "$out/include/chorus/v1"
for f in "$tmp"/chorus/v1/*.pb-c.h; do cp "$f" "$out/include/chorus/v1/"; done
for f in "$tmp"/chorus/v1/*.pb-c.c; do cp "$f" "$out/"; done
# The generated .c files include "chorus/v1/x.pb-c.h", which resolves through include/.
# A hand-written module map: SwiftPM's synthesized one cannot have subdirectories next to an umbrella header.
cat > "$out/include/module.modulemap" <<'H'
module CChorusWireProto {
    header "chorus/v1/frames.pb-c.h"
    header "chorus/v1/chorus.pb-c.h"
    export *
}
H
echo "generated $(ls "$out"/*.c | wc -l) C files into $out"
