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

# Varlink's peers: Go's implementation from Debian (GOPATH mode finds it in /usr/share/gocode) and the reference
# Python implementation from PyPI, whose certification program the varlink tests run.
if [[ ! -d /usr/share/gocode/src/github.com/varlink/go/varlink ]]; then
    echo "installing test peers (missing: golang-github-varlink-go-dev)" >&2
    sudo=()
    if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends golang-github-varlink-go-dev
fi
if ! python3 -c 'import varlink' >/dev/null 2>&1; then
    echo "installing test peers (missing: the Python varlink module)" >&2
    if ! python3 -m pip --version >/dev/null 2>&1; then
        sudo=()
        if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then sudo=(sudo); fi
        export DEBIAN_FRONTEND=noninteractive
        "${sudo[@]}" apt-get update
        "${sudo[@]}" apt-get install -y --no-install-recommends python3-pip
    fi
    # Debian's Python refuses pip installs outside a virtual environment unless told (PEP 668).
    python3 -m pip install --quiet varlink 2>/dev/null || python3 -m pip install --quiet --break-system-packages varlink
    python3 -c 'import varlink'
fi
