#!/usr/bin/env bash
# Proves that the release binaries install as one file each: with the Swift toolchain out of reach (a private mount
# namespace, `unshare -m`, with an empty tmpfs mounted over the toolchain's directory), `uds --help` runs, and so does
# a real exchange: `uds serve` and `uds-bench server` each answer `uds send`, and `uds-bench client` loads one.
#   Scripts/test-release.sh          # builds them first with Scripts/build-release.sh
#   Scripts/test-release.sh DIR      # tests DIR/uds and DIR/uds-bench
# Needs root or unprivileged user namespaces (then `unshare -r -m`). Exit 0 when every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -d /opt/swift/usr/bin ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

if (($# > 0)); then
    dir="$1"
else
    dir=$(dirname "$(Scripts/build-release.sh | grep '/uds$')")
fi
[[ -x "$dir/uds" && -x "$dir/uds-bench" ]] || { echo "test-release: no uds and uds-bench in $dir" >&2; exit 1; }
dir=$(cd "$dir" && pwd)

# The toolchain: where `swift` comes from (/opt/swift for /opt/swift/usr/bin/swift).
swift=$(readlink -f "$(command -v swift)")
toolchain=${swift%/usr/bin/*}
[[ -d "$toolchain/usr/lib/swift" ]] || { echo "test-release: no toolchain found at $toolchain" >&2; exit 1; }
case "$dir" in "$toolchain"/*) echo "test-release: the binaries are inside the toolchain ($toolchain)" >&2; exit 1 ;; esac

if [[ $(id -u) -eq 0 ]]; then isolate=(unshare -m); else isolate=(unshare -r -m); fi
echo "== $dir/uds and $dir/uds-bench with $toolchain hidden (${isolate[*]})"
exec "${isolate[@]}" env -i PATH=/usr/bin:/bin HOME=/nonexistent TOOLCHAIN="$toolchain" BIN="$dir" bash -euo pipefail -c '
    mount -t tmpfs -o size=1m,mode=0755 none "$TOOLCHAIN"
    fail() { echo "test-release: FAILED: $*" >&2; exit 1; }
    [[ -z "$(ls -A "$TOOLCHAIN")" ]] || fail "$TOOLCHAIN is still visible"
    uds="$BIN/uds" bench="$BIN/uds-bench"
    for binary in "$uds" "$bench"; do
        if ldd "$binary" | grep -E "libswift|Foundation|dispatch|not found"; then fail "$binary needs the libraries above"; fi
    done
    work=$(mktemp -d /tmp/uds-test-release.XXXXXX)
    pids=()
    trap "kill -KILL \${pids[*]} 2>/dev/null || true; rm -rf $work" EXIT
    started() {  # waits until a server accepts on $1
        for _ in $(seq 500); do "$uds" probe "$1" >/dev/null 2>&1 && return 0; sleep 0.01; done
        fail "no server started on $1"
    }
    stopped() {  # SIGTERM to $1, then its exit status must be 0
        kill -TERM "$1"
        wait "$1" || fail "the server (pid $1) exited $? after SIGTERM"
    }

    "$uds" --help | grep -q "^USAGE: uds" || fail "uds --help"
    "$bench" --help >/dev/null || fail "uds-bench --help"
    echo "ok: uds --help, uds-bench --help"

    "$uds" serve "$work/serve.sock" --quiet &
    pids+=($!)
    started "$work/serve.sock"
    [[ "$("$uds" send "$work/serve.sock" hello)" == 5 ]] || fail "uds send to uds serve"
    [[ "$(printf "one\ntwo three\n" | "$uds" send "$work/serve.sock")" == 14 ]] || fail "uds send of standard input"
    stopped "${pids[-1]}"
    [[ ! -e "$work/serve.sock" ]] || fail "uds serve left its socket file behind"
    echo "ok: uds serve answered uds send, and exited 0 on SIGTERM"

    "$bench" server --protocol eof --socket "$work/bench.sock" &
    pids+=($!)
    started "$work/bench.sock"
    [[ "$("$uds" send "$work/bench.sock" hello)" == 5 ]] || fail "uds send to uds-bench server"
    result=$("$bench" client --scenario oneshot --socket "$work/bench.sock" --count 200 --size 100 --concurrency 2 | tail -1)
    [[ "$result" == "RESULT scenario=oneshot count=200 "* ]] || fail "uds-bench client: $result"
    stopped "${pids[-1]}"
    echo "ok: uds-bench server answered uds send and uds-bench client, and exited 0 on SIGTERM"
'
