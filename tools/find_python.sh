#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or fail with one clear line.
# Order (STACK.md): $PYTHON; python3.13 / python3.12 / python3 on PATH; newest pyenv >= 3.12.
set -u
ok() {  # ok CMD -> true when CMD runs and is Python >= 3.12
  "$@" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}
if [ -n "${PYTHON:-}" ]; then
  if ok "$PYTHON"; then command -v "$PYTHON" || echo "$PYTHON"; exit 0; fi
  echo "femcell: \$PYTHON=$PYTHON is not a working Python >= 3.12" >&2; exit 1
fi
for cand in python3.13 python3.12 python3; do
  if command -v "$cand" >/dev/null 2>&1 && ok "$cand"; then
    "$cand" -c 'import sys; print(sys.executable)'; exit 0
  fi
done
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for v in $(ls -1 "$root/versions" 2>/dev/null | grep -E '^3\.[0-9]+\.[0-9]+$' | sort -t. -k1,1n -k2,2n -k3,3n -r); do
    for exe in "$root/versions/$v/bin/python3" "$root/versions/$v/bin/python"; do
      if [ -x "$exe" ] && ok "$exe"; then echo "$exe"; exit 0; fi
    done
  done
fi
echo "femcell: no Python >= 3.12 found (set PYTHON=/path/to/python3.12, or install one, e.g. 'pyenv install 3.12')" >&2
exit 1
