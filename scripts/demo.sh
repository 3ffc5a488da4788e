#!/usr/bin/env bash
# From a fresh machine: installs what modeconn needs, builds it, trains two MLPs 784-256-256-10 on
# Fashion-MNIST from different seeds and prints the loss and error barrier on the line between them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_TARGET=modeconn scripts/build.sh >/dev/null
echo "== modeconn demo"
build/host/modeconn demo --out-dir demo-out "$@"
