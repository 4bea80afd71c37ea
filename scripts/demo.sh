#!/usr/bin/env bash
# The main job on the embedded default: bottle-supervisor against smolvm-sim (the smolvm
# stand-in), in a throwaway HOME, with the example bottles from etc/bottles. It shows the
# bottles coming up confined, an out-of-band restart with an unrestricted policy being killed
# and brought back confined, and ends with the status table. Idempotent; cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
# Only the two binaries, in a build dir of its own: no tests, no benchmarks, and no -Werror (a
# newer compiler's new warning must not stop a first try).
started=$SECONDS
scripts/install-deps.sh --binaries
build=${BS_DEMO_BUILD:-build-demo}
# -O2 without -g (as scripts/build.sh): -O3 costs compile time and makes GCC 12 print false
# -Wrestrict warnings from libstdc++'s string code.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 \
  -DBS_TESTS=OFF -DBS_BENCH=OFF >/dev/null
ninja -C "$build" bottle-supervisor smolvm-sim
echo "built in $((SECONDS - started)) s"

root=$(mktemp -d /tmp/bottle-demo.XXXXXX)
export HOME=$root XDG_RUNTIME_DIR=$root/run
unset XDG_CONFIG_HOME XDG_STATE_HOME XDG_DATA_HOME XDG_CACHE_HOME SMOLVM_DATA_DIR NOTIFY_SOCKET
mkdir -p -m 700 "$XDG_RUNTIME_DIR" "$root/bin" "$HOME/.config/bottle-supervisor/bottles"
ln -s "$repo/$build/smolvm-sim" "$root/bin/smolvm"   # `smolvm` on PATH is the simulator
export PATH="$root/bin:$PATH"
install -m 600 etc/bottles/*.toml "$HOME/.config/bottle-supervisor/bottles/"
bs=$repo/$build/bottle-supervisor

"$bs" run 2>"$root/supervisor.log" &
daemon=$!
cleanup() {
  kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  # The supervisor leaves VMs running by design; the demo's own machines go with its HOME.
  for m in $(smolvm machine ls --json 2>/dev/null | sed -n 's/.*"name": "\(.*\)".*/\1/p'); do
    smolvm machine delete --name "$m" -f >/dev/null 2>&1 || true
  done
  rm -rf "$root"
}
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
settle() {  # until a full pass leaves every bottle converged (or 30 s)
  for _ in $(seq 300); do
    "$bs" reconcile >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

echo "throwaway HOME: $root  (smolvm = $repo/$build/smolvm-sim)"
step ls ~/.config/bottle-supervisor/bottles
ls "$HOME/.config/bottle-supervisor/bottles"
settle || true
step bottle-supervisor status
"$bs" status || true

# Someone starts the stopped bottle out of band, booting it with no egress policy at all: the
# supervisor sees the row change and kills that VM at once (scratch is meant to be stopped).
step "SMOLVM_SIM_FORCE_POLICY=null smolvm machine start --name bottle-scratch"
SMOLVM_SIM_FORCE_POLICY=null smolvm machine start --name bottle-scratch || true
settle || true
step bottle-supervisor events
"$bs" events

step bottle-supervisor status
"$bs" status
echo
echo "demo done in $((SECONDS - started)) s"
