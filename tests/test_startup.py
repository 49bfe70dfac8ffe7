"""Start-up budget of `mmmrs-build`: the modules `import mmmrs.build`, `mmmrs-build --help`, a whole one-tile build and
`mmmrs-build check` load, counted, not timed.

Each runs in a fresh interpreter. Heavy libraries the build does not need are never imported. pandas (with the pyarrow
compute kernels it loads, about 0.3 s and 40 MiB) is not imported at all: a shard's part tables are written by
`mmmrs.shards.table_bytes`, and the merged tables, stats, summary, dataset card and Parquet view work on rows read by
`mmmrs.shards.read_rows`, all with the bytes pandas wrote; pydantic is not imported either (the cards are checked by
pydantic-core's schemas); the process pool waits for `--workers`, and a terminal's progress bar is tqdm's own
(tqdm.auto adds asyncio). The ceilings on the module counts leave room to grow (at the time of writing: import 334,
was 405 with multiprocessing and asyncio, 477 with pydantic and fastcore.script; a one-tile build 396, was 432, 842
with pandas and pydantic), and fail when a new top-level import drags in a large library.
"""
import json, os, shutil, subprocess, sys
from pathlib import Path

import pytest

NEVER = ("torch", "torchvision", "diffusers", "transformers", "accelerate", "matplotlib", "dask", "distributed",
         "datasets", "peft", "pandas", "pydantic",  # pydantic: the cards are checked by pydantic-core's own schemas
         "numba")  # the weather kernels' compiler: only from a process's COMPILED_AFTER-th weather variant on
CEILING = 450  # modules in sys.modules, interpreter's own included
BUILD_CEILING = 550  # the same, at the end of a whole one-tile build or its check

REPORT = ("import atexit, json, sys; "
          "atexit.register(lambda: print('MODULES=' + json.dumps(sorted(sys.modules)), file=sys.stderr))")


