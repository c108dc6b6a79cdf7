#!/usr/bin/env bash
# Formats the Swift sources with swift-format (configured in .swift-format), then lints them strictly.
#   Scripts/format.sh          # format in place, then lint
#   Scripts/format.sh --lint   # lint only (CI): fails on any finding, changes nothing
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -d /opt/swift/usr/bin ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
paths=(Package.swift Sources Tests Examples)
if [[ ${1:-} != --lint ]]; then
    swift format format --in-place --recursive --parallel "${paths[@]}"
fi
swift format lint --strict --recursive --parallel "${paths[@]}"
echo "format.sh: lint clean" >&2
