"""The compiled weather kernels of this checkout against another version of them, in the same rounds.

  git show 55476cb:mmmrs/kernels.py > /tmp/kernels_before.py
  OMP_NUM_THREADS=1 python bench/kernels_ab.py /tmp/kernels_before.py [--rounds 200]

`bench/weather.py` compares each model with the I/O around it; run to run its ratios move by about 10 % on a shared
machine, more than most changes to a kernel. Here both versions of `mmmrs.kernels` run in one process, the models
alone, in rounds whose order is shuffled (so neither version always runs after the other, which warms the caches for
it), on varying seeds as a build varies them, each model on the benchmark tiles decoded from their JPEGs (packed
arrays, as the build hands them). Both versions are copied to a temporary folder and compiled afresh there (half a
minute), so neither is the package's own module or numba's cached code (the same code timed up to 5 % apart when one
of them was). Two copies of one version timed -1.3 % to +1.2 % apart (two runs, both tiles), and an unchanged model
once +4.7 %: changes under a few per cent are noise. Both must give the same bytes. Prints each model's median time by
either version and the change; a model whose kernels the other version calls differently (this checkout's
`mmmrs.weather` calls both) is left out.
"""
import argparse, importlib.util, io, shutil, statistics, sys, tempfile, time
from pathlib import Path

import numpy as np
from PIL import Image

from mmmrs import kernels, weather

sys.path.insert(0, str(Path(__file__).parent))
from weather import TILES, decoded, tile_sample  # noqa: E402  (bench/weather.py)


def kernels_from(path, name: str):
    "The kernels module in the file `path`, as `name` (numba caches its compiled code beside the file)."
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # numba's cache finds the module by name
    spec.loader.exec_module(module)
    return module


def made_by(k, model, sample, seed):
    "`model`'s image of `sample` with `seed`, by the kernels `k` from the first variant on."
    weather._kernels, weather.COMPILED_AFTER = (lambda: k), 0
    return weather.WEATHER_MODELS[model][0](sample, seed)["images"]["rgb"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("other", help="another version's mmmrs/kernels.py (e.g. from git show REV:mmmrs/kernels.py)")
    p.add_argument("--rounds", type=int, default=200)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:  # both copied there, so both are compiled afresh, the same way
        files = {"other": args.other, "this": kernels.__file__}
        for version, file in files.items(): shutil.copy(file, Path(tmp) / f"kernels_{version}.py")
        compare({v: kernels_from(Path(tmp) / f"kernels_{v}.py", f"kernels_{v}") for v in files}, args.rounds)


def compare(versions: dict, rounds: int):
    "Time the models by both `versions` of the kernels in shuffled rounds, after checking they give the same bytes."
    kernels_of, after = weather._kernels, weather.COMPILED_AFTER
    try:
        for path, window in TILES:
            clear = tile_sample(path, window)
            buf = io.BytesIO()
            Image.fromarray(clear["images"]["rgb"]).save(buf, "JPEG", quality=75)
            sample = decoded(clear, buf.getvalue())
            models = []
            for model in weather.WEATHER_MODELS:
                mine = made_by(versions["this"], model, sample, 3)
                try: theirs = made_by(versions["other"], model, sample, 3)
                except Exception as e:  # numba's typing error: another signature
                    print(f"{path}: {model} left out, the other kernels take other arguments ({type(e).__name__})")
                    continue
                if mine.tobytes() != theirs.tobytes(): raise SystemExit(f"{model} differs between the versions")
                models.append(model)
            times, order = {(m, v): [] for m in models for v in versions}, np.random.default_rng(0)
            for key in times: made_by(versions[key[1]], key[0], sample, 0)  # compiled or loaded from the cache
            for r in range(rounds):
                for i in order.permutation(len(times)):
                    model, version = key = list(times)[i]
                    start = time.perf_counter()
                    made_by(versions[version], model, sample, r)
                    times[key].append(time.perf_counter() - start)
            print(f"{path}, {rounds} shuffled rounds, one core:")
            for model in models:
                other, this = (statistics.median(times[model, v]) * 1e3 for v in ("other", "this"))
                print(f"  {model:5s} other {other:6.3f} ms   this {this:6.3f} ms   ({this / other - 1:+.1%})")
    finally:
        weather._kernels, weather.COMPILED_AFTER = kernels_of, after


if __name__ == "__main__":
    main()
