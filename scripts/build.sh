#!/usr/bin/env bash
# Configures and builds modeconn into build/ (or $BUILD_DIR); extra arguments go to cmake.
# BUILD_TARGET=modeconn builds only the executable.
set -euo pipefail
for arg in "$@"; do
  case "$arg" in
    -h|--help)
      cat <<HELP
usage: build.sh [CMAKE_ARGUMENT...]
Configures and builds modeconn into build/ (or \$BUILD_DIR); the CMAKE_ARGUMENTs (e.g. -DMODECONN_CUDA=ON) go
to cmake's configure step. BUILD_TARGET=modeconn builds only the executable.
HELP
      exit 0 ;;
  esac
done
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
else
  cmake -S . -B "$build_dir" "$@" >/dev/null
fi
cmake --build "$build_dir" -j "$(nproc)" ${BUILD_TARGET:+--target "$BUILD_TARGET"}
