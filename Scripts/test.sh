#!/usr/bin/env bash
# Builds UDSKit and runs its tests. Installs the interop peers (Go, socat, nc, python3) when they are missing.
#   Scripts/test.sh                          # every test
#   Scripts/test.sh --filter UDSKitInteropTests
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in go socat nc prlimit python3; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]} > 0)); then
    echo "test.sh: installing test peers (missing: ${missing[*]})" >&2
    sudo=()
    if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends golang-go socat netcat-openbsd util-linux python3
fi

if [[ -d /opt/swift/usr/bin ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

swift build --build-tests
swift test --skip-build "$@"
