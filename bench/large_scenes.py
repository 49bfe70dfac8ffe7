"""Large scenes: the kit's build against the authors' scripts, side by side, alternating runs.

  python bench/large_scenes.py [--scene inria|gid|whu] [--tiles 3] [--runs 5] [--format jpg|tif-striped|tif-tiled]
                               [--before DIR]

`--scene inria` (default): 5000x5000 tiles at 0.3 m through a pyramid. `--scene gid` (7200x6800) and `--scene whu`
(5556x3704): plain 512 tiling (Algorithm 1), against the tiling loop of the released `GID.py` / `WHU_OPT_SAR.py` (open,
crop every whole 512 tile, save it as JPEG), written here as plain PIL too.

The baseline is the algorithm of the released `Standardized_processing/Inria.py` (ljl5261/MMM-RS), written here as
plain PIL (it cannot be fetched at run time) with the script's `tqdm` progress bar: open a 5000x5000 tile, centred
crops of 4096, 2048 and 1024 resized to 512 (PIL's default bicubic), the four 512 corners and the centre of the 1024
crop, each saved as JPEG at PIL's default quality (75). The missing `512/` folder the script never creates is created
here.

The kit's run is `mmmrs-build` with a card over the same files and `pyramid: true` (the same 8 outputs per tile),
which also writes shards, the manifest, provenance and prompts. A third run builds one 512x512 tile in the scenes'
format (a GeoTIFF's start-up includes GDAL's, ≈0.15 s): start-up alone, and the authors' loop over an empty folder
gives Python's own start-up: the last line compares the two per scene, start-up excluded, which is what a build of
thousands of scenes per process pays. Each run is a fresh process (wall time; CPU time and peak RSS from `wait4`);
runs alternate so that the machine's noise hits each side alike, after one round that is not counted (it warms the
page cache and lets Python write the kit's bytecode, as after a pip install). Ratios, not absolute times, are what
compare across machines.

`--before DIR` also runs the kit (and its start-up) with the package found in DIR first on PYTHONPATH, e.g. an older
commit (`git archive OLD | tar -x -C DIR`), in the same alternating runs: a change's effect measured side by side, with
the machine's noise shared, instead of from two sessions.
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, textwrap, time
from pathlib import Path

HERE = Path(__file__).resolve().parent

TILING = textwrap.dedent('''
    import os, sys
    from PIL import Image
    from tqdm import tqdm
    directory, output_dir, ext = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(output_dir, exist_ok=True)
    names = [name for name in sorted(os.listdir(directory)) if name.endswith(ext)]
    for name in tqdm(names, desc=f"Processing {directory}"):
        with Image.open(os.path.join(directory, name)) as img:
            if img.mode != "RGB": img = img.convert("RGB")
            for i in range(img.width // 512):
                for j in range(img.height // 512):
                    img.crop((i * 512, j * 512, i * 512 + 512, j * 512 + 512)).save(
                        os.path.join(output_dir, f"{name[:-4]}_{i * 512}_{j * 512}.jpg"), "JPEG")
''')

BASELINE = textwrap.dedent('''
    import os, sys
    from PIL import Image
    from tqdm import tqdm
    def crop_resize_and_organize(image_path, output_dir, sizes):
        with Image.open(image_path) as img:
            sx, sy = (img.width - sizes[0]) // 2, (img.height - sizes[0]) // 2
            cur = img.crop((sx, sy, sx + sizes[0], sy + sizes[0]))
            cur.resize((512, 512)).save(os.path.join(output_dir, f"{sizes[0]}", f"resize_512_from_{sizes[0]}_{os.path.basename(image_path)}"))
            for size in sizes[1:]:
                nx, ny = (cur.width - size) // 2, (cur.height - size) // 2
                cur = cur.crop((nx, ny, nx + size, ny + size))
                cur.resize((512, 512)).save(os.path.join(output_dir, f"{size}", f"resize_512_from_{size}_{os.path.basename(image_path)}"))
                if size == 1024:
                    for i in range(2):
                        for j in range(2):
                            sub = cur.crop((i * 512, j * 512, i * 512 + 512, j * 512 + 512))
                            sub.resize((512, 512)).save(os.path.join(output_dir, "512", f"crop_512_{i}_{j}_{os.path.basename(image_path)}"))
                    cx, cy = (cur.width - 512) // 2, (cur.height - 512) // 2
                    cur.crop((cx, cy, cx + 512, cy + 512)).resize((512, 512)).save(
                        os.path.join(output_dir, "512", f"crop_512_center_{os.path.basename(image_path)}"))
    directory, output_dir, ext = sys.argv[1], sys.argv[2], sys.argv[3]
    sizes = [4096, 2048, 1024]
    for s in sizes + [512]: os.makedirs(os.path.join(output_dir, str(s)), exist_ok=True)  # the script forgets 512/
    for f in tqdm(sorted(f for f in os.listdir(directory) if f.endswith(ext)), desc="Processing images"):
        crop_resize_and_organize(os.path.join(directory, f), output_dir, sizes)
''')

CARD = """---
name: bench-inria
title: bench
url: https://example.org
license: CC0-1.0
citation: bench
modalities:
  rgb: "{glob}"
