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


# --- training resume against hostile checkpoints (issue 17, item 7); in-process, a few 32 px steps each ---

def _args(tmp, sd, out, **kw):
    from mmmrs.lora import LoRAArgs
    return LoRAArgs(**{**dict(pretrained_model_name_or_path=str(sd), data=str(tmp / "data"), split=None, source=["demo-neon"], resolution=32,
                              train_batch_size=2, max_train_steps=6, checkpointing_steps=2, validation_steps=1000, learning_rate=1e-3,
                              caption_dropout=0.3, seed=3, output_dir=str(out)), **kw})


def _same_lora(a, b):
    from safetensors.torch import load_file
    a, b = load_file(str(a / "pytorch_lora_weights.safetensors")), load_file(str(b / "pytorch_lora_weights.safetensors"))
    return sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def straight(setup):
    from mmmrs.lora import train_lora
    tmp, sd = setup
    train_lora(_args(tmp, sd, tmp / "api-straight"))  # checkpoints 2, 4, 6
    return tmp / "api-straight"


def _copy_run(src, dest):
    import shutil
    shutil.copytree(src, dest)
    (dest / "pytorch_lora_weights.safetensors").unlink()
    return dest


@pytest.mark.parametrize("option,value", [("seed", 4), ("learning_rate", 2e-3), ("rank", 8), ("source", ["demo-sen1-2"])])
def test_foreign_checkpoint_is_refused_and_can_be_forced(setup, straight, option, value):
    from mmmrs.lora import train_lora
    from mmmrs.train import CheckpointError
    tmp, sd = setup
    out = _copy_run(straight, tmp / f"foreign-{option}")
    other = _args(tmp, sd, out, resume_from_checkpoint="latest", max_train_steps=7, **{option: value})
    with pytest.raises(CheckpointError, match=rf"belongs to another run \({option}: .*--allow-foreign-checkpoint"): train_lora(other)
    if option in ("seed", "learning_rate"):  # the same model shapes: forcing it resumes
        from dataclasses import replace
        test = train_lora(replace(other, allow_foreign_checkpoint=True))
        assert test["step"] == 7 and len(test["losses"]) == 1


