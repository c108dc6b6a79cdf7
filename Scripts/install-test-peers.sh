#!/usr/bin/env bash
# Installs the programs the tests drive (Go, socat, netcat-openbsd, util-linux's prlimit and setpriv, Python 3) from
# Debian's packages when one is missing. Sourced or run by Scripts/test.sh and Scripts/sanitizers.sh.
set -euo pipefail
missing=()
for tool in go socat nc prlimit setpriv python3; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]} > 0)); then
    echo "installing test peers (missing: ${missing[*]})" >&2
    sudo=()
    if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends golang-go socat netcat-openbsd util-linux python3
fi
