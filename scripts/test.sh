#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. GCC, warnings as errors: unit and integration tests;
#   2. clang with AddressSanitizer + UndefinedBehaviorSanitizer: the same tests again, plus a short
#      run of each libFuzzer target (tests/fuzz; the valgrind tests run in the GCC build only).
# BS_TEST_BUILD=DIR builds in DIR and DIR-asan instead of build and build-asan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)
gcc_dir=${BS_TEST_BUILD:-build}
asan_dir=$gcc_dir-asan
started=$SECONDS
summary=()
run_suite() {  # run_suite NAME BUILD_DIR
  local name=$1 dir=$2 log
  log=$(mktemp)
  echo "== $name: ctest in $dir"
  if ctest --test-dir "$dir" --output-on-failure -j "$jobs" 2>&1 | tee "$log"; then :; fi
  local line
  line=$(grep -E '^[0-9]+% tests passed' "$log" | tail -n 1 || true)
  summary+=("$name: ${line:-no ctest summary} ($((SECONDS - started)) s since the start)")
  grep -qE '^100% tests passed' "$log"
}

status=0
echo "== build (gcc, -Werror)"
CXX=g++ scripts/build.sh "$gcc_dir" -DBS_WERROR=ON
run_suite gcc "$gcc_dir" || status=1

echo "== build (clang, -Werror, ASan+UBSan)"
# (No benchmarks: their numbers mean nothing under the sanitizers; the GCC build compiles them.)
# Line tables are all the sanitizers' reports need (file:line in every frame), at a tenth less
# compile time than full debug info.
CXX=clang++ scripts/build.sh "$asan_dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only \
  -DBS_WERROR=ON -DBS_SANITIZE=ON -DBS_BENCH=OFF
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite asan "$asan_dir" || status=1

echo
printf '%s\n' "${summary[@]}"
passed=0 failed=0
for dir in "$gcc_dir" "$asan_dir"; do
  log="$dir/Testing/Temporary/LastTest.log"
  [ -f "$log" ] || continue
  p=$(grep -c '^Test Passed\.' "$log" || true)
  f=$(grep -c '^Test Failed\.' "$log" || true)
  passed=$((passed + p)) failed=$((failed + f))
done
# libFuzzer prints "Done N runs in S second(s)" per target.
fuzz_log="$asan_dir/Testing/Temporary/LastTest.log"
if [ -f "$fuzz_log" ] && grep -q '^Done [0-9]* runs' "$fuzz_log"; then
  echo "fuzzing: $(grep -c '^Done [0-9]* runs' "$fuzz_log") targets, $(awk '/^Done [0-9]+ runs/ {n += $2} END {print n}' "$fuzz_log") runs"
fi
echo "total: $((SECONDS - started)) s"
# Last, alone on its line: the count CI reads.
echo "$passed passed, $failed failed"
exit $status
