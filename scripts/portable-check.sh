#!/usr/bin/env bash
# portable-check.sh [DIR] [extra cmake args...]: builds and unit-tests the portable build on Linux,
# the one a macOS user or a Linux without libsystemd gets (issue 17).
#   1. configures DIR (default: build-portable) with systemd switched off (-DBS_SYSTEMD=OFF: the
#      notify protocol and the journal compiled out), no benchmarks (Linux-only) and warnings as
#      errors; extra cmake args go before these, so they cannot switch systemd back on
#      (e.g. -DCMAKE_CXX_COMPILER_LAUNCHER=ccache);
#   2. builds bottle-supervisor, smolvm-sim and the unit test binaries (BS_CHECK_ALL=1: the whole
#      tree, integration tests included, which this script does not run);
#   3. fails loudly if bottle-supervisor needs libsystemd, directly (readelf -d) or through one of
#      its libraries (ldd): the binary must start where there is none;
#   4. runs the unit tests (ctest -L unit and -L daemon-unit).
# Takes about 10 minutes in a fresh DIR on 2 shared cores (the unit tests are most of the build),
# about 4 with a warm ccache, 20 s when nothing changed (the unit tests alone). Not part of CI (its
# time budget); run it by hand after touching the notify/journal code or the CMakeLists.txt files.
# BS_CHECK_JOBS=N limits the build's and the tests' parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-portable}
shift || true
jobs=${BS_CHECK_JOBS:-$(nproc)}
started=$SECONDS

echo "== configure $dir (BS_SYSTEMD=OFF, BS_BENCH=OFF, BS_WERROR=ON)"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 \
  "$@" -DBS_SYSTEMD=OFF -DBS_BENCH=OFF -DBS_WERROR=ON -DBS_TESTS=ON >/dev/null
# A build dir first configured another way keeps its cache; what matters is what it says now.
grep -qx 'BS_SYSTEMD:BOOL=OFF' "$dir/CMakeCache.txt" ||
  { echo "error: $dir/CMakeCache.txt does not say BS_SYSTEMD=OFF" >&2; exit 1; }

echo "== build (GCC, -Werror)"
if [ "${BS_CHECK_ALL:-0}" = 1 ]; then
  ninja -C "$dir" -j "$jobs"
else
  ninja -C "$dir" -j "$jobs" bottle-supervisor smolvm-sim \
    $(ninja -C "$dir" -t targets all | grep -oE '^unit_[a-z_]+:' | tr -d : | sort -u)
fi

echo "== bottle-supervisor does not link libsystemd"
bin=$dir/bottle-supervisor
needed=$(readelf -d "$bin" | grep -E '\(NEEDED\)' || true)
[ -n "$needed" ] || { echo "error: readelf -d $bin lists no NEEDED entries" >&2; exit 1; }
if grep -q 'libsystemd' <<<"$needed"; then
  echo "FAIL: $bin needs libsystemd although BS_SYSTEMD=OFF:" >&2
  grep 'libsystemd' <<<"$needed" >&2
  exit 1
fi
if ldd "$bin" | grep 'libsystemd' >&2; then
  echo "FAIL: $bin does not need libsystemd itself, but one of its libraries pulls it in (above)" >&2
  exit 1
fi
echo "$(grep -c . <<<"$needed") NEEDED entries, none of them libsystemd; ldd finds none either"

echo "== unit tests"
ctest --test-dir "$dir" -j "$jobs" --output-on-failure --no-tests=error -L '^(unit|daemon-unit)$'
echo "== portable check passed in $((SECONDS - started)) s"
