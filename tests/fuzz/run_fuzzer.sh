#!/bin/sh
# run_fuzzer.sh FUZZER WORK_DIR RUNS DICT SEED_DIR...
# A short, reproducible libFuzzer run for ctest: fixed seed and iteration count, new inputs go to
# a scratch corpus in WORK_DIR (never into the source tree), crash artifacts too. DICT may be "".
set -eu
fuzzer=$1 work=$2 runs=$3 dict=$4
shift 4
rm -rf "$work"
mkdir -p "$work/corpus"
set -- -runs="$runs" -seed=1 -timeout=10 -rss_limit_mb=2048 -max_total_time=240 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$@"
[ -n "$dict" ] && set -- -dict="$dict" "$@"
exec "$fuzzer" "$@"