def test_foreign_checkpoint_on_the_command_line_says_how_to_override(setup, straight):
    tmp, sd = setup
    out = _copy_run(straight, tmp / "foreign-cli")
    cmd = [str(BIN / "mmmrs-train-lora"), "--pretrained_model_name_or_path", str(sd), "--data", str(tmp / "data"), "--output_dir", str(out),
           "--split", "", "--source", "demo-neon", "--resolution", "32", "--train_batch_size", "2", "--max_train_steps", "7",
           "--learning_rate", "0.001", "--seed", "9", "--resume_from_checkpoint", "latest"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert "seed: 9 here, 3 in the checkpoint" in res.stderr and "--allow-foreign-checkpoint" in res.stderr
    assert "--resume-foreign is deprecated; use --allow-foreign-checkpoint" in _run(cmd + ["--resume_foreign"]).stderr  # the old name works


def test_resuming_from_an_older_checkpoint_sets_the_newer_aside(setup, straight):
    from mmmrs.lora import train_lora
    tmp, sd = setup
    out = _copy_run(straight, tmp / "older")
    with pytest.warns(UserWarning, match="newer checkpoints were moved"):
        train_lora(_args(tmp, sd, out, resume_from_checkpoint=str(out / "checkpoint-2")))
    aside = list(out.glob("superseded-*"))
    assert len(aside) == 1 and sorted(p.name for p in aside[0].iterdir()) == ["checkpoint-4", "checkpoint-6"]
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
    assert _same_lora(straight, out)  # and the rerun from step 2 is the same run


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "no-record", "added", "bad-record"])
def test_damaged_checkpoint_is_named_and_latest_falls_back(setup, straight, damage):
    from mmmrs.lora import train_lora
    from mmmrs.train import RUN_FILE, CheckpointError
    tmp, sd = setup
    out = _copy_run(straight, tmp / f"damaged-{damage}")
    victim = out / "checkpoint-6" / ("model.safetensors" if damage != "no-record" else RUN_FILE)
    if damage == "flip": b = bytearray(victim.read_bytes()); b[len(b) // 2] ^= 1; victim.write_bytes(bytes(b))
    elif damage == "truncate": victim.write_bytes(victim.read_bytes()[:100])
    elif damage == "added": (victim.parent / "optimizer_1.bin").write_bytes(b"not from this run")
    elif damage == "bad-record": (victim.parent / RUN_FILE).write_text('{"files": {}}')
    else: victim.unlink()
    with pytest.raises(CheckpointError, match="checkpoint-6"):
        train_lora(_args(tmp, sd, out, resume_from_checkpoint=str(out / "checkpoint-6")))
    with pytest.warns(UserWarning, match=r"skipping .*checkpoint-6"):
        res = train_lora(_args(tmp, sd, out, resume_from_checkpoint="latest"))
    assert len(res["losses"]) == 2 and _same_lora(straight, out)  # resumed from checkpoint-4, as the straight run went on from it


# --- the presets against the paper (issue 18, item 3) ---

PAPER = [  # what the paper states (Sec. 4 / appendix): model, learning rate, optimizer, weight decay, batch, iterations
    ("lora", None, 1e-4, "Adam", 0.0, None, 200_000),
    ("controlnet", ("rgb", "sar"), 5e-5, "Adam", 0.0, 4, 80_000),
    ("controlnet", ("sar", "rgb"), 5e-5, "Adam", 0.0, 4, 80_000),
    ("controlnet", ("rgb", "nir"), 5e-5, "Adam", 0.0, 4, 20_000),
    ("controlnet", ("nir", "rgb"), 5e-5, "Adam", 0.0, 4, 20_000),
]


@pytest.mark.parametrize("model,direction,lr,optimizer,weight_decay,batch,steps", PAPER)
def test_paper_presets_equal_the_paper(model, direction, lr, optimizer, weight_decay, batch, steps):
    from mmmrs.controlnet import ControlNetArgs, paper_preset
    from mmmrs.lora import PAPER_PRESET, LoRAArgs
    args = LoRAArgs(**PAPER_PRESET) if model == "lora" else ControlNetArgs(**paper_preset(*direction))
    assert (args.learning_rate, args.adam_weight_decay, args.max_train_steps) == (lr, weight_decay, steps)
    assert optimizer == "Adam" and args.adam_weight_decay == 0 and not args.use_8bit_adam  # AdamW without weight decay is Adam
    if batch is not None: assert args.train_batch_size == batch


# --- mixed precision (issue 16, item 1): fp16 runs on the CPU too (torch's CPU autocast and grad scaler) ---

@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_low_precision_resume_and_controlnet_with_base_lora(setup, straight, precision):
    from dataclasses import replace
    from mmmrs.controlnet import ControlNetArgs, train_controlnet
    from mmmrs.lora import train_lora
    tmp, sd = setup
    args = _args(tmp, sd, tmp / f"{precision}-straight", mixed_precision=precision, train_text_encoder=True, max_train_steps=4,
                 validation_steps=4, num_inference_steps=2)
    train_lora(args)
    train_lora(replace(args, output_dir=str(tmp / f"{precision}-resumed"), resume_from_checkpoint=str(tmp / f"{precision}-straight/checkpoint-2")))
    assert _same_lora(tmp / f"{precision}-straight", tmp / f"{precision}-resumed")  # exact on the CPU, scaler state included
    assert (tmp / f"{precision}-straight/validation/step-000004.png").exists()
    from mmmrs.train import TrainArgs, shared_options
    cn = ControlNetArgs(**{**shared_options(args, TrainArgs), "source": None, "resolution": 64, "source_modality": "sar", "target_modality": "rgb",
                           "base_lora": str(straight), "max_train_steps": 2, "validation_steps": 2, "num_validation_pairs": 1,
                           "output_dir": str(tmp / f"{precision}-cn")})
    res = train_controlnet(cn)
    assert res["step"] == 2 and np.isfinite(res["losses"]).all() and (tmp / f"{precision}-cn/validation/step-000002.json").exists()


def test_resume_from_a_checkpoint_folder_of_any_name(setup, straight):
    import shutil
    from mmmrs.lora import train_lora
    tmp, sd = setup
    shutil.copytree(straight / "checkpoint-4", tmp / "kept-state")
    train_lora(_args(tmp, sd, tmp / "from-kept", resume_from_checkpoint=str(tmp / "kept-state")))  # its step comes from its record
    assert _same_lora(straight, tmp / "from-kept")
