#!/usr/bin/env bash
# The async API's cost per exchange, against the blocking client, in one run: uds-bench's pingpong (FramedClient
# request awaited one at a time) and oneshot (MessageClient deliver) with --api blocking, --api async from a task on
# the client's executor, and --api async from a task on the global executor. Server and client pinned to CPU 0 (see
# ../shared/bench/README.md: a wake-up across vCPUs costs ~35 µs here), runs interleaved, medians and spreads.
#   Scripts/bench-async.sh [repeats=5] [pingpong count=100000] [oneshot count=20000]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
pingpongs=${2:-100000}
oneshots=${3:-20000}
if [[ -d /opt/swift/usr/bin ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
swift build -c release --product uds-bench >&2
bench=$(swift build -c release --show-bin-path)/uds-bench
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
taskset -c 0 "$bench" server --socket "$dir/framed.sock" --protocol framed 2>/dev/null &
taskset -c 0 "$bench" server --socket "$dir/eof.sock" --protocol eof 2>/dev/null &
for _ in $(seq 100); do [[ -S $dir/framed.sock && -S $dir/eof.sock ]] && break; sleep 0.05; done

run() {  # scenario socket count variant -> rate
    local args=(--api blocking)
    case $4 in
        async-client) args=(--api async --executor client) ;;
        async-global) args=(--api async --executor global) ;;
    esac
    taskset -c 0 "$bench" client "${args[@]}" --scenario "$1" --socket "$2" --count "$3" --size 64 --concurrency 1 |
        sed -n 's/.*rate=\([0-9.]*\).*/\1/p'
}

median_spread() {  # rates... -> "median spread%"
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.0f %.0f%%", m, (v[NR] - v[1]) / m * 100 }'
}

printf '| scenario | client | rate (median) | spread | vs blocking |\n|---|---|---|---|---|\n'
for scenario in pingpong oneshot; do
    socket=$dir/framed.sock count=$pingpongs
    if [[ $scenario == oneshot ]]; then socket=$dir/eof.sock count=$oneshots; fi
    declare -A rates=()
    for _ in $(seq "$repeats"); do
        for variant in blocking async-client async-global; do
            rates[$variant]+="$(run $scenario "$socket" "$count" $variant) "
        done
    done
    read -r base _ <<<"$(median_spread ${rates[blocking]})"
    for variant in blocking async-client async-global; do
        read -r median spread <<<"$(median_spread ${rates[$variant]})"
        printf '| %s | %s | %s/s | %s | %.2f× |\n' "$scenario" "$variant" "$median" "$spread" \
            "$(awk -v a="$median" -v b="$base" 'BEGIN { print a / b }')"
    done
    unset rates
done