def loaded_modules(code: str, *args) -> list[str]:
    "The names in `sys.modules` when a fresh interpreter running `code` with `args` exits."
    cmd = [sys.executable, "-c", f"{REPORT}\n{code}", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    line = [l for l in res.stderr.splitlines() if l.startswith("MODULES=")]
    assert line, f"no module list ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
    return json.loads(line[-1].removeprefix("MODULES="))


def check_budget(mods: list[str], what: str, never=NEVER, ceiling=CEILING):
    top = {m.split(".")[0] for m in mods}
    assert not top & set(never), f"{what} imports {sorted(top & set(never))}"
    assert len(mods) <= ceiling, f"{what} loads {len(mods)} modules (ceiling {ceiling}); the largest packages: " + \
        str(sorted(((sum(m.split('.')[0] == t for m in mods), t) for t in top), reverse=True)[:8])


def test_import_build():
    """pyarrow too waits for the first table: a build's first scenes are decoded without its 35 MiB; multiprocessing
    for `--workers` (or tqdm's first bar, which makes a multiprocessing lock); asyncio for a notebook's bar."""
    mods = loaded_modules("import mmmrs.build")
    check_budget(mods, "import mmmrs.build", NEVER + ("pyarrow", "multiprocessing", "asyncio"))
    assert "mmmrs.build" in mods  # the count is of a real import, not of an interpreter that failed early


def test_help():
    "The console script itself, as the shell runs it (its file as __main__), with --help."
    exe = shutil.which("mmmrs-build", path=str(Path(sys.executable).parent))
    if exe is None: pytest.skip("the mmmrs-build console script is not installed in this environment")
    mods = loaded_modules(f"import runpy; sys.argv = [{exe!r}, '--help']; runpy.run_path({exe!r}, run_name='__main__')")
    check_budget(mods, "mmmrs-build --help", NEVER + ("pyarrow",))
    assert "mmmrs.build" in mods


def test_budget_catches_a_heavy_import():
    "The check itself fails on what it guards against."
    mods = loaded_modules("import mmmrs.build, pandas")
    with pytest.raises(AssertionError, match="pandas"): check_budget(mods, "import mmmrs.build, pandas")
    light = [m for m in mods if m.split(".")[0] not in NEVER]
    padded = light + [f"fake{i}" for i in range(CEILING)]
    with pytest.raises(AssertionError, match="ceiling"): check_budget(padded, "padded")


CARD = """---
name: startup-check
title: start-up check
url: https://example.org
license: CC0-1.0
citation: none
modalities:
  rgb: "*.jpg"
satellite: aerial
gsd: 0.3
---
"""

BUILD = "import sys, mmmrs.build as b\nsys.exit(b.main(sys.argv[1:]))"


def test_one_tile_build(tmp_path):
    "A whole build of one 512x512 JPEG, then its check: no model library and no pandas at any point."
    from PIL import Image
    import numpy as np
    (tmp_path / "in").mkdir()
    pixels = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in/a.jpg")
    (tmp_path / "card.md").write_text(CARD)
    for args, said in [(["--source", f"{tmp_path / 'card.md'}={tmp_path / 'in'}", "--out", str(tmp_path / "out"),
                         "--no-progress"], "OK: 1 text-image pairs"), (["check", str(tmp_path / "out")], "OK")]:
        cmd = [sys.executable, "-c", f"{REPORT}\n{BUILD}", *args]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0 and said in res.stdout, res.stdout[-2000:] + res.stderr[-2000:]
        mods = [json.loads(l.split("=", 1)[1]) for l in res.stderr.splitlines() if l.startswith("MODULES=")][-1]
        check_budget(mods, f"mmmrs-build {args[0]}", NEVER, BUILD_CEILING)
        assert "mmmrs.weather" not in mods  # the weather models' module, for a build that asks for a weather only


def test_console_script_freezes_at_exit(tmp_path):
    """`mmmrs-build` runs `console`: `main`'s exit status, then the objects still alive are frozen, so the interpreter's
    exit does not collect them once more (0.1 s of a 1.3 s build of three WHU-size scenes); `main`, which notebooks
    call, freezes nothing."""
    import tomllib
    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["mmmrs-build"] == "mmmrs.build:console"
    code = ("import gc, sys, mmmrs.build as b\n"
            "said = b.main(['check', sys.argv[1]]); frozen_by_main = gc.get_freeze_count()\n"
            "sys.argv = ['mmmrs-build', 'check', sys.argv[1]]\n"
            "print(said, frozen_by_main, b.console(), gc.get_freeze_count() > 0)")
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "nowhere")], capture_output=True, text=True,
                         timeout=120)
    said, frozen_by_main, status, frozen = res.stdout.split()[-4:]
    assert said == status != "0" and frozen_by_main == "0" and frozen == "True", res.stdout + res.stderr


def test_console_gives_arrow_the_system_allocator(tmp_path):
    """`console` has pyarrow allocate with the C library's malloc, which gives freed memory back (mimalloc, pyarrow's
    default, kept 13 MiB of a three-scene build's 129 MiB peak); a user's `ARROW_DEFAULT_MEMORY_POOL` is kept, and
    `main`, which notebooks call, leaves pyarrow's allocator alone."""
    code = ("import sys, mmmrs.build as b\n"
            "getattr(b, sys.argv[1])(['check', sys.argv[2]])\n"
            "import pyarrow as pa; print(pa.default_memory_pool().backend_name)")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    def pool(entry, **extra):
        res = subprocess.run([sys.executable, "-c", code, entry, str(tmp_path / "nowhere")], capture_output=True,
                             text=True, timeout=120, env={**env, **extra})
        return res.stdout.split()[-1] if res.stdout.split() else res.stderr
    default = pool("main")
    assert default != "system", default  # pyarrow's own default (mimalloc or jemalloc)
    assert pool("console") == "system"
    assert pool("console", ARROW_DEFAULT_MEMORY_POOL=default) == default
