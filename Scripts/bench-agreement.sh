#!/usr/bin/env bash
# Runs `uds bench` and `uds-bench client` alternately against one `uds-bench server` (eof, then framed), pinned to
# CPU 0 as ../shared/bench/run does, and prints each rate and the ratio of the medians: the two must agree (within
# 15%), since they run the same scenario code (Sources/UDSLoad).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product uds >/dev/null
swift build -c release --product uds-bench >/dev/null
bin=$(swift build -c release --show-bin-path)
dir=$(mktemp -d /tmp/uds-agree.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT

rate_of() { sed -n 's/.*"rate":\([0-9.]*\).*/\1/p; s/.* rate=\([0-9.]*\).*/\1/p'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

compare() {  # protocol scenario count size concurrency
    local sock="$dir/$1.sock" ours=() theirs=()
    taskset -c 0 "$bin/uds-bench" server --protocol "$1" --socket "$sock" 2>/dev/null &
    local server=$!
    for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
    for _ in 1 2 3 4 5; do
        theirs+=("$(taskset -c 0 "$bin/uds-bench" client --scenario "$2" --socket "$sock" --count "$3" --size "$4" --concurrency "$5" | rate_of)")
        ours+=("$(taskset -c 0 "$bin/uds" bench "$sock" --scenario "$2" --count "$3" --size "$4" --concurrency "$5" --json | rate_of)")
    done
    kill -TERM "$server"; wait "$server" || true
    local a b
    a=$(printf '%s\n' "${ours[@]}" | median)
    b=$(printf '%s\n' "${theirs[@]}" | median)
    printf '%-9s uds bench %12.0f/s   uds-bench %12.0f/s   ratio %.3f   (runs: %s | %s)\n' "$2" "$a" "$b" \
        "$(echo "$a / $b" | bc -l)" "${ours[*]}" "${theirs[*]}"
}

compare eof oneshot 20000 100 1
compare eof oneshot 20000 100 8
compare eof fanin 5000 100 5000
compare framed pingpong 50000 64 1
compare framed pipeline 1000000 64 1
