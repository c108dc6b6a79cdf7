#!/usr/bin/env bash
# Writes Scripts/startup-order.txt, the function order that Scripts/build-release.sh gives lld
# (--symbol-ordering-file): the functions that start-up and a first exchange run, so that they sit together at the
# start of .text and a process maps fewer pages of the binary. It runs the release build's unstripped `uds` and
# `uds-bench` under valgrind (callgrind): `uds serve` answering one `uds send` and one `nc`, a `uds send`, a
# `uds --version`, and `uds-bench server` answering one `uds-bench client`; it keeps the functions those runs
# executed, in the order the profiles first name them, leaving out names defined in more than 8 places (a local
# helper every object has a copy of) and names a large section (over 64 KiB) shares with other sections.
#   Scripts/startup-order.sh        # builds with Scripts/build-release.sh first, then rebuild to use the new order
# Rerun after changes to start-up; a stale order only places less of start-up together (missing names are skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -d /opt/swift/usr/bin ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
command -v valgrind >/dev/null || { echo "startup-order: needs valgrind" >&2; exit 1; }
command -v nc >/dev/null || { echo "startup-order: needs nc (netcat-openbsd)" >&2; exit 1; }

scratch="${UDS_RELEASE_SCRATCH:-$PWD/.build-release}"
Scripts/build-release.sh >/dev/null
bin="$scratch/release"
work=$(mktemp -d /tmp/uds-startup-order.XXXXXX)
pids=()
trap 'kill -KILL "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
for product in uds uds-bench; do
    # valgrind 3.19 cannot read the DWARF 5 the toolchain writes: symbols only.
    strip --strip-debug -o "$work/$product" "$bin/$product"
done
grind=(valgrind --tool=callgrind --demangle=no)
wait_for() {
    for _ in $(seq 600); do [[ -S "$1" ]] && return 0; sleep 0.1; done
    echo "startup-order: nothing listens on $1" >&2
    exit 1
}

"${grind[@]}" --callgrind-out-file="$work/serve.cg" "$work/uds" serve "$work/serve.sock" --quiet 2>"$work/serve.log" &
pids+=($!)
wait_for "$work/serve.sock"
"$work/uds" send "$work/serve.sock" hello >/dev/null
echo hello | nc -U -N "$work/serve.sock" >/dev/null
"${grind[@]}" --callgrind-out-file="$work/send.cg" "$work/uds" send "$work/serve.sock" hello \
    >/dev/null 2>"$work/send.log"
"${grind[@]}" --callgrind-out-file="$work/version.cg" "$work/uds" --version >/dev/null 2>"$work/version.log"
kill -TERM "${pids[0]}"
wait "${pids[0]}"

"${grind[@]}" --callgrind-out-file="$work/bench-server.cg" "$work/uds-bench" server --protocol eof \
    --socket "$work/bench.sock" 2>"$work/bench-server.log" &
pids+=($!)
wait_for "$work/bench.sock"
"$work/uds-bench" client --scenario oneshot --socket "$work/bench.sock" --count 10 --size 100 --concurrency 1 \
    >/dev/null
kill -TERM "${pids[1]}"
wait "${pids[1]}"

python3 - "$scratch/uds.map" "$scratch/uds-bench.map" -- "$work"/{serve,send,version,bench-server}.cg \
    >Scripts/startup-order.txt <<'EOF'
import collections, re, sys
args = sys.argv[1:]
maps, profiles = args[:args.index('--')], args[args.index('--') + 1:]
# The sizes of the .text input sections that define each symbol, from lld's link maps: an output section line, then
# input section lines (VMA LMA Size Align file:(section)), then their symbols, each indented further.
sections = collections.defaultdict(set)
for path in maps:
    out = section = None
    for line in open(path):
        cols = line.rstrip('\n').split(None, 4)
        if len(cols) < 5: continue
        col = line.index(cols[4])
        if col < 50: out, section = cols[4], None
        elif out != '.text': continue
        elif col < 58: section = (path, int(cols[0], 16), int(cols[2], 16))
        elif section: sections[cols[4].strip()].add(section)
seen, kept = set(), 0
for path in profiles:
    for line in open(path, errors='replace'):
        m = re.match(r'^c?fn=\(\d+\) (.+)$', line.rstrip('\n'))
        if not m or m.group(1) in seen: continue
        name = m.group(1); seen.add(name)
        defs = sections.get(name)
        if not defs: continue
        copies = max(collections.Counter(p for p, _, _ in defs).values())
        # A name in many objects (a local helper each has a copy of) would move them all; one in a large section
        # (libswiftCore's unsplit .text) moves it all, which is right only when the name is that section's own.
        if copies > 8 or (copies > 1 and max(size for _, _, size in defs) > 64 * 1024): continue
        print(name); kept += 1
print(f"startup-order: {kept} functions of {len(seen)} executed", file=sys.stderr)
EOF
echo "startup-order: wrote Scripts/startup-order.txt ($(wc -l <Scripts/startup-order.txt) names);" \
    "run Scripts/build-release.sh to use it" >&2
