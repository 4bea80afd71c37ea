#!/usr/bin/env bash
# bench/run.sh [--quick] [--verbose] [--built DIR] [BENCH...]: builds the release build (build/)
# and runs the benchmarks, printing each one's table; the whole output is also saved to
# <build>/bench-results.txt with a description of the machine. Benchmarks print numbers and never
# fail on time: a non-zero exit means one could not run at all (see its error).
#
#   BENCH: boot_kill, spec_verified, scale (default: all three, in that order)
#   --quick: fewer samples (about a minute in all), a smoke run of the set-up
#   --built DIR: use the benchmarks already built in DIR (what `ninja bench` passes)
#
# Run it on an otherwise idle machine: the numbers are latencies and CPU times.
set -euo pipefail
cd "$(dirname "$0")/.."

args=()
benches=()
built=""
while [ $# -gt 0 ]; do
  a=$1
  shift
  case "$a" in
    --built) built=${1:?--built needs a folder}; shift ;;
    --quick | --verbose | --keep) args+=("$a") ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    boot_kill | spec_verified | scale) benches+=("$a") ;;
    *) echo "bench/run.sh: unknown argument '$a' (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#benches[@]} -gt 0 ] || benches=(boot_kill spec_verified scale)

dir=${built:-build}
[ -n "$built" ] || ./scripts/build.sh build >/dev/null
out=$dir/bench-results.txt

{
  echo "# bottle-supervisor benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "# machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)," \
       "$(awk '/^MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "# build: $(c++ --version | head -1), -O2 (scripts/build.sh); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"

status=0
for b in "${benches[@]}"; do
  echo | tee -a "$out"
  start=$(date +%s)
  if ! "$dir/${b}_bench" "${args[@]}" 2>&1 | tee -a "$out"; then status=1; fi
  echo "  (${b}_bench took $(( $(date +%s) - start )) s)" | tee -a "$out"
done
echo
echo "saved to $out"
exit $status
