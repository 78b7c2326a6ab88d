#!/usr/bin/env bash
# Installs the host packages qemu-vm-manager needs on Debian or Ubuntu.
# With --test, also what the test suite needs (a Debian cloud kernel and
# busybox for the fixture installer, shellcheck, debconf-utils).
# Installs only what is missing, so a second run is quick.
set -euo pipefail

packages=(qemu-system-x86 qemu-utils xorriso cpulimit)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(shellcheck busybox-static linux-image-cloud-amd64 debconf-utils cpio xz-utils)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major < 20)); then
  echo "error: Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none)); install it from your distribution or nodejs.org" >&2
  exit 2
fi