satellite: aerial
gsd: 0.3
pyramid: {pyramid}
---
"""
SIZES = {"inria": (5000, 5000), "gid": (7200, 6800), "whu": (5556, 3704)}


def make_tiles(folder: Path, n: int, fmt: str, size=(5000, 5000)) -> list[Path]:
    "n real-content scenes of `size`: the shipped NEON aerial scene, upscaled, shifted and flipped per scene."
    import numpy as np
    from PIL import Image
    from mmmrs.core import package_data
    src = Image.open(package_data("demo_data", "neon", "2019_YELL_2_528000_4978000_image_crop2_q92.jpg")).convert("RGB")
    W, H = size
    big = src.resize((W + 200, H + 600), Image.Resampling.BICUBIC)
    def save(img, p):
        if fmt == "jpg": return img.save(p, "JPEG", quality=90)
        import rasterio
        kw = dict(tiled=True, blockxsize=512, blockysize=512) if fmt == "tif-tiled" else {}
        with rasterio.open(p, "w", driver="GTiff", width=img.width, height=img.height, count=3, dtype="uint8",
                           compress="deflate", **kw) as dst:
            dst.write(np.moveaxis(np.asarray(img), -1, 0))
    paths, ext = [], "jpg" if fmt == "jpg" else "tif"
    for i in range(n):
        tile = big.crop((i * 60, i * 180, i * 60 + W, i * 180 + H))
        if i % 2: tile = tile.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        save(tile, p := folder / f"tile{i}.{ext}"); paths.append(p)
    save(tile.crop((0, 0, 512, 512)), folder.parent / "tiny" / f"tiny.{ext}")  # in the scenes' format: its start-up
    return paths


def timed(cmd: list[str], cwd=None, env=None) -> tuple[float, float, float]:
    "Wall seconds, peak RSS (MiB) and CPU seconds (user + system) of one fresh process (in `env`, if given)."
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0: raise RuntimeError(f"{cmd[:3]} failed: {p.stderr.read().decode()[-2000:]}")
    return wall, ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scene", default="inria", choices=list(SIZES)); ap.add_argument("--tiles", type=int, default=3); ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--format", default="jpg", choices=["jpg", "tif-striped", "tif-tiled"])
    ap.add_argument("--before", help="also time the kit with the package in this folder first on PYTHONPATH")
    ap.add_argument("--make-tiles", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.make_tiles: return make_tiles(Path(a.make_tiles), a.tiles, a.format, SIZES[a.scene])
    tmp = Path(tempfile.mkdtemp(prefix="bench-inria-"))
    data, tiny, empty = tmp / "data", tmp / "tiny", tmp / "empty"; data.mkdir(); tiny.mkdir(); empty.mkdir()
    # the tiles are made in another process: peak RSS of a child counts the parent's pages at fork, so this one stays small
    subprocess.run([sys.executable, __file__, "--make-tiles", str(data), "--tiles", str(a.tiles), "--format", a.format,
                    "--scene", a.scene], check=True)
    ext = ".jpg" if a.format == "jpg" else ".tif"
    pyramid = a.scene == "inria"
    (tmp / "card.md").write_text(CARD.format(glob=f"*{ext}", pyramid=str(pyramid).lower()))
    (tmp / "tiny.md").write_text(CARD.format(glob=f"*{ext}", pyramid="false"))
    (tmp / "baseline.py").write_text(BASELINE if pyramid else TILING)
    authors = "authors' Inria.py (PIL)" if pyramid else f"authors' {'GID' if a.scene == 'gid' else 'WHU_OPT_SAR'}.py (PIL)"
    kit = "mmmrs-build, pyramid: true" if pyramid else "mmmrs-build, 512 tiles"
    py, build = sys.executable, [shutil.which("mmmrs-build") or str(Path(sys.executable).parent / "mmmrs-build")]
    runs = {authors: lambda o: [py, str(tmp / "baseline.py"), str(data), str(o), ext],
            kit: lambda o: build + ["--source", f"{tmp / 'card.md'}={data}", "--out", str(o)],
            "mmmrs-build, one 512 tile (start-up)": lambda o: build + ["--source", f"{tmp / 'tiny.md'}={tiny}", "--out", str(o)],
            "authors' loop, no scene (start-up)": lambda o: [py, str(tmp / "baseline.py"), str(empty), str(o), ext]}
    # Python may cache the kit's bytecode, as it does after a pip install (some sandboxes forbid it; the kit would then
    # compile its modules on every start, ≈ 30-60 ms)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    envs = {}
    if a.before:  # the same two kit runs with the other package
        path = os.pathsep.join([str(Path(a.before).resolve()), os.environ.get("PYTHONPATH", "")])
        # the console script imports mmmrs.build.console, which packages before 0af98ef lack: their entry was main
        old = [py, "-c", "import sys, mmmrs.build as b; sys.argv[0] = 'mmmrs-build'; "
                         "sys.exit(getattr(b, 'console', b.main)())"]
        for k in (kit, "mmmrs-build, one 512 tile (start-up)"):
            runs[f"{k} [before]"] = lambda o, k=k: old + runs[k](o)[1:]
            envs[f"{k} [before]"] = {**env, "PYTHONPATH": path}
    res = {k: [] for k in runs}
    for r in range(-1, a.runs):  # round -1 is not counted: it writes the bytecode caches and warms the page cache
        for name, cmd in runs.items():
            out = tmp / f"out-{r}-{len(res[name])}-{abs(hash(name))}"
            took = timed(cmd(out), cwd=tmp, env=envs.get(name, env))  # not the repository: `-c` puts the cwd first
            if r >= 0: res[name].append(took)
            shutil.rmtree(out, ignore_errors=True)
    med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in res.items()}
    base_w, base_m, base_c = med[authors]
    print(f"{a.tiles} scenes {'x'.join(map(str, SIZES[a.scene]))} ({a.format}), {a.runs} alternating runs each, medians:")
    print(f"{'':47} {'wall s':>7} {'ratio':>6} {'peak MiB':>9} {'ratio':>6} {'cpu s':>6} {'ratio':>6}")
    for k, (w, m, c) in med.items():
        print(f"{k:47} {w:7.2f} {w / base_w:5.2f}x {m:9.0f} {m / base_m:5.2f}x {c:6.2f} {c / base_c:5.2f}x")
    (_, _, _), (aw, _, ac) = med[authors], med["authors' loop, no scene (start-up)"]
    for tag in ["", " [before]"] if a.before else [""]:
        (kw, _, kc), (sw, _, sc) = med[kit + tag], med["mmmrs-build, one 512 tile (start-up)" + tag]
        print(f"per scene, start-up excluded{tag}: kit {(kw - sw) / a.tiles:.2f} s, authors {(base_w - aw) / a.tiles:.2f} s "
              f"wall ({(kw - sw) / (base_w - aw):.2f}x); CPU {(kc - sc) / (base_c - ac):.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
