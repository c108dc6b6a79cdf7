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
# lld with -z pack-relative-relocs: the 55,000 relative relocations of a position-independent Swift binary in 10 KB
# (DT_RELR) instead of 1.3 MB of .rela.dyn, which the loader reads at every start (1.3 MiB of each process's RSS);
# the binary then needs glibc 2.36 or later (Debian 12, Ubuntu 22.10, Fedora 37).
# --disable-local-rpath: no $ORIGIN run path, which made the loader look for libc, libm and libstdc++ in 13
# directories beside the binary before the system's (24 failed system calls per start).
# libstdc++ (which the Swift runtime needs) linked in too: the toolchain's static-stdlib-args.lnk asks for -lstdc++,
# which the linker takes from the first directory that has it, so a directory with only the static archive goes
# first. The loader then no longer maps libstdc++.so and resolves its 2,000 symbol relocations at every start (0.4 ms;
# 0.9 MiB of RSS), and the binary no longer needs the system's libstdc++ to be as new as the build machine's.
cxx="$scratch/static-libstdc++"
mkdir -p "$cxx"
ln -sf "$(c++ -print-file-name=libstdc++.a 2>/dev/null || gcc -print-file-name=libstdc++.a)" "$cxx/libstdc++.a"
[[ -e "$cxx/libstdc++.a" ]] || { echo "build-release: no static libstdc++ (libstdc++-dev) found" >&2; exit 1; }
build=(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --disable-local-rpath
    -Xswiftc -Osize -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic
    -Xlinker -L"$cxx")
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
