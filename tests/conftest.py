import os, shutil, subprocess, sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
BIN = Path(sys.executable).parent


def run_build(*args, check=True):
    "Run the installed `mmmrs-build` command; return the completed process."
    exe = shutil.which("mmmrs-build", path=str(BIN)) or "mmmrs-build"
    args = [str(a) for a in args]
    if args[:1] != ["check"]: args.insert(1 if args[:1] == ["plan"] else 0, "--no-progress")  # check shows no progress bar
    res = subprocess.run([exe, *args], capture_output=True, text=True, timeout=600)
    if check and res.returncode != 0: raise AssertionError(f"mmmrs-build {args} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


@pytest.fixture(scope="session")
def samples():
    from mmmrs.testing import shared_samples
    return shared_samples()
