#!/usr/bin/env bash
# build.sh [DIR] [extra cmake args...]: configures (once) and builds into DIR (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
# -O2 without -g by default: the tests build fastest that way and warnings still see optimised code.
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 "$@" >/dev/null
ninja -C "$dir"
