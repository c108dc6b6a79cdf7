#!/usr/bin/env bash
# Builds UDSKit's tests with Thread Sanitizer and/or Address Sanitizer and runs them; exits non-zero if a build fails
# or a run fails or reports. Installs the interop peers (Go, socat, nc, python3) when missing, as Scripts/test.sh does.
# Each sanitizer has its own scratch directory (.build-tsan, .build-asan), so the two do not rebuild each other.
#   Scripts/sanitizers.sh                      # thread, then address
#   Scripts/sanitizers.sh thread
#   Scripts/sanitizers.sh address --filter UDSKitTests
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-all}
shift || true
case $mode in
    thread) sanitizers=(thread) ;;
    address) sanitizers=(address) ;;
    all) sanitizers=(thread address) ;;
    *)
        echo "usage: Scripts/sanitizers.sh [thread|address|all] [swift test options]" >&2
        exit 64
        ;;
esac

Scripts/install-test-peers.sh

if [[ -d /opt/swift/usr/bin ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
# Swift's backtracer and the sanitizers' own reports would both handle a crash; keep the sanitizer's.
export SWIFT_BACKTRACE=enable=off

# AddressSanitizer: a report should mean a bug in UDSKit, its dependencies or its tests, so LeakSanitizer is off: it
# would report, at the exit of every `uds` the tests run, the process-wide singletons that live until then by design
# (the client reactor, NIO's singletons); their reports on stderr break the CLI tests' checks. (The tests start
# programs with UDSKit's own posix_spawn wrapper, not Foundation's Process, whose descriptor walk needed a suppression
# here: swiftlang/swift-corelibs-foundation#5472.) Options in ASAN_OPTIONS come after these and win, for example
# ASAN_OPTIONS=detect_leaks=1.
# The quarantine of freed memory is 32 MiB instead of ASan's default 256 MiB: freed chunks wait there, resident,
# so a test that streams a 1 GiB message through bounded buffers would read +256 MiB that are ASan's own.
export ASAN_OPTIONS="detect_leaks=0:quarantine_size_mb=32${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

failed=()
for sanitizer in "${sanitizers[@]}"; do
    case $sanitizer in
        thread) scratch=.build-tsan ;;
        address) scratch=.build-asan ;;
    esac
    start=$EPOCHREALTIME
    status=0
    # Under Thread Sanitizer every process runs 5-15 times slower; with all of Swift Testing's tests at once on a
    # 2-CPU machine, a dozen tests that wait for a peer process (60 s limits) timed out by load alone, at the same
    # moments in every run, and passed when run alone. At most four tests at a time (Swift Testing's variable; set
    # it to run wider).
    width=()
    if [[ $sanitizer == thread ]]; then
        width=("SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-4}")
    fi
    echo "sanitizers.sh: $sanitizer: building in $scratch" >&2
    nice -n 10 swift build --build-tests --scratch-path "$scratch" --sanitize="$sanitizer" || status=$?
    if ((status == 0)); then
        env "${width[@]}" UDSKIT_SANITIZER="$sanitizer" swift test --skip-build --scratch-path "$scratch" --sanitize="$sanitizer" "$@" \
            || status=$?
    fi
    seconds=$(awk -v end="$EPOCHREALTIME" -v start="$start" 'BEGIN { printf "%.0f", end - start }')
    if ((status == 0)); then
        echo "sanitizers.sh: $sanitizer: passed in ${seconds} s (build and tests)" >&2
    else
        echo "sanitizers.sh: $sanitizer: FAILED (exit $status) after ${seconds} s" >&2
        failed+=("$sanitizer")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "sanitizers.sh: failed: ${failed[*]}" >&2
    exit 1
fi
