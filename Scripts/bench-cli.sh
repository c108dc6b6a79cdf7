#!/usr/bin/env bash
# What a process costs: `uds send` started N times from a bash loop, next to `nc -U -N` and `socat`, against one C
# server in the same run, wall and CPU time per send; the idle memory of `uds serve`, `uds-bench server` and the C
# peer's server (and the Go peer's when Go is installed); the threads and system calls of one `uds send hello`
# (strace -f -c). Uses the release build of Scripts/build-release.sh.
#   Scripts/bench-cli.sh                 # 300 sends per tool per round, 3 rounds (interleaved), pinned to CPU 0
#                                        # (median and min-max of the rounds)
#   Scripts/bench-cli.sh --count 1000 --rounds 5 --pin none
#   UDS_RELEASE_BIN=/path/to/dir Scripts/bench-cli.sh   # uds and uds-bench already built there (skips the build)
# Needs nc (netcat-openbsd), socat, strace, gcc and make; the C peer comes from ../shared/bench/peers/c.
set -euo pipefail
cd "$(dirname "$0")/.."

count=300 rounds=3 pin=same
while (($#)); do
    case "$1" in
        --count) count="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --pin) pin="$2"; shift 2 ;;
        *) echo "usage: $0 [--count N] [--rounds R] [--pin same|none]" >&2; exit 64 ;;
    esac
done
# --pin same: this script and every process it starts run on CPU 0 (children inherit the affinity), as
# ../shared/bench/run pins its servers and clients: a wake-up across vCPUs costs ~35 us on this VM.
if [[ "$pin" == same && -z "${UDS_BENCH_CLI_PINNED:-}" ]]; then
    UDS_BENCH_CLI_PINNED=1 exec taskset -c 0 "$0" --count "$count" --rounds "$rounds" --pin "$pin"
fi
for tool in nc socat strace make gcc taskset; do
    command -v "$tool" >/dev/null || { echo "bench-cli: $tool is missing" >&2; exit 1; }
done
shared="${UDS_SHARED_BENCH:-$PWD/../shared/bench}"
[[ -d "$shared/peers/c" ]] || { echo "bench-cli: no C peer at $shared/peers/c (set UDS_SHARED_BENCH)" >&2; exit 1; }

dir=$(mktemp -d /tmp/uds-bench-cli.XXXXXX)
servers=()
cleanup() {
    for pid in "${servers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

if [[ -n "${UDS_RELEASE_BIN:-}" ]]; then
    uds="$UDS_RELEASE_BIN/uds" bench="$UDS_RELEASE_BIN/uds-bench"
else
    echo "== building the release binaries (Scripts/build-release.sh)" >&2
    made=$(Scripts/build-release.sh)
    uds=$(grep '/uds$' <<<"$made") bench=$(grep '/uds-bench$' <<<"$made")
fi
make -s -C "$shared/peers/c" BUILD="$dir/c" >&2
cpeer="$dir/c/peer"
gopeer=""  # the Go peer's server too, when Go is there (../shared/bench/run builds it the same way)
if command -v go >/dev/null; then
    (cd "$shared/peers/go" && GOCACHE="$dir/gocache" GOPATH="$dir/gopath" GOFLAGS="" GO111MODULE=on GOTOOLCHAIN=local \
        go build -trimpath -o "$dir/go/peer" . >&2) && gopeer="$dir/go/peer"
fi

# Starts a server in the background and waits until it accepts connections.
start_server() {
    local sock="$1"; shift
    "$@" >/dev/null 2>&1 &
    servers+=($!)
    for _ in $(seq 500); do
        "$uds" probe "$sock" >/dev/null 2>&1 && return 0
        sleep 0.01
    done
    echo "bench-cli: the server $* did not start" >&2
    exit 1
}
kib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
status_kib() { awk -v f="$2" '$1 == f":" { print $2 }' "/proc/$1/status"; }

sock="$dir/c.sock"
start_server "$sock" "$cpeer" server --protocol eof --socket "$sock"

# One send by each tool, checked: the server replies with the byte count.
send_uds() { "$uds" send "$sock" hello; }
send_nc() { printf hello | nc -U -N "$sock"; }
send_socat() { printf hello | socat - "UNIX-CONNECT:$sock"; }
tools=(uds nc socat)
for tool in "${tools[@]}"; do
    reply=$(send_"$tool")
    [[ "$reply" == 5 ]] || { echo "bench-cli: $tool got '$reply', not 5" >&2; exit 1; }
done

# Rounds interleave the tools (uds nc socat uds nc socat ...), so that drift in the machine's load cancels.
declare -A perSend cpuPerSend
# CPU seconds (user + system) of every child this shell has waited for, from the `times` builtin (run in this shell,
# not in a $(...) subshell, which has children of its own).
children_cpu() {
    times >"$dir/times"
    awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.6f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' \
        "$dir/times"
}
# Runs `count` sends with one tool; sets wall and cpu to the milliseconds per send (elapsed, and CPU of the processes).
loop() {
    local tool="$1" start end cpu0 cpu1
    children_cpu >"$dir/cpu0"
    start=$(date +%s%N)
    for ((i = 0; i < count; i++)); do send_"$tool" >/dev/null; done
    end=$(date +%s%N)
    children_cpu >"$dir/cpu1"
    cpu0=$(<"$dir/cpu0") cpu1=$(<"$dir/cpu1")
    wall=$(awk -v ns=$((end - start)) -v n="$count" 'BEGIN { printf "%.2f", ns / n / 1e6 }')
    cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$count" 'BEGIN { printf "%.2f", (b - a) / n * 1e3 }')
}
for ((round = 1; round <= rounds; round++)); do
    for tool in "${tools[@]}"; do
        loop "$tool"
        perSend[$tool]+="$wall "
        cpuPerSend[$tool]+="$cpu "
    done
done
send_version() { "$uds" --version; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[1] "-" v[NR] }'; }

# Threads started and system calls made by one send, from strace -f -c (clone/clone3 calls are the threads).
trace() {
    local out="$dir/strace.$1"
    case "$1" in
        uds) strace -f -c -o "$out" "$uds" send "$sock" hello >/dev/null ;;
        nc) printf hello | strace -f -c -o "$out" nc -U -N "$sock" >/dev/null ;;
        socat) printf hello | strace -f -c -o "$out" socat - "UNIX-CONNECT:$sock" >/dev/null ;;
    esac
    local threads calls
    threads=$(awk '$NF == "clone" || $NF == "clone3" { n += $4 } END { print n + 0 }' "$out")
    calls=$(awk '$NF == "total" { print $4 }' "$out")
    echo "$threads / $calls"
}

