#!/usr/bin/env bash
# real_smolvm_steps.sh [REPS]: what each step of real smolvm costs, the steps the supervisor runs
# (create, delete -f, data-dir, ls --json, start, stop) and spec -> verified through the
# supervisor, each in a throw-away HOME. Prints min / median / max in ms over REPS runs (default
# 5). Where VMs cannot boot, it times how long a start takes to fail and says why the boot steps
# were not measured. Real smolvm: BS_REAL_SMOLVM, else `smolvm` on PATH (scripts/install-smolvm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
smolvm=${BS_REAL_SMOLVM:-$(command -v smolvm || true)}
if [ -z "$smolvm" ]; then
  echo "real smolvm not found: set BS_REAL_SMOLVM or run scripts/install-smolvm.sh" >&2
  exit 1
fi
supervisor=build/bottle-supervisor

homes=()
cleanup() {
  for h in "${homes[@]}"; do
    # Machines first (a VM that booted must not outlive its HOME), then the folder.
    for m in $(HOME=$h "$smolvm" machine ls --quiet 2>/dev/null); do
      HOME=$h "$smolvm" machine delete --name "$m" -f >/dev/null 2>&1 || true
    done
    rm -rf "$h"
  done
}
trap cleanup EXIT
new_home() {
  local h
  h=$(mktemp -d /tmp/bs-real-bench-XXXXXX)
  homes+=("$h")
  echo "$h"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# timed HOME EXPECT_EXIT ARGS...: runs smolvm, prints its ms; fails loudly on another exit code.
timed() {
  local h=$1 expect=$2 t0 rc=0
  shift 2
  t0=$(now_ms)
  HOME=$h "$smolvm" "$@" >"$h/last.out" 2>"$h/last.err" || rc=$?
  local ms=$(($(now_ms) - t0))
  if [ "$expect" != any ] && [ "$rc" -ne "$expect" ]; then
    echo "smolvm $* exited $rc (expected $expect): $(grep -v '^note: no packed' "$h/last.err" | tail -n 1)" >&2
    return 1
  fi
  echo "$ms"
}
# stats NAME MS...: one line, min / median / max.
stats() {
  local name=$1
  shift
  local sorted
  sorted=$(printf '%s\n' "$@" | sort -n)
  local n=$#
  printf '%-34s min %6s  median %6s  max %6s ms  (n=%d)\n' "$name" "$(head -n 1 <<<"$sorted")" \
    "$(sed -n "$(((n + 1) / 2))p" <<<"$sorted")" "$(tail -n 1 <<<"$sorted")" "$n"
}

echo "real smolvm: $smolvm ($("$smolvm" --version 2>/dev/null)); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -a create=() ls=() datadir=() delete=() unknown_start=() version=()
for _ in $(seq "$reps"); do
  h=$(new_home)
  version+=("$(timed "$h" 0 --version)")
  create+=("$(timed "$h" 0 machine create --name b1 --image alpine:3.20 --cpus 1 --mem 512 --net --allow-cidr 127.0.0.16/32)")
  ls+=("$(timed "$h" 0 machine ls --json)")
  datadir+=("$(timed "$h" 0 machine data-dir --name b1)")
  unknown_start+=("$(timed "$h" 1 machine start --name nope)")
  delete+=("$(timed "$h" 0 machine delete --name b1 -f)")
done
stats "--version" "${version[@]}"
stats "machine create (the supervisor's)" "${create[@]}"
stats "machine ls --json (1 machine)" "${ls[@]}"
stats "machine data-dir" "${datadir[@]}"
stats "machine delete -f" "${delete[@]}"
stats "machine start, unknown machine" "${unknown_start[@]}"

# One real start: it boots, or it fails, and how long that takes says which.
h=$(new_home)
timed "$h" 0 machine create --name probe --cpus 1 --mem 256 >/dev/null
t0=$(now_ms)
rc=0
HOME=$h "$smolvm" machine start --name probe >"$h/start.out" 2>"$h/start.err" || rc=$?
start_ms=$(($(now_ms) - t0))
if [ "$rc" -ne 0 ]; then
  echo "machine start (fails here)                 $start_ms ms to fail (exit $rc)"
  echo "not measured: start, stop, spec -> verified: VMs cannot boot here:"
  grep -v '^note: no packed' "$h/start.err" | sed 's/\x1b\[[0-9;]*m//g' | tail -n 2 | sed 's/^/  /'
  exit 0
fi
declare -a start=("$start_ms") stop=()
stop+=("$(timed "$h" 0 machine stop --name probe)")
for _ in $(seq $((reps - 1))); do
  start+=("$(timed "$h" 0 machine start --name probe)")
  stop+=("$(timed "$h" 0 machine stop --name probe)")
done
stats "machine start (boots)" "${start[@]}"
stats "machine stop" "${stop[@]}"

# spec -> verified through the supervisor: a bottle from the probe machine, packed (a registry
# image would be pulled inside the guest, which the bottle's /32 allowlist forbids).
if [ ! -x "$supervisor" ]; then
  echo "not measured: spec -> verified: build $supervisor first (scripts/build.sh)"
  exit 0
fi
timed "$h" 0 pack create --from-vm probe -o "$h/bottle" >/dev/null
declare -a verified=()
for i in $(seq "$reps"); do
  s=$(new_home)
  mkdir -p "$s/.config/bottle-supervisor/bottles" "$s/run"
  chmod 0700 "$s/.config/bottle-supervisor/bottles" "$s/run"
  printf 'resync_interval = "1h"\n[smolvm]\nbin = "%s"\ncommand_timeout = "120s"\n' "$smolvm" \
    >"$s/.config/bottle-supervisor/config.toml"
  HOME=$s XDG_RUNTIME_DIR=$s/run "$supervisor" run 2>"$s/daemon.log" &
  daemon=$!
  until HOME=$s XDG_RUNTIME_DIR=$s/run "$supervisor" status >/dev/null 2>&1 || [ $? -ne 3 ]; do
    sleep 0.05
    kill -0 "$daemon"  # (set -e) a daemon that died ends the run; its log says why
  done
  t0=$(now_ms)
  printf 'from = "%s"\n' "$h/bottle.smolmachine" >"$s/.config/bottle-supervisor/bottles/.b$i.tmp"
  chmod 0600 "$s/.config/bottle-supervisor/bottles/.b$i.tmp"
  mv "$s/.config/bottle-supervisor/bottles/.b$i.tmp" "$s/.config/bottle-supervisor/bottles/b$i.toml"
  until HOME=$s XDG_RUNTIME_DIR=$s/run "$supervisor" status --json "b$i" 2>/dev/null |
    jq -e '.bottles[0] | .confinement == "verified" and .actual == "running" and .converged' >/dev/null; do
    sleep 0.05
    if [ $(($(now_ms) - t0)) -gt 300000 ]; then
      echo "spec -> verified: not verified within 300 s; daemon log: $s/daemon.log" >&2
      break
    fi
  done
  verified+=("$(($(now_ms) - t0))")
  kill -TERM "$daemon"
  wait "$daemon" || true
done
stats "spec -> verified (supervisor)" "${verified[@]}"
