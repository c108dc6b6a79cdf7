#!/usr/bin/env bash
# Seqpacket ping-pong, which ../shared/bench's contract does not cover: UDSKit (`uds serve --seqpacket`,
# `uds bench --seqpacket`) against a plain C peer (Scripts/bench-seqpacket/peer.c, the limit), each side against
# the other, and UDSKit's framed ping-pong on a stream for comparison. Server and client share CPU 0, as the shared
# bench's default `--pin same` does, so the rate measures the CPU cost of both.
#   Scripts/bench-seqpacket.sh [COUNT] [SIZE] [REPEAT]      # default 100000 round trips of 64 bytes, 3 runs each
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100000}
size=${2:-64}
repeat=${3:-3}
if [[ -d /opt/swift/usr/bin ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

swift build -c release --product uds >&2
uds=$(swift build -c release --show-bin-path)/uds
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
gcc -O2 -pthread -o "$work/peer" Scripts/bench-seqpacket/peer.c

pin() { taskset -c 0 "$@"; }

# start_server NAME COMMAND…: starts a server on $work/NAME.sock and waits until its file is there.
start_server() {
    local name=$1
    shift
    taskset -c 0 "$@" >/dev/null 2>"$work/$name.log" &  # not through pin(): $! must be the server itself
    server=$!
    for _ in $(seq 200); do [[ -S $work/$name.sock ]] && return; sleep 0.05; done
    echo "bench-seqpacket.sh: no server came up for $name" >&2
    exit 1
}

stop_server() {
    if ! kill -TERM "$server" 2>/dev/null; then
        echo "bench-seqpacket.sh: the server had exited; its log:" >&2
        cat "$work"/*.log >&2
        exit 1
    fi
    wait "$server" || true
}

# rate CLIENT-KIND PATH: one client run's round trips per second.
rate() {
    case $1 in
        c) pin "$work/peer" client "$2" "$count" "$size" | awk '{ print $1 }' ;;
        uds-seqpacket) pin "$uds" bench "$2" --scenario pingpong --seqpacket --count "$count" --size "$size" --json |
            python3 -c 'import json,sys; print(round(json.load(sys.stdin)["rate"]))' ;;
        uds-framed) pin "$uds" bench "$2" --scenario pingpong --count "$count" --size "$size" --json |
            python3 -c 'import json,sys; print(round(json.load(sys.stdin)["rate"]))' ;;
    esac
}

# row LABEL SERVER-KIND CLIENT-KIND: the median of $repeat runs.
row() {
    local label=$1 server_kind=$2 client_kind=$3 rates=()
    for _ in $(seq "$repeat"); do
        case $server_kind in
            c) start_server c "$work/peer" server "$work/c.sock"; path=$work/c.sock ;;
            uds-seqpacket) start_server s "$uds" serve "$work/s.sock" --seqpacket --quiet --reply echo; path=$work/s.sock ;;
            uds-framed) start_server f "$uds" serve "$work/f.sock" --framed --quiet --reply echo; path=$work/f.sock ;;
        esac
        rates+=("$(rate "$client_kind" "$path")")
        stop_server
    done
    median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    printf '| %s | %s | %s |\n' "$label" "$median" "$(printf '%s ' "${rates[@]}")"
}

echo "seqpacket ping-pong, $count round trips of $size bytes, server and client on CPU 0, median of $repeat"
echo
echo '| server × client | round trips/s | runs |'
echo '|---|---|---|'
row 'C × C (the limit)' c c
row 'uds serve --seqpacket × C' uds-seqpacket c
row 'C × uds bench --seqpacket' c uds-seqpacket
row 'uds serve --seqpacket × uds bench --seqpacket' uds-seqpacket uds-seqpacket
row 'uds serve --framed × uds bench (stream, for comparison)' uds-framed uds-framed
