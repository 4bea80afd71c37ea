#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. GCC, warnings as errors: unit and integration tests;
#   2. clang with AddressSanitizer + UndefinedBehaviorSanitizer: the same tests again, plus a short
#      run of each libFuzzer target (tests/fuzz; the valgrind tests run in the GCC build only).
# The real-smolvm tests (ctest -L real-smolvm) run against smolvm from scripts/install-smolvm.sh;
# where VMs cannot boot, the ones that need a booted VM skip (exit 77) and are counted as skipped.
# BS_TEST_BUILD=DIR builds in DIR and DIR-asan instead of build and build-asan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-smolvm.sh
# Where install-smolvm.sh put it: ~/.local/bin (a non-root install) is not always on PATH.
if [ -z "${BS_REAL_SMOLVM:-}" ]; then
  smolvm_bin_dir=$HOME/.local/bin
  if [ "$(id -u)" -eq 0 ]; then smolvm_bin_dir=/usr/local/bin; fi
  export BS_REAL_SMOLVM=${BS_SMOLVM_BIN_DIR:-$smolvm_bin_dir}/smolvm
fi

jobs=$(nproc)
gcc_dir=${BS_TEST_BUILD:-build}
asan_dir=$gcc_dir-asan
started=$SECONDS
summary=()
run_suite() {  # run_suite NAME BUILD_DIR
  local name=$1 dir=$2 log
  # Kept next to ctest's LastTest.log: the final count reads each test's result line from it
  # (LastTest.log says "Test Passed." for a skipped test too).
  log="$dir/Testing/Temporary/console.log"
  mkdir -p "$dir/Testing/Temporary"
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
passed=0 failed=0 skipped=0
for dir in "$gcc_dir" "$asan_dir"; do
  log="$dir/Testing/Temporary/console.log"
  [ -f "$log" ] || continue
  # One line per test: "12/80 Test #12: name ....   Passed    0.1 sec", "***Skipped", "***Failed",
  # "***Timeout", "***Not Run"...: only "Passed" passes, "Skipped" is counted apart, the rest fail.
  results=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$log" || true)
  p=$(grep -cE ' Passed +[0-9.]+ sec' <<<"$results" || true)
  k=$(grep -cE '\*\*\*Skipped +[0-9.]+ sec' <<<"$results" || true)
  t=$(grep -c . <<<"$results" || true)
  passed=$((passed + p)) skipped=$((skipped + k)) failed=$((failed + t - p - k))
done
# libFuzzer prints "Done N runs in S second(s)" per target.
fuzz_log="$asan_dir/Testing/Temporary/LastTest.log"
if [ -f "$fuzz_log" ] && grep -q '^Done [0-9]* runs' "$fuzz_log"; then
  echo "fuzzing: $(grep -c '^Done [0-9]* runs' "$fuzz_log") targets, $(awk '/^Done [0-9]+ runs/ {n += $2} END {print n}' "$fuzz_log") runs"
fi
echo "total: $((SECONDS - started)) s"
# Last, alone on its line: the count CI reads.
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
exit $status
