"""Start-up budget of `mmmrs-build`: the modules `import mmmrs.build` and `mmmrs-build --help` load, counted, not timed.

Each runs in a fresh interpreter. Heavy libraries the build does not need are never imported; pandas (with the pyarrow
compute kernels it loads, about 0.4 s and 75 MiB) is imported only when a table is first written, after a one-shard
build's pixel work. The ceiling on the module count leaves room to grow (about 470 at the time of writing; 815 before
pandas was imported lazily), and fails when a new top-level import drags in a large library.
"""
import json, shutil, subprocess, sys
from pathlib import Path

import pytest

NEVER = ("torch", "torchvision", "diffusers", "transformers", "accelerate", "matplotlib", "dask", "distributed",
         "datasets", "peft", "pandas")
CEILING = 600  # modules in sys.modules, interpreter's own included

REPORT = ("import atexit, json, sys; "
          "atexit.register(lambda: print('MODULES=' + json.dumps(sorted(sys.modules)), file=sys.stderr))")


def loaded_modules(code: str, *args) -> list[str]:
    "The names in `sys.modules` when a fresh interpreter running `code` with `args` exits."
    cmd = [sys.executable, "-c", f"{REPORT}\n{code}", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    line = [l for l in res.stderr.splitlines() if l.startswith("MODULES=")]
    assert line, f"no module list ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
    return json.loads(line[-1].removeprefix("MODULES="))


def check_budget(mods: list[str], what: str):
    top = {m.split(".")[0] for m in mods}
    assert not top & set(NEVER), f"{what} imports {sorted(top & set(NEVER))}"
    assert len(mods) <= CEILING, f"{what} loads {len(mods)} modules (ceiling {CEILING}); the largest packages: " + \
        str(sorted(((sum(m.split('.')[0] == t for m in mods), t) for t in top), reverse=True)[:8])


def test_import_build():
    mods = loaded_modules("import mmmrs.build")
    check_budget(mods, "import mmmrs.build")
    assert "mmmrs.build" in mods  # the count is of a real import, not of an interpreter that failed early


def test_help():
    "The console script itself, as the shell runs it (its file as __main__), with --help."
    exe = shutil.which("mmmrs-build", path=str(Path(sys.executable).parent))
    if exe is None: pytest.skip("the mmmrs-build console script is not installed in this environment")
    mods = loaded_modules(f"import runpy; sys.argv = [{exe!r}, '--help']; runpy.run_path({exe!r}, run_name='__main__')")
    check_budget(mods, "mmmrs-build --help")
    assert "mmmrs.build" in mods


def test_budget_catches_a_heavy_import():
    "The check itself fails on what it guards against."
    mods = loaded_modules("import mmmrs.build, pandas")
    with pytest.raises(AssertionError, match="pandas"): check_budget(mods, "import mmmrs.build, pandas")
    light = [m for m in mods if m.split(".")[0] not in NEVER]
    padded = light + [f"fake{i}" for i in range(CEILING)]
    with pytest.raises(AssertionError, match="ceiling"): check_budget(padded, "padded")
