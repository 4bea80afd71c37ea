#!/usr/bin/env bash
# Installs the Debian 12 (or 13) packages bottle-supervisor builds and tests with. Idempotent: it asks
# apt only for what is missing. Needs root, or sudo.
# --binaries: only what bottle-supervisor and smolvm-sim need to build (scripts/demo.sh).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libuv1-dev libsqlite3-dev libtomlplusplus-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libsystemd-dev libmd-dev
)
if [ "${1:-}" != "--binaries" ]; then
  # libclang-rt-dev: the sanitizers' runtime (clang only recommends it, and we install no recommends)
  packages+=(clang libclang-rt-dev catch2 sqlite3 systemd valgrind file man-db groff-base)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: installing ${missing[*]} needs root or sudo" >&2; exit 1; }
  sudo=sudo
fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
