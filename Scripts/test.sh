#!/usr/bin/env bash
# Builds UDSKit and runs its tests. Installs the interop peers (Go, socat, nc, python3) when they are missing.
#   Scripts/test.sh                          # every test
#   Scripts/test.sh --filter UDSKitInteropTests
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/install-test-peers.sh

if [[ -d /opt/swift/usr/bin ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

swift build --build-tests
swift test --skip-build "$@"

# The whole suite also proves the release binaries install as one file: built once, static and stripped
# (Scripts/build-release.sh, about 3.5 minutes on 2 cores), then run with the toolchain hidden.
if (($# == 0)); then Scripts/test-release.sh; fi
