#!/usr/bin/env bash
# Builds the CI image on a machine without Docker or a GPU, and runs its test stage: a base image made here from
# Debian 12 (debootstrap) and this machine's CUDA toolkit, then `podman build --isolation chroot` of
# docker/Dockerfile up to its `test` stage, whose build step runs docker/run-tests.sh (the CPU suite and the
# emulated kernel suite). Needs root, network to Debian's archive, and the toolkit in /usr/local/cuda.
#
#   docker/build-local.sh            # base (cached in build-docker/), image modeconn-ci, its test stage
#   KEEP_BASE=0 docker/build-local.sh  # make the base again
set -euo pipefail
cd "$(dirname "$0")/.."
work=$PWD/build-docker
base_tag=localhost/modeconn-base:bookworm-cuda13
cuda=$(readlink -f /usr/local/cuda)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

need=()
command -v podman >/dev/null || need+=(podman)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "build-local: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x "$cuda/bin/nvcc" ] || { echo "build-local: no CUDA toolkit in /usr/local/cuda" >&2; exit 2; }
mkdir -p "$work"

if [ "${KEEP_BASE:-1}" = 0 ] || ! podman image exists "$base_tag"; then
  echo "== base: Debian 12 (debootstrap from $mirror) with the CUDA toolkit of $cuda"
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; exit 1; }
  # What building modeconn needs of the toolkit: the compiler, headers, the runtime and cuBLAS (no cuDNN, cuFFT,
  # NCCL ...), under the same path, with the usual /usr/local/cuda link.
  mkdir -p "$work/rootfs$cuda"
  tar -C "$cuda" -cf - --exclude='lib/libcudnn*' --exclude='lib/libcufft*' --exclude='lib/libcusolver*' \
      --exclude='lib/libcusparse*' --exclude='lib/libcurand*' --exclude='lib/libnccl*' --exclude='lib/libnpp*' \
      --exclude='lib/libnvjpeg*' --exclude='lib/libnvrtc*' --exclude='lib/libnvblas*' --exclude='lib/libcufile*' \
      --exclude='dist-info' . |
    tar -C "$work/rootfs$cuda" -xf -
  ln -sfn "$cuda" "$work/rootfs/usr/local/cuda"
  echo "$cuda/lib64" >"$work/rootfs/etc/ld.so.conf.d/cuda.conf"  # as the toolkit's installer does
  chroot "$work/rootfs" /sbin/ldconfig
  rm -rf "$work/rootfs/var/cache/apt/archives"/*.deb
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
  podman import --quiet "$work/rootfs.tar" "$base_tag" >/dev/null
  rm -rf "$work/rootfs" "$work/rootfs.tar"
fi

echo "== image: docker/Dockerfile on $base_tag, up to its test stage"
podman build --isolation chroot --build-arg "BASE=$base_tag" -f docker/Dockerfile --target test -t modeconn-ci:test .
echo "build-local: the image's test stage passed (image modeconn-ci:test)"
