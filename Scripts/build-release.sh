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
# -function-sections (every package's Swift code; the toolchain's libraries come that way): one section per function,
# so that --gc-sections can drop the functions nothing reaches and the two options below can work per function.
# --icf=all: lld folds functions with identical code and relocations into one (Swift emits many: value witnesses,
# protocol witness thunks, specializations), 0.4 MB. Only the addresses of two such functions compare equal
# afterwards; Swift has no function-pointer equality, and libdispatch, whose C compares function pointers, is linked
# from sections that are not split per function, so none of its functions fold.
# No .eh_frame (3.1 MB with its index): Swift code unwinds nothing (errors are returned, not thrown); the runtime's
# C++ throws nothing (libstdc++'s std::__throw_* helpers are linked in, and nothing catches them). What it costs: an
# uncaught C++ exception terminates as before, but without searching for a handler; pthread_exit (libdispatch's
# dispatch_main) ends the thread without running C++ cleanups (there are none), instead of unwinding the main thread,
# which kept 0.6 MiB of unwind tables resident in every async server; debuggers and `perf --call-graph=dwarf` need
# the unstripped binary's debug information instead.
# swift5_backtrace as NOBITS (zero pages at run time, like .bss): libswiftCore keeps the backtracer's settings in this
# page-aligned section of 64 KiB of zeros, which the runtime fills at start and, when backtracing is on, makes
# read-only. Stored in the file it cost 64 KiB of each binary; crash backtraces (SWIFT_BACKTRACE=enable=yes) come out
# as before.
# --symbol-ordering-file: the functions start-up runs (Scripts/startup-order.txt, made by Scripts/startup-order.sh
# from valgrind runs of `uds serve`, `uds send` and `uds-bench server`) placed together at the start of .text, so that
# a process maps fewer pages of the binary: the kernel maps whole page-cache folios around each page fault.
cxx="$scratch/static-libstdc++"
mkdir -p "$cxx"
ln -sf "$(c++ -print-file-name=libstdc++.a 2>/dev/null || gcc -print-file-name=libstdc++.a)" "$cxx/libstdc++.a"
[[ -e "$cxx/libstdc++.a" ]] || { echo "build-release: no static libstdc++ (libstdc++-dev) found" >&2; exit 1; }
printf '%s\n' 'SECTIONS { /DISCARD/ : { *(.eh_frame) } } INSERT AFTER .text;' \
    'SECTIONS { swift5_backtrace (NOLOAD) : { *(swift5_backtrace) } } INSERT AFTER .bss;' >"$scratch/sections.ld"
order="$PWD/Scripts/startup-order.txt"
[[ -f "$order" ]] || { order="$scratch/startup-order.txt"; : >"$order"; }
build=(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --disable-local-rpath
    -Xswiftc -Osize -Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=lld
    -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic -Xlinker -L"$cxx"
    -Xlinker --icf=all -Xlinker -T -Xlinker "$scratch/sections.ld"
    -Xlinker --symbol-ordering-file="$order" -Xlinker --no-warn-symbol-ordering)
# The compiler driver does not notice when only -Xfrontend options change, and would keep objects built without
# them: a build with other options than the last one starts from scratch.
if [[ -e "$scratch/release" && "$(cat "$scratch/release-options" 2>/dev/null)" != "${build[*]}" ]]; then
    rm -rf "$(readlink -f "$scratch/release")"
fi
for product in uds uds-bench; do
    # Linked every time (a few seconds): the build does not know the ordering file changed. The link map (symbols
    # as the objects name them) is for Scripts/startup-order.sh.
    rm -f "$scratch/release/$product"
    "${build[@]}" --product "$product" -Xlinker -Map="$scratch/$product.map" -Xlinker --no-demangle >&2
done
printf '%s\n' "${build[*]}" >"$scratch/release-options"
bin="$("${build[@]}" --show-bin-path)"
mkdir -p "$scratch/dist"
made=()
for product in uds uds-bench; do
    strip --strip-all -o "$scratch/dist/$product" "$bin/$product"
    made+=("$scratch/dist/$product")
done
printf '%s\n' "${made[@]}"