# Idle resident memory: the server started, probed once, then VmRSS, its private (RssAnon) and file-backed (RssFile)
# parts, and the peak (VmHWM) read; then SIGTERM.
idle_rss() {
    local name="$1" sock="$2"; shift 2
    start_server "$sock" "$@"
    local pid="${servers[-1]}" field
    local row=("$name")
    for field in VmRSS RssAnon RssFile VmHWM; do row+=("$(kib "$(status_kib "$pid" "$field")")"); done
    row+=("$(ls "/proc/$pid/task" | wc -l)")
    printf '| %-32s | %8s | %8s | %8s | %8s | %8s |\n' "${row[@]}"
    kill -TERM "$pid"
    wait "$pid" || true
}

echo
echo "bench-cli: $count sends per tool per round, $rounds rounds, median; pin=$pin; $(nproc --all) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "uds: $uds ($(stat -c %s "$uds") bytes), uds-bench: $bench ($(stat -c %s "$bench") bytes)"
count=$((count / 3 + 1)) loop version
echo "start-up alone, uds --version: $wall ms, $cpu ms CPU"
echo
printf '| %-32s | %12s | %13s | %12s | %13s | %18s |\n' "one send, as a process" "ms per send" "spread" "CPU ms" \
    "spread" "threads / syscalls"
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..34})" "$(printf -- '-%.0s' {1..14})" \
    "$(printf -- '-%.0s' {1..15})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..15})" "$(printf -- '-%.0s' {1..20})"
declare -A labels=([uds]="uds send" [nc]="nc -U -N" [socat]="socat - UNIX-CONNECT")
for tool in "${tools[@]}"; do
    printf '| %-32s | %12s | %13s | %12s | %13s | %18s |\n' "${labels[$tool]}" "$(median "${perSend[$tool]}")" \
        "$(spread "${perSend[$tool]}")" "$(median "${cpuPerSend[$tool]}")" "$(spread "${cpuPerSend[$tool]}")" \
        "$(trace "$tool")"
done
echo
printf '| %-32s | %8s | %8s | %8s | %8s | %8s |\n' "server, idle (MiB)" RSS anon file peak threads
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..34})" $(for _ in 1 2 3 4 5; do printf -- '-%.0s' {1..10}; echo; done)
idle_rss "uds serve --quiet" "$dir/serve.sock" "$uds" serve "$dir/serve.sock" --quiet
idle_rss "uds-bench server --protocol eof" "$dir/bench.sock" "$bench" server --protocol eof --socket "$dir/bench.sock"
idle_rss "C peer server --protocol eof" "$dir/cidle.sock" "$cpeer" server --protocol eof --socket "$dir/cidle.sock"
if [[ -n "$gopeer" ]]; then
    idle_rss "Go peer server --protocol eof" "$dir/goidle.sock" "$gopeer" server --protocol eof --socket "$dir/goidle.sock"
fi
echo
echo "per-send samples, wall ms: $(for t in "${tools[@]}"; do printf '%s: %s; ' "$t" "${perSend[$t]}"; done)"
echo "per-send samples, CPU ms: $(for t in "${tools[@]}"; do printf '%s: %s; ' "$t" "${cpuPerSend[$t]}"; done)"
