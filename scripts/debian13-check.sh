#!/usr/bin/env bash
# debian13-check.sh [ROOT]: builds and unit-tests this tree on Debian 13 (trixie) in a chroot.
#   1. makes a minimal trixie root in ROOT (default /var/tmp/bs-trixie) with debootstrap, once;
#   2. copies the work tree (tracked and untracked files, no build dirs) to ROOT/src;
#   3. inside the chroot: checks that every package scripts/install-deps.sh names exists in
#      trixie, installs what the binaries and unit tests need, builds them with GCC and warnings
#      as errors (BS_CHECK_ALL=1: the whole tree), and runs the unit tests (ctest, without the
#      integration and real-smolvm tests).
# Needs root. Not part of CI (CI builds on Debian 12); run it by hand before a release.
# The archive is the host's own Debian mirror (its apt sources), or DEBIAN_MIRROR.
# BS_CHECK_JOBS=N limits the build's parallelism (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
tree=$PWD
root=${1:-/var/tmp/bs-trixie}
[ "$(id -u)" -eq 0 ] || { echo "error: debootstrap and chroot need root" >&2; exit 1; }

mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # The first ".../debian" URI among the host's apt sources (deb822 or one-line format).
  mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
           grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n 1 | tr -d ' ' || true)
fi
[ -n "$mirror" ] || { echo "error: no Debian mirror in the apt sources; set DEBIAN_MIRROR" >&2; exit 1; }

if ! command -v debootstrap >/dev/null || ! command -v rsync >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap rsync >/dev/null
fi

started=$SECONDS
if [ ! -x "$root/usr/bin/apt-get" ] || [ ! -f "$root/.bs-debootstrap-done" ]; then
  echo "== debootstrap trixie into $root ($mirror)"
  rm -rf "$root"
  debootstrap --variant=minbase trixie "$root" "$mirror"
  touch "$root/.bs-debootstrap-done"
fi
grep -q '^VERSION_CODENAME=trixie' "$root/etc/os-release" ||
  { echo "error: $root is not a Debian 13 root" >&2; exit 1; }

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for m in proc sys dev dev/pts; do
  mkdir -p "$root/$m"
  mountpoint -q "$root/$m" || { mount --bind "/$m" "$root/$m"; mounted+=("$root/$m"); }
done
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

echo "== copy the tree to $root/src"
# What git would commit (tracked + untracked, not ignored), so build dirs stay behind. The
# chroot's build dir is kept between runs, so only files whose content changed are replaced, and
# they get the current time: a source older than an object built from its previous content (after
# a rebase, say) must still look newer to ninja.
stage=$(mktemp -d)
(git ls-files -z --cached --others --exclude-standard | grep -zvE '^build' |
   xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$stage"
mkdir -p "$root/src"
rsync -rlc --delete --exclude=/build "$stage/" "$root/src/"
rm -rf "$stage"

jobs=${BS_CHECK_JOBS:-$(nproc)}
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  BS_CHECK_JOBS="$jobs" BS_CHECK_ALL="${BS_CHECK_ALL:-0}" /bin/bash -euo pipefail -c '
  cd /src
  . /etc/os-release
  echo "== $PRETTY_NAME: install the build deps"
  apt-get update -qq
  # Every package the full install-deps.sh list names exists here...
  full=$(sed -n "/^packages=(/,/^fi/p" scripts/install-deps.sh | sed "s/#.*//" | grep -vE "^(packages|if|fi)|--binaries" |
         tr -d "()" | sed "s/packages+=//")
  for p in $full; do apt-cache show "$p" >/dev/null 2>&1 || { echo "no package $p in $PRETTY_NAME"; exit 1; }; done
  # ...but only what the binaries and the unit tests need is installed (no clang, valgrind, ...).
  scripts/install-deps.sh --binaries
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends catch2 >/dev/null
  echo "== compilers: $(g++ --version | head -n 1); catch2 $(dpkg-query -W -f="\${Version}" catch2)"
  echo "== build (GCC, -Werror): the binaries and the unit tests (BS_CHECK_ALL=1: everything)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 \
    -DBS_WERROR=ON -DBS_BENCH=OFF >/dev/null
  if [ "${BS_CHECK_ALL:-0}" = 1 ]; then
    ninja -C build -k 0 -j "$BS_CHECK_JOBS"
  else
    ninja -C build -k 0 -j "$BS_CHECK_JOBS" bottle-supervisor smolvm-sim \
      $(ninja -C build -t targets all | grep -oE "^unit_[a-z_]+:" | tr -d : | sort -u)
  fi
  echo "== unit tests"
  ctest --test-dir build -j "$BS_CHECK_JOBS" --output-on-failure -E "^(integration|real|packaging)"
'
echo "== Debian 13 check passed in $((SECONDS - started)) s"
