#!/usr/bin/env bash
# Installs the Debian packages Chorus needs: C libraries for protobuf-c, libcurl and jemalloc
# (chorusd's allocator), the protoc-c generator, pkg-config, ffmpeg (video frame sampling and
# stream downloads) and python3 (the fake upstream servers the provider tests run against). Skips
# apt when everything is already there.
set -euo pipefail
packages=(libprotobuf-c-dev protobuf-c-compiler libcurl4-openssl-dev libjemalloc-dev pkg-config ffmpeg python3)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
