#!/usr/bin/env bash
# Regenerates Sources/TickerGRPC from proto/ticker.proto with Debian's protoc and the two Swift
# plugins built from the pinned swift-protobuf and grpc-swift-protobuf. The output is committed;
# run this only after editing the .proto or bumping those packages.
#
# Not the SwiftPM build plugin: it builds protoc's C++ from source (~10 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v protoc >/dev/null; then
    echo "gen-grpc.sh: installing protobuf-compiler (protoc)" >&2
    if [ "$(id -u)" -eq 0 ]; then apt-get install -y protobuf-compiler; else sudo apt-get install -y protobuf-compiler; fi
fi

scratch=.build-plugins
swift build -c release --scratch-path "$scratch" --product protoc-gen-swift
swift build -c release --scratch-path "$scratch" --product protoc-gen-grpc-swift-2
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)"

out=Sources/TickerGRPC
rm -f "$out"/*.pb.swift "$out"/*.grpc.swift
protoc \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" \
    --proto_path=proto \
    --swift_out="$out" --swift_opt=Visibility=Public \
    --grpc-swift_out="$out" --grpc-swift_opt=Visibility=Public,Server=true,Client=true \
    ticker.proto
echo "gen-grpc.sh: $(protoc --version); wrote $(ls "$out"/*.swift | tr '\n' ' ')"
