#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (with AddressSanitizer) and runs each on a temporary copy of its seed corpus,
# so that the corpus in Fuzz/Corpus/ never changes. Exits non-zero if any target crashes; the crashing input goes to
# Fuzz/artifacts/ (git ignores it). Replay one with: .build-fuzz/release/<Target> Fuzz/artifacts/<file>
#   Scripts/fuzz.sh              # 1,000,000 runs per target
#   Scripts/fuzz.sh 10000
set -euo pipefail
cd "$(dirname "$0")/.."

iterations=${1:-1000000}
targets=(FrameDecoderFuzz EndOfStreamReaderFuzz AcknowledgementFuzz VarlinkFuzz)
scratch=$PWD/.build-fuzz
sanitizers=-sanitize=fuzzer,address

if [[ -d /opt/swift/usr/bin ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

# Every Swift module, UDSKit and its dependencies included, gets coverage and ASan instrumentation. The targets are
# static libraries (see Fuzz/Package.swift); swiftc links each with libFuzzer's main.
nice -n 10 swift build -c release --package-path Fuzz --scratch-path "$scratch" -Xswiftc "$sanitizers" -Xswiftc -g
bin=$(swift build -c release --package-path Fuzz --scratch-path "$scratch" --show-bin-path)
for target in "${targets[@]}"; do
    nice -n 10 swiftc "$sanitizers" -g -use-ld=lld "$bin/lib$target.a" -o "$bin/$target"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p Fuzz/artifacts
# Swift's own backtracer would race libFuzzer's crash handler; fixed hashing makes a crash replay the same way.
export SWIFT_BACKTRACE=enable=off SWIFT_DETERMINISTIC_HASHING=1

failed=()
for target in "${targets[@]}"; do
    cp -R "Fuzz/Corpus/$target" "$work/$target"
    start=$EPOCHREALTIME
    status=0
    "$bin/$target" -runs="$iterations" -artifact_prefix="Fuzz/artifacts/$target-" -print_final_stats=1 \
        "$work/$target" >"$work/$target.log" 2>&1 || status=$?
    seconds=$(awk -v end="$EPOCHREALTIME" -v start="$start" 'BEGIN { print end - start }')
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log")
    if ((status == 0)); then
        printf '%-24s %s runs in %.1f s\n' "$target" "${runs:-?}" "$seconds"
    else
        printf '%-24s CRASHED (exit %d) after %s runs, %.1f s:\n' "$target" "$status" "${runs:-?}" "$seconds"
        # The invariant or sanitizer message, the stack, and where the input went.
        grep -E -A24 '(Fatal error|==ERROR)' "$work/$target.log" | head -40 || true
        grep -E 'Test unit written to' "$work/$target.log" | tail -1 || true
        failed+=("$target")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "fuzz.sh: crashed: ${failed[*]}" >&2
    exit 1
fi
