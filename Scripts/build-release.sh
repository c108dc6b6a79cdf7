#!/usr/bin/env bash
# Builds `uds` and `uds-bench` for installing as one file each: release mode, the Swift runtime and every Swift
# library linked in statically (--static-swift-stdlib), symbols stripped. They then need only the C library (glibc,
# libstdc++, libgcc_s: what any Linux machine has) and run on a machine without Swift.
#   Scripts/build-release.sh                      # builds into .build-release/ (gitignored)
#   UDS_RELEASE_SCRATCH=/tmp/r Scripts/build-release.sh
# Build output goes to standard error; the last lines on standard output are the binaries' paths, one a line:
#   install -m 0755 "$(Scripts/build-release.sh | grep '/uds$')" /usr/local/bin/uds
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -d /opt/swift/usr/bin ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

scratch="${UDS_RELEASE_SCRATCH:-$PWD/.build-release}"
# -Osize: smaller code, the same speed for a program that spends its time in system calls (BENCHMARKS.md).
# --no-export-dynamic: the toolchain's static-stdlib-args.lnk exports every symbol of the program's own objects
# (14,000 in uds) into the dynamic symbol table, which costs 1.4 MB stripped and keeps gc-sections from dropping them.
build=(swift build -c release --static-swift-stdlib --scratch-path "$scratch"
    -Xswiftc -Osize -Xlinker --no-export-dynamic)
for product in uds uds-bench; do
    "${build[@]}" --product "$product" >&2
done
bin="$("${build[@]}" --show-bin-path)"
mkdir -p "$scratch/dist"
made=()
for product in uds uds-bench; do
    strip --strip-all -o "$scratch/dist/$product" "$bin/$product"
    made+=("$scratch/dist/$product")
done
printf '%s\n' "${made[@]}"
