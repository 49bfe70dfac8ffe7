"Two processes on the CPU (gloo) under `accelerate launch`: each rank reads its own share, checkpoints are written once, resume works."
import json, os, subprocess, sys
from pathlib import Path

import pytest

from conftest import run_build

torch = pytest.importorskip("torch")
BIN = Path(sys.executable).parent
HERE = Path(__file__).parent


def launch(*cmd, timeout=900):
    "`accelerate launch` with 2 CPU processes; ACCELERATE_USE_CPU makes the torchrun launcher give them gloo on the CPU."
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    res = subprocess.run([str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                          "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0", *map(str, cmd)],
                         capture_output=True, text=True, timeout=timeout, env=env)
    assert res.returncode == 0, res.stderr[-4000:]
    return res


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    from mmmrs.testing import tiny_sd
    tmp = tmp_path_factory.mktemp("multiprocess")
    run_build("--demo", "--out", tmp / "data")
    sd = tiny_sd(tmp / "sd")
    launch(HERE / "multiprocess_run.py", tmp, sd)
    return tmp, sd


def test_each_rank_reads_its_own_share(launched):
    tmp, _ = launched
    seen = [json.loads((tmp / f"seen-{r}.json").read_text()) for r in (0, 1)]
    for epoch in ("0", "1"):
        a, b = seen[0][epoch], seen[1][epoch]
        assert len(a) == len(b) == 4 and not set(a) & set(b) and sorted(a + b) == list(range(8))  # 8 NEON images, split in two
    assert seen[0]["0"] != seen[0]["1"]  # a new permutation each epoch


def _same(a, b):
    from safetensors.torch import load_file
    a, b = load_file(str(a)), load_file(str(b))
    return sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("run,weights", [("lora", "pytorch_lora_weights.safetensors"), ("controlnet", "controlnet/diffusion_pytorch_model.safetensors")])
def test_written_once_and_resumed_exactly(launched, run, weights):
    tmp, _ = launched
    out = tmp / run
    cks = sorted(p.name for p in out.glob("checkpoint-*"))
    assert cks and not list(out.glob(".checkpoint-*"))
    for ck in cks:  # saved by the main process alone: its random states only, and one record of the run
        names = {p.name for p in (out / ck).iterdir()}
        assert "mmmrs-run.json" in names and "random_states_0.pkl" in names and "random_states_1.pkl" not in names
    assert len(list((out / "validation").glob("step-*.png"))) == 1
    assert _same(out / weights, Path(f"{out}-resumed") / weights)


def test_command_line_under_accelerate_launch(launched, tmp_path):
    tmp, sd = launched
    launch(BIN / "mmmrs-train-controlnet", "--pretrained_model_name_or_path", sd, "--data", tmp / "data", "--output_dir", tmp_path / "cli",
           "--split", "", "--resolution", "64", "--max_train_steps", "2", "--checkpointing_steps", "2", "--validation_steps", "2",
           "--num_validation_pairs", "1", "--num_inference_steps", "2", "--mixed_precision", "bf16")
    assert (tmp_path / "cli/controlnet/config.json").exists() and (tmp_path / "cli/checkpoint-2/mmmrs-run.json").exists()
