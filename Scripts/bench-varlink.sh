#!/usr/bin/env bash
# Varlink calls per second: UDSKit's varlink server (Examples/VarlinkPing) against Go's (github.com/varlink/go) and
# Python's (PyPI varlink) serving the same org.example.ping, and UDSKit's own framed request/reply as the baselines:
# `varlink-ping framed-echo` (a framed request handler on the event loop, as the varlink server's run: the same
# machinery without JSON) and `uds serve --framed --quiet --reply echo` (answered on the loop, no handler); and
# varlink-limit (Tests/UDSVarlinkTests/Peers/load/varlink-limit.c), the least a server can do per call in C (blocking
# reads on one connection, no parser), as the limit. All in one run, driven by the same clients:
#
# - varlink-load (Tests/UDSVarlinkTests/Peers/load/varlink-load.c), a C client with raw socket writes that costs little
#   per call, so that the rows measure servers: awaited (one call written, its reply read, repeat) and pipelined (a
#   window of 100, and of 1000, calls written in one write, then their replies read); every reply checked. Against
#   the framed echo it sends the same call text as a length-prefixed frame.
# - the Go peer (Tests/UDSVarlinkTests/Peers/govarlink, github.com/varlink/go's Connection.Send, one write per call),
#   awaited and pipelined (100): a client library's view, which caps what a fast server can show.
#
#   Scripts/bench-varlink.sh                 # 50,000 calls a run, median of 3, server and client on CPU 0
#   CALLS=200000 RUNS=5 PIN=none Scripts/bench-varlink.sh
#   VARLINK_PING=/tmp/old/varlink-ping Scripts/bench-varlink.sh    # another build's varlink server in the first row
#   BASELINE_PING=/tmp/old/varlink-ping Scripts/bench-varlink.sh   # and another build's as an extra row, same run
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
VARLINK_PING=${VARLINK_PING:-$bin/varlink-ping}

work=$(mktemp -d /tmp/bench-varlink.XXXXXX)
server_pids=()
cleanup() {
    for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

(cd Tests/UDSVarlinkTests/Peers/govarlink &&
    GO111MODULE=off GOPATH="$work/gopath:/usr/share/gocode" GOCACHE="${TMPDIR:-/tmp}/udskit-interop-gocache" GOFLAGS= \
        go build -o "$work/govarlink" .)
gcc -O2 -Wall -o "$work/varlink-load" Tests/UDSVarlinkTests/Peers/load/varlink-load.c
gcc -O2 -Wall -o "$work/varlink-limit" Tests/UDSVarlinkTests/Peers/load/varlink-limit.c

pin=()
if [[ $PIN != none ]]; then pin=(taskset -c "$PIN"); fi

# start NAME COMMAND…: starts a server on $work/NAME.sock and waits for its socket.
start() {
    local socket=$work/$1.sock
    shift
    "${pin[@]}" "$@" >"$work/server.log" 2>&1 &
    server_pids+=($!)
    for _ in $(seq 200); do [[ -S $socket ]] && return; sleep 0.05; done
    echo "the server did not start: $(cat "$work/server.log")" >&2
    exit 1
}

servers=(udskit go python handler framed limit)
if [[ -n ${BASELINE_PING:-} ]]; then servers=(udskit baseline go python handler framed limit); fi
columns=(c1 c100 c1000 go1 go100)
declare -A runs
# measure NAME: one run of every client column against server NAME, appended to runs[NAME,COLUMN].
measure() {
    local socket=$work/$1.sock protocol=varlink bench=bench address
    address="unix:$socket"
    if [[ $1 == handler || $1 == framed ]]; then protocol=framed bench=framedbench address=$socket; fi
    local load=("${pin[@]}" "$work/varlink-load" --socket "$socket" --protocol "$protocol" --calls "$CALLS")
    runs[$1,c1]+=" $("${load[@]}" --window 1)"
    runs[$1,c100]+=" $("${load[@]}" --window 100)"
    runs[$1,c1000]+=" $("${load[@]}" --window 1000)"
    runs[$1,go1]+=" $("${pin[@]}" "$work/govarlink" "$bench" -address "$address" -calls "$CALLS" -mode awaited)"
    runs[$1,go100]+=" $("${pin[@]}" "$work/govarlink" "$bench" -address "$address" -calls "$CALLS" -mode pipelined)"
}

# Every server runs for the whole bench (idle while another is measured), and each run measures them all in turn,
# so that a change in the machine's load during the bench falls on every row alike.
start udskit "$VARLINK_PING" "unix:$work/udskit.sock"
if [[ -n ${BASELINE_PING:-} ]]; then start baseline "$BASELINE_PING" "unix:$work/baseline.sock"; fi
start go "$work/govarlink" server -address "unix:$work/go.sock"
start python python3 Tests/UDSVarlinkTests/Peers/python/ping_server.py "unix:$work/python.sock"
start handler "$bin/varlink-ping" framed-echo "$work/handler.sock"
start framed "$bin/uds" serve "$work/framed.sock" --framed --quiet --reply echo
start limit "$work/varlink-limit" "$work/limit.sock"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for _ in $(seq "$RUNS"); do
    for name in "${servers[@]}"; do measure "$name"; done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

declare -A results
for key in "${!runs[@]}"; do
    # shellcheck disable=SC2086 # the runs are a space-separated list
    results[$key]=$(printf '%s\n' ${runs[$key]} | sort -n | sed -n "$(((RUNS + 1) / 2))p")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
echo "varlink org.example.ping.Ping, $CALLS calls a run, UDSKit varlink server $VARLINK_PING, median of $RUNS, pinned to CPU $PIN;" \
    "load average before $load_before, after $load_after"
echo
echo "calls/s; client varlink-load (C, raw writes): window 1 (awaited), 100, 1000 calls per write;" \
    "client Go varlink library: awaited, pipelined 100"
echo
echo "| server | C awaited | C pipelined 100 | C pipelined 1000 | Go awaited | Go pipelined 100 |"
echo "|---|---|---|---|---|---|"
for name in "${servers[@]}"; do
    case $name in
    udskit) label="UDSKit varlink (varlink-ping)" ;;
    baseline) label="UDSKit varlink, baseline build ($BASELINE_PING)" ;;
    go) label="Go varlink (github.com/varlink/go)" ;;
    python) label="Python varlink (PyPI, ThreadingServer)" ;;
    handler) label="UDSKit framed request handler (varlink-ping framed-echo, not varlink)" ;;
    framed) label="UDSKit framed echo on the loop (uds serve --reply echo, not varlink)" ;;
    limit) label="C limit (varlink-limit: blocking reads, one connection, no parser)" ;;
    esac
    line="| $label"
    for column in "${columns[@]}"; do line+=" | ${results[$name,$column]}"; done
    echo "$line |"
done
echo
for column in "${columns[@]}"; do
    echo "$column: UDSKit/Go $(ratio "${results[udskit,$column]}" "${results[go,$column]}")," \
        "UDSKit/framed handler $(ratio "${results[udskit,$column]}" "${results[handler,$column]}")," \
        "UDSKit/framed echo $(ratio "${results[udskit,$column]}" "${results[framed,$column]}")," \
        "UDSKit/C limit $(ratio "${results[udskit,$column]}" "${results[limit,$column]}")," \
        "C limit/Go $(ratio "${results[limit,$column]}" "${results[go,$column]}")"
done
