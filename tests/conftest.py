import os, shutil, subprocess, sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
BIN = Path(sys.executable).parent


def run_build(*args, check=True):
    "Run the installed `mmmrs-build` command; return the completed process."
    exe = shutil.which("mmmrs-build", path=str(BIN)) or "mmmrs-build"
    res = subprocess.run([exe, "--no-progress", *map(str, args)], capture_output=True, text=True, timeout=600)
    if check and res.returncode != 0: raise AssertionError(f"mmmrs-build {args} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


@pytest.fixture(scope="session")
def samples():
    from mmmrs.testing import shared_samples
    return shared_samples()
