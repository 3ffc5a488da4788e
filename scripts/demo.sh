#!/usr/bin/env bash
# From a fresh machine: installs what modeconn needs, builds it, trains two MLPs 784-256-256-10 on
# Fashion-MNIST from different seeds, analyzes the pair (naive line, weight matching, aligned line, fitted
# Bezier curve), prints the barrier table and draws demo-out/analysis.png.
set -euo pipefail
for arg in "$@"; do
  case "$arg" in
    -h|--help)
      cat <<HELP
usage: demo.sh [DEMO_OPTION...]
Installs what modeconn needs (scripts/setup.sh), builds it, trains two MLPs 784-256-256-10 on Fashion-MNIST
from different seeds, analyzes the pair (naive line, weight matching, aligned line, fitted Bezier curve),
prints the barrier table and draws demo-out/analysis.png. The DEMO_OPTIONs go to modeconn demo
(build/host/modeconn demo --help lists them).
HELP
      exit 0 ;;
  esac
done
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_TARGET=modeconn scripts/build.sh >/dev/null
echo "== modeconn demo"
build/host/modeconn demo --out-dir demo-out "$@"
/usr/bin/python3 scripts/plot.py demo-out/analysis.json -o demo-out/analysis.png
echo "drew demo-out/analysis.png"
