#!/usr/bin/env bash
# The peer most researchers run today: PyTorch 2.x from PyPI (MKL, oneDNN), with NumPy and SciPy, in a
# virtual environment of its own, for the comparison scripts' --python option:
#   bench/compare/make-peer-venv.sh [DIR]          # default DIR: .venv-peer in the repository root
#   bench/compare/path_vs_torch.py --python .venv-peer/bin/python ...
# The wheel pulls several GB of CUDA libraries from PyPI, so CI never runs this. TORCH_VERSION pins a version
# (default: the newest on PyPI).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-$here/.venv-peer}
python=${PYTHON:-/usr/bin/python3}
spec=torch${TORCH_VERSION:+==$TORCH_VERSION}
if [[ ! -x $dir/bin/python ]]; then
  "$python" -m venv "$dir"
fi
"$dir/bin/python" -m pip install --quiet --upgrade pip
"$dir/bin/python" -m pip install --quiet "$spec" numpy scipy
"$dir/bin/python" - <<'PY'
import numpy, scipy, torch
print(f"peer venv ready: torch {torch.__version__} ({torch.__config__.parallel_info().splitlines()[0]}), "
      f"numpy {numpy.__version__}, scipy {scipy.__version__}")
PY
echo "use it with: --python $dir/bin/python"
