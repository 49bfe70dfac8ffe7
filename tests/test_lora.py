"mmmrs-train-lora end to end: trains on a built dataset, survives SIGKILL + resume exactly, loads in a stock pipeline."
import signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pytest

from conftest import run_build

torch = pytest.importorskip("torch")
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from mmmrs.testing import tiny_sd
    tmp = tmp_path_factory.mktemp("lora")
    run_build("--demo", "--out", tmp / "data")
    return tmp, tiny_sd(tmp / "tiny-sd")


def _train(tmp, sd, out, *extra):
    return [str(BIN / "mmmrs-train-lora"), "--pretrained_model_name_or_path", str(sd), "--data", str(tmp / "data"), "--output_dir", str(out),
            "--split", "", "--source", "demo-neon", "--resolution", "32", "--train_batch_size", "2", "--gradient_accumulation_steps", "2",
            "--max_train_steps", "8", "--checkpointing_steps", "2", "--validation_steps", "4", "--num_inference_steps", "2",
            "--learning_rate", "0.001", "--seed", "3", *extra]


def _run(cmd):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def test_killed_and_resumed_equals_uninterrupted(setup):
    from safetensors.torch import load_file
    tmp, sd = setup
    _run(_train(tmp, sd, tmp / "straight"))
    out = tmp / "killed"
    proc = subprocess.Popen(_train(tmp, sd, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and not (out / "checkpoint-4").exists(): time.sleep(0.01)
    killed = proc.poll() is None
    if killed: proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert killed, "the run finished before it could be killed"
    assert not (out / "pytorch_lora_weights.safetensors").exists()
    _run(_train(tmp, sd, out, "--resume_from_checkpoint", "latest"))
    a, b = (load_file(str(d / "pytorch_lora_weights.safetensors")) for d in (tmp / "straight", out))
    assert sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert sorted(p.name for p in (tmp / "straight/validation").iterdir()) == ["step-000004.png", "step-000008.png"]


def test_lora_loads_in_a_stock_pipeline(setup):
    from diffusers import StableDiffusionPipeline
    tmp, sd = setup
    pipe = StableDiffusionPipeline.from_pretrained(sd, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    gen = lambda: pipe("Low precision resolution, snow, a satellite image of farmland, Sentinel-2", num_inference_steps=2, height=32,
                       width=32, generator=torch.Generator().manual_seed(0), output_type="np").images
    before = gen()
    pipe.load_lora_weights(str(tmp / "straight"))
    assert np.abs(gen() - before).max() > 1e-4
