#!/usr/bin/env bash
# fuzz.sh: builds fedct-fuzz with libFuzzer and runs every fuzz target (or those named) for SECONDS each; not in CI.
#   Scripts/fuzz.sh [SECONDS] [TARGET…]        (default 600 s per target; targets: see Sources/fedct-fuzz/FuzzTargets.swift)
# Swift code is instrumented for coverage with AddressSanitizer (-sanitize=address -sanitize-coverage=…) and linked
# with libFuzzer's driver (libclang_rt.fuzzer_no_main), which fedct-fuzz's main calls; the C/C++ bridges and system
# libraries are not instrumented. Seeds: Tests/Fuzz/corpus/<target> (Tests/Fuzz/make-seeds.py); inputs found while
# fuzzing go to .build-fuzz/corpus/<target>, crashes to .build-fuzz/crashes/<target>/. Prints executions and crashes
# per target; exits 1 when any target crashed. Replay a crash: .build-fuzz/debug/fedct-fuzz TARGET CRASH_FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-600}
shift || true
SCRATCH=.build-fuzz
RUNTIME=$(ls -d "$(dirname "$(readlink -f "$(command -v swiftc)")")"/../lib/clang/*/lib/linux | head -1)
[ -f "$RUNTIME/libclang_rt.fuzzer_no_main-x86_64.a" ] || { echo "fuzz.sh: libFuzzer (libclang_rt.fuzzer_no_main) not found under $RUNTIME" >&2; exit 2; }

echo "building fedct-fuzz with libFuzzer (scratch $SCRATCH; the first build compiles every dependency)"
mkdir -p "$SCRATCH"
if ! nice -n 5 swift build --scratch-path "$SCRATCH" --product fedct-fuzz \
    -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp -Xswiftc -DFUZZING \
    -Xlinker "$RUNTIME/libclang_rt.fuzzer_no_main-x86_64.a" -Xlinker -lstdc++ >"$SCRATCH/build.log" 2>&1; then
    grep -E "error" "$SCRATCH/build.log" | head -20 >&2
    echo "fuzz.sh: the build failed (log: $SCRATCH/build.log)" >&2
    exit 2
fi
BINARY="$SCRATCH/debug/fedct-fuzz"

TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=($(ls Tests/Fuzz/corpus))
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
printf '%-18s %10s %8s %8s %s\n' target seconds execs crashes "corpus (seeds → now)"
failed=0
for target in "${TARGETS[@]}"; do
    corpus="$SCRATCH/corpus/$target" crashes="$SCRATCH/crashes/$target"
    mkdir -p "$corpus" "$crashes"
    log="$SCRATCH/fuzz-$target.log"
    set +e
    nice -n 5 "$BINARY" "$target" "$corpus" "Tests/Fuzz/corpus/$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=20 \
        -rss_limit_mb=6144 -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" >"$log" 2>&1
    set -e
    execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
    found=$(find "$crashes" -type f | wc -l)
    seeds=$(find "Tests/Fuzz/corpus/$target" -type f | wc -l)
    printf '%-18s %10s %8s %8s %s\n' "$target" "$SECONDS_PER_TARGET" "${execs:-?}" "$found" "$seeds → $(find "$corpus" -type f | wc -l)"
    if [ "$found" -gt 0 ]; then
        failed=1
        grep -E "ERROR: (libFuzzer|AddressSanitizer)|Fatal error|SUMMARY" "$log" | head -3 | sed 's/^/    /'
    fi
done
exit $failed
