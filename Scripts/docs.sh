#!/usr/bin/env bash
# Builds the DocC documentation of UDSKit into .build/docs (open .build/docs/index.html through a web server, or
# pass --output-path elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
swift package --disable-sandbox generate-documentation --target UDSKit --output-path "${1:-.build/docs}" \
    --transform-for-static-hosting
