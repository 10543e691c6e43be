#!/usr/bin/env bash
# Installs the Debian 12 packages veil needs to build, test and fuzz, if any
# are missing. Needs root (or sudo) only when something must be installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libgmp-dev libssl-dev libsodium-dev
  libprotobuf-c-dev protobuf-c-compiler
  libcunit1-dev libjansson-dev libcsv-dev
  clang libclang-rt-14-dev
  python3 sqlite3 time
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
