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

# Reports from code that is not ours and that we cannot fix, so that a report means a bug in UDSKit or its tests.
# The test processes and the `uds` children they start inherit these.
suppressions=$(mktemp -d)
trap 'rm -rf "$suppressions"' EXIT
cat >"$suppressions/asan.supp" <<'SUPP'
# Foundation's Process.run reads 256 bytes of each dirent's d_name past the end of readdir's buffer
# (swiftlang/swift-corelibs-foundation#5472); tests start child processes with Process.
interceptor_via_fun:findMaximumOpenFromProcSelfFD
SUPP
cat >"$suppressions/lsan.supp" <<'SUPP'
# NIO's process-wide blocking thread pool (NIOThreadPool.singleton) lives until exit by design.
leak:NIOThreadPool
# XCTest's own bookkeeping, left at exit of the (empty) XCTest pass.
leak:XCTest
SUPP
export ASAN_OPTIONS="suppressions=$suppressions/asan.supp${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$suppressions/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# LeakSanitizer would report, at the exit of every `uds` the tests run, the process-wide singletons that live until
# then by design (NIO's thread pools, the client reactor); their reports on stderr break the CLI tests' checks.
# replace_intrin=0: Foundation's Process.run copies 256 bytes from the end of a directory entry
# (findMaximumOpenFromProcSelfFD, swift-corelibs-foundation, not instrumented, caught by the memcpy interceptor); with
# it the first test that starts a child process aborts the run. Instrumented code (ours, NIO) is still checked on
# every load and store.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:replace_intrin=0}

failed=()
for sanitizer in "${sanitizers[@]}"; do
    case $sanitizer in
        thread) scratch=.build-tsan ;;
        address) scratch=.build-asan ;;
    esac
    start=$EPOCHREALTIME
    status=0
    echo "sanitizers.sh: $sanitizer: building in $scratch" >&2
    nice -n 10 swift build --build-tests --scratch-path "$scratch" --sanitize="$sanitizer" || status=$?
    if ((status == 0)); then
        swift test --skip-build --scratch-path "$scratch" --sanitize="$sanitizer" "$@" || status=$?
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
