#!/usr/bin/env bash
# Checks that every C++ and CUDA source follows the checked-in .clang-format (Debian's clang-format 14); lists
# the files that do not. `scripts/check-format.sh --fix` formats them in place.
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<HELP
usage: check-format.sh [--fix]
Checks that every C++ and CUDA source follows the checked-in .clang-format and lists those that do not;
--fix formats them in place.
HELP
    exit 0 ;;
esac
cd "$(dirname "$0")/.."
format=clang-format-14
command -v "$format" >/dev/null || format=clang-format
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cu' '*.cuh')
if [ "${1:-}" = --fix ]; then
  "$format" -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  "$format" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  printf 'not formatted (scripts/check-format.sh --fix):\n' >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "format: ${#files[@]} files follow .clang-format"
