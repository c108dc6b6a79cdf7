#!/usr/bin/env bash
# Varlink calls per second: UDSKit's varlink server (Examples/VarlinkPing) against Go's (github.com/varlink/go) and
# Python's (PyPI varlink) serving the same org.example.ping, driven by one client for all, the Go peer in
# Tests/UDSVarlinkTests/Peers/govarlink: org.example.ping.Ping awaited one call at a time, and pipelined (100 calls
# written before their replies are read). The same loop with UDSKit's length-prefixed frames against
# `uds serve --framed --quiet --reply echo` gives UDSKit's own framed request/reply rate as the baseline.
#
#   Scripts/bench-varlink.sh                 # 50,000 calls a run, median of 3, server and client on CPU 0
#   CALLS=200000 RUNS=5 PIN=none Scripts/bench-varlink.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS=${CALLS:-50000}
RUNS=${RUNS:-3}
PIN=${PIN:-0}

Scripts/install-test-peers.sh
if [[ -d /opt/swift/usr/bin ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
swift build -c release --product varlink-ping >&2
swift build -c release --product uds >&2
bin=$(swift build -c release --show-bin-path)

work=$(mktemp -d /tmp/bench-varlink.XXXXXX)
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

(cd Tests/UDSVarlinkTests/Peers/govarlink &&
    GO111MODULE=off GOPATH="$work/gopath:/usr/share/gocode" GOCACHE="${TMPDIR:-/tmp}/udskit-interop-gocache" GOFLAGS= \
        go build -o "$work/govarlink" .)

pin=()
if [[ $PIN != none ]]; then pin=(taskset -c "$PIN"); fi

# start NAME SOCKET COMMAND…: starts a server and waits for its socket.
start() {
    local socket=$2
    shift 2
    "${pin[@]}" "$@" >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do [[ -S $socket ]] && return; sleep 0.05; done
    echo "the server did not start: $(cat "$work/server.log")" >&2
    exit 1
}
stop() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

# rate MODE BENCH ADDRESS: the median calls/s of RUNS runs.
rate() {
    local runs=()
    for _ in $(seq "$RUNS"); do runs+=("$("${pin[@]}" "$work/govarlink" "$2" -address "$3" -calls "$CALLS" -mode "$1")"); done
    printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}

declare -A results
measure() {  # NAME BENCH ADDRESS
    results[$1,awaited]=$(rate awaited "$2" "$3")
    results[$1,pipelined]=$(rate pipelined "$2" "$3")
}

start udskit "$work/udskit.sock" "$bin/varlink-ping" "unix:$work/udskit.sock"
measure udskit bench "unix:$work/udskit.sock"
stop
start go "$work/go.sock" "$work/govarlink" server -address "unix:$work/go.sock"
measure go bench "unix:$work/go.sock"
stop
start python "$work/python.sock" python3 Tests/UDSVarlinkTests/Peers/python/ping_server.py "unix:$work/python.sock"
measure python bench "unix:$work/python.sock"
stop
start framed "$work/framed.sock" "$bin/uds" serve "$work/framed.sock" --framed --quiet --reply echo
measure framed framedbench "$work/framed.sock"
stop

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
echo "varlink org.example.ping.Ping, $CALLS calls a run, median of $RUNS, pinned to CPU $PIN; client: the Go peer"
echo
echo "| server | awaited calls/s | pipelined calls/s | awaited vs Go | pipelined vs Go |"
echo "|---|---|---|---|---|"
for name in udskit go python framed; do
    label=$name
    case $name in
    udskit) label="UDSKit varlink (varlink-ping)" ;;
    go) label="Go varlink (github.com/varlink/go)" ;;
    python) label="Python varlink (PyPI, ThreadingServer)" ;;
    framed) label="UDSKit framed echo (baseline, not varlink)" ;;
    esac
    echo "| $label | ${results[$name,awaited]} | ${results[$name,pipelined]} |" \
        "$(ratio "${results[$name,awaited]}" "${results[go,awaited]}") |" \
        "$(ratio "${results[$name,pipelined]}" "${results[go,pipelined]}") |"
done
echo
echo "UDSKit varlink against UDSKit framed: awaited $(ratio "${results[udskit,awaited]}" "${results[framed,awaited]}")," \
    "pipelined $(ratio "${results[udskit,pipelined]}" "${results[framed,pipelined]}")"
