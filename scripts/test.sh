#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. GCC, warnings as errors: unit and integration tests;
#   2. clang with AddressSanitizer + UndefinedBehaviorSanitizer: the same tests again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)
summary=()
run_suite() {  # run_suite NAME BUILD_DIR
  local name=$1 dir=$2 log
  log=$(mktemp)
  echo "== $name: ctest in $dir"
  if ctest --test-dir "$dir" --output-on-failure -j "$jobs" 2>&1 | tee "$log"; then :; fi
  local line
  line=$(grep -E '^[0-9]+% tests passed' "$log" | tail -n 1 || true)
  summary+=("$name: ${line:-no ctest summary}")
  grep -qE '^100% tests passed' "$log"
}

status=0
echo "== build (gcc, -Werror)"
CXX=g++ scripts/build.sh build -DBS_WERROR=ON
run_suite gcc build || status=1

echo "== build (clang, -Werror, ASan+UBSan)"
CXX=clang++ scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DBS_WERROR=ON -DBS_SANITIZE=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite asan build-asan || status=1

echo
printf '%s\n' "${summary[@]}"
passed=0 failed=0
for dir in build build-asan; do
  log="$dir/Testing/Temporary/LastTest.log"
  [ -f "$log" ] || continue
  p=$(grep -c '^Test Passed\.' "$log" || true)
  f=$(grep -c '^Test Failed\.' "$log" || true)
  passed=$((passed + p)) failed=$((failed + f))
done
echo "$passed passed, $failed failed"
exit $status
