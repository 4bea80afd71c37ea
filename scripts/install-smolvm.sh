#!/usr/bin/env bash
# Installs real smolvm (the pinned PyPI wheel smolmachines==1.32.2) so `smolvm` is on PATH, for
# the demo, the daemon and `ctest -L real-smolvm`. Idempotent: a second run only checks.
#
#   venv:    /opt/bottle-supervisor/smolvm-venv as root, else ~/.local/share/bottle-supervisor/smolvm-venv
#            (BS_SMOLVM_VENV=DIR overrides)
#   symlink: smolvm -> <venv>/.../site-packages/smol/smol-vmm in /usr/local/bin as root, else
#            ~/.local/bin (BS_SMOLVM_BIN_DIR=DIR overrides)
#
# Debian packages: python3-venv when `python3 -m venv` does not work, and smolvm's own package
# dependencies (crun, jq, e2fsprogs); apt-get is asked only for what is missing.
set -euo pipefail

version=1.32.2
if [ "$(id -u)" -eq 0 ]; then
  venv=${BS_SMOLVM_VENV:-/opt/bottle-supervisor/smolvm-venv}
  bin_dir=${BS_SMOLVM_BIN_DIR:-/usr/local/bin}
else
  venv=${BS_SMOLVM_VENV:-$HOME/.local/share/bottle-supervisor/smolvm-venv}
  bin_dir=${BS_SMOLVM_BIN_DIR:-$HOME/.local/bin}
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi

# --- Debian packages --------------------------------------------------------------------------
# (Shell only on the fast path: with a loaded machine even a python3 start-up costs seconds.)
shopt -s nullglob
installed() {  # the smol-vmm of an installed smolmachines==$version, or nothing
  local d
  for d in "$venv"/lib/python3*/site-packages; do
    if [ -d "$d/smolmachines-$version.dist-info" ] && [ -x "$d/smol/smol-vmm" ]; then
      echo "$d/smol/smol-vmm"
      return
    fi
  done
}
target=$(installed)
packages=(crun jq e2fsprogs)
# `python3 -m venv` also needs ensurepip, which Debian ships in python3-venv.
if [ -z "$target" ] && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then packages+=(python3-venv); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null; then
    echo "error: installing ${missing[*]} needs root or sudo" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- the wheel, in its own venv ----------------------------------------------------------------
if [ -z "$target" ]; then
  [ -x "$venv/bin/python3" ] || python3 -m venv "$venv"
  echo "installing smolmachines==$version into $venv"
  "$venv/bin/python3" -m pip install -q --disable-pip-version-check "smolmachines==$version"
  target=$(installed)
fi
if [ -z "$target" ]; then
  echo "error: smolmachines $version in $venv has no executable smol/smol-vmm" >&2
  exit 1
fi

# --- smolvm on PATH ----------------------------------------------------------------------------
# A symlink, not a copy: smol-vmm resolves its own path (/proc/self/exe) to find libkrun, libkrunfw
# and the agent rootfs next to it in the wheel.
mkdir -p "$bin_dir"
if [ "$(readlink "$bin_dir/smolvm" 2>/dev/null || true)" != "$target" ]; then
  ln -sfn "$target" "$bin_dir/smolvm"
fi
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "note: $bin_dir is not on PATH; add it, or use $bin_dir/smolvm" >&2 ;;
esac

# --- /dev/kvm for the VMs' own uids ------------------------------------------------------------
# Run as root, smolvm drops each VM process to a uid of its own (2000000, 2000001, ...; `.vm-uid`
# in the VM's data dir), which reaches /dev/kvm through the `kvm` group. A /dev/kvm left
# root:root 0600 (hosts without udev's kvm rule, e.g. containers) makes every start fail.
if [ "$(id -u)" -eq 0 ] && [ -e /dev/kvm ]; then
  getent group kvm >/dev/null || groupadd --system kvm
  if [ "$(stat -c '%U:%G %a' /dev/kvm)" = "root:root 600" ]; then
    chgrp kvm /dev/kvm
    chmod 0660 /dev/kvm
  fi
fi

"$bin_dir/smolvm" --version 2>/dev/null
