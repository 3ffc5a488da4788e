#!/usr/bin/env bash
# Builds everything with CUDA on this (GPU-less) machine for the GPU machine, which has the CUDA toolkit but
# none of our Debian packages: binaries and the non-system shared libraries they need go to build-gpu/dist,
# binaries in bin/ with an $ORIGIN/../lib rpath, libraries in lib/. Ship build-gpu/dist with the sources
# and run scripts/gpu-check.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
BUILD_DIR=build-gpu scripts/build.sh -DCMAKE_BUILD_TYPE=Release -DMODECONN_CUDA=ON '-DCMAKE_BUILD_RPATH=$ORIGIN/../lib'

dist=build-gpu/dist
rm -rf "$dist"
mkdir -p "$dist/bin" "$dist/lib"
binaries=(build-gpu/host/modeconn build-gpu/tests/*_tests build-gpu/bench/path_bench build-gpu/bench/lap_bench build-gpu/bench/gpu_bench)
for b in "${binaries[@]}"; do
  cp "$b" "$dist/bin/"
  strip --strip-unneeded "$dist/bin/$(basename "$b")"
done
# The core library and the CUDA module it loads at run time (no binary names the module, so ldd cannot).
cp build-gpu/lib/libmodeconn_core.so build-gpu/lib/libmodeconn_cuda.so "$dist/lib/"
# Every shared library the binaries load, but the C library's own, the CUDA driver and the CUDA toolkit's
# (the GPU machine has its own, matching its driver).
for b in "$dist"/bin/*; do ldd "$b"; done | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libcuda.so*|libcudart.so*|libcublas*.so*|libmodeconn_*) ;;
    *) cp -L "$lib" "$dist/lib/" ;;
  esac
done
du -sh "$dist" "$dist/bin" "$dist/lib"
echo "ship build-gpu/dist (carry) and run: scripts/gpu-check.sh"
