#!/usr/bin/env bash
# fuzz.sh: builds fedct-fuzz with libFuzzer and runs every fuzz target (or those named) for SECONDS each; not in CI.
#   Scripts/fuzz.sh [SECONDS] [TARGET…]        (default 600 s per target; targets: see Sources/fedct-fuzz/FuzzTargets.swift)
# Swift code is instrumented for coverage with AddressSanitizer (-sanitize=address -sanitize-coverage=…), the C++
# bridges with clang's -fsanitize=fuzzer-no-link,address, and linked with libFuzzer's driver
# (libclang_rt.fuzzer_no_main), which fedct-fuzz's main calls; system libraries (GDCM, libnifti, gRPC, libtorch) are
# not instrumented. After the `dicom` target (the bridge's structure check) every DICOM input of its corpus, seeds and
# found, goes through the whole reader (`dicom-read`: structure check, GDCM, geometry) in a child process of its own,
# and any child that dies counts as a crash. Seeds: Tests/Fuzz/corpus/<target> (Tests/Fuzz/make-seeds.py); inputs found while
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
    -Xcxx -fsanitize=fuzzer-no-link,address \
    -Xlinker "$RUNTIME/libclang_rt.fuzzer_no_main-x86_64.a" -Xlinker -lstdc++ >"$SCRATCH/build.log" 2>&1; then
    grep -E "error" "$SCRATCH/build.log" | head -20 >&2
    echo "fuzz.sh: the build failed (log: $SCRATCH/build.log)" >&2
    exit 2
fi
BINARY="$SCRATCH/debug/fedct-fuzz"

TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=($(ls Tests/Fuzz/corpus))
# Container-overflow and ODR reports are false alarms when instrumented C++ shares std containers with system libraries.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:detect_container_overflow=0:detect_odr_violation=0
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

if printf '%s\n' "${TARGETS[@]}" | grep -qx dicom; then
    crashes="$SCRATCH/crashes/dicom-read"
    mkdir -p "$crashes"
    inputs=0 died=0
    for input in Tests/Fuzz/corpus/dicom/* "$SCRATCH"/corpus/dicom/*; do
        [ -f "$input" ] || continue
        inputs=$((inputs + 1))
        if ! nice -n 5 "$BINARY" dicom-read "$input" -runs=1 -timeout=20 -rss_limit_mb=6144 >"$SCRATCH/dicom-read.log" 2>&1; then
            died=$((died + 1))
            cp "$input" "$crashes/"
            grep -E "ERROR: (libFuzzer|AddressSanitizer)|SUMMARY" "$SCRATCH/dicom-read.log" | head -2 | sed "s|^|    $input: |"
        fi
    done
    printf '%-18s %10s %8s %8s %s\n' "dicom-read" "-" "$inputs" "$died" "(one child process per input of dicom's corpus)"
    [ "$died" -eq 0 ] || failed=1
fi
exit $failed
