"mmmrs-generate and mmmrs-evaluate end to end with the offline TF-Inception: the table's numbers recomputed independently."
import subprocess, sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_build

BIN = Path(sys.executable).parent


def test_generate_then_evaluate(tmp_path):
    from mmmrs.testing import tiny_sd
    from mmmrs.evaluate import InceptionFeatures, extract, fid, generated_images, real_images
    run_build("--demo", "--out", tmp_path / "data", "--split", "0.5,0,0.5", "--scenes", "fog", "--scene-count", "4")
    sd = tiny_sd(tmp_path / "sd")
    for name, seed in (("a", "0"), ("b", "1")):
        r = subprocess.run([str(BIN / "mmmrs-generate"), "--pretrained_model_name_or_path", str(sd), "--data", str(tmp_path / "data"),
                            "--num_prompts", "6", "--num_inference_steps", "2", "--resolution", "32", "--seed", seed,
                            "--output_dir", str(tmp_path / name)], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([str(BIN / "mmmrs-evaluate"), "--real", str(tmp_path / "data"), "--generated", str(tmp_path / "a"), "--generated",
                        str(tmp_path / "b"), "--n-boot", "10", "--out", str(tmp_path / "report")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "quoted from the paper" in r.stdout
    table = pd.read_csv(tmp_path / "report/table.csv")
    inc = InceptionFeatures()
    real = extract(inc, real_images(tmp_path / "data", "test")[0])
    for row in table.itertuples():
        gen = extract(inc, generated_images(tmp_path / row.model)[0])
        assert np.isclose(row.FID, fid(real, gen), rtol=1e-6)
        assert row.n_generated == 6 and not hasattr(row, "IS")  # no logits head: no IS, said so in the table
