"mmmrs-train-controlnet end to end on the demo's real pairs; the result loads in a stock diffusers pipeline."
import json, subprocess, sys
from pathlib import Path

import numpy as np
import pytest

from conftest import run_build

torch = pytest.importorskip("torch")


def test_cli_trains_and_stock_pipeline_loads(tmp_path):
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline
    from PIL import Image
    from mmmrs.testing import tiny_sd
    run_build("--demo", "--out", tmp_path / "data")
    sd = tiny_sd(tmp_path / "sd")
    cmd = [str(Path(sys.executable).parent / "mmmrs-train-controlnet"), "--pretrained_model_name_or_path", str(sd), "--data", str(tmp_path / "data"),
           "--source_modality", "sar", "--target-modality", "rgb", "--output_dir", str(tmp_path / "out"), "--split", "", "--resolution", "64",
           "--max_train_steps", "3", "--validation_steps", "3", "--num_inference_steps", "2", "--learning_rate", "0.001"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    metrics = json.loads((tmp_path / "out/validation/step-000003.json").read_text())["mean"]
    assert set(metrics) == {"edge_correlation", "edge_f1", "psnr", "ssim"}
    cn = ControlNetModel.from_pretrained(tmp_path / "out/controlnet")
    pipe = StableDiffusionControlNetPipeline.from_pretrained(sd, controlnet=cn, safety_checker=None, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    img = pipe("Low precision resolution, a satellite image, Sentinel-2", image=Image.new("RGB", (64, 64), (90, 90, 90)), num_inference_steps=2,
               height=64, width=64, output_type="np").images[0]
    assert img.shape == (64, 64, 3) and np.isfinite(img).all()
