#!/usr/bin/env bash
# Builds UDSKit and runs its tests, twice: with the reactor on epoll, then on the portable poll(2) selector
# (UDSKIT_SELECTOR=poll), so that the path other platforms take is tested here too. Installs the interop peers
# (Go, socat, nc, python3, …) when they are missing.
#   Scripts/test.sh                                   # every test, both selectors
#   Scripts/test.sh --filter UDSKitInteropTests       # some tests, both selectors
#   UDSKIT_SELECTOR=poll Scripts/test.sh              # one selector
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/install-test-peers.sh

if [[ -d /opt/swift/usr/bin ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

swift build --build-tests
selectors=("${UDSKIT_SELECTOR:-epoll}")
if [[ -z "${UDSKIT_SELECTOR:-}" ]]; then selectors=(epoll poll); fi
for selector in "${selectors[@]}"; do
    echo "== tests with the $selector selector" >&2
    UDSKIT_SELECTOR="$selector" swift test --skip-build "$@"
done

# The whole suite also proves the release binaries install as one file: built once, static and stripped
# (Scripts/build-release.sh, about 3.5 minutes on 2 cores), then run with the toolchain hidden.
if (($# == 0)); then Scripts/test-release.sh; fi
