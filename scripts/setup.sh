#!/usr/bin/env bash
# Installs every dependency modeconn needs from Debian packages; safe to run again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  clang-14 libclang-rt-14-dev clang-format-14
  libboost-program-options-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  nlohmann-json3-dev
  libopenblas-dev
  zlib1g-dev
  libomp-dev
  dataset-fashion-mnist
  slurm-wlm munge
  python3 python3-numpy python3-scipy python3-matplotlib python3-torch
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all dependencies present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Another apt run (unattended-upgrades, a second setup on a shared login node) holds apt's locks for minutes;
# waiting for it beats failing half-way through a demo or a build. DPkg::Lock::Timeout makes apt-get wait up
# to 10 minutes for the dpkg lock. apt-get update takes the package lists' lock instead, which that option
# does not cover (apt 2.6 fails at once), so it is tried again while that lock is what stopped it (its
# messages in English, to tell).
tries=0
until update_log=$(LC_ALL=C $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq 2>&1); do
  if [[ "$update_log" != *"Could not get lock"* ]] || [ $((tries += 1)) -ge 120 ]; then
    printf '%s\n' "$update_log" >&2
    exit 100
  fi
  [ "$tries" -gt 1 ] || echo "setup: another apt run holds the package lists; waiting for it (up to 10 minutes)"
  sleep 5
done
[ -z "$update_log" ] || printf '%s\n' "$update_log"
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
