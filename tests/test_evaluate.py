"mmmrs-generate and mmmrs-evaluate end to end with the offline TF-Inception: the table's numbers recomputed independently."
import json, subprocess, sys
from pathlib import Path

import numpy as np
import pandas as pd

from conftest import run_build

BIN = Path(sys.executable).parent


def test_table2_sd15_and_sdxl_then_evaluate(tmp_path):
    "Table 2 end to end: an SD1.5-layout and an SDXL-layout folder through mmmrs-generate (same prompt set), then mmmrs-evaluate."
    from mmmrs.testing import tiny_sd, tiny_sdxl
    from mmmrs.evaluate import extract, fid, generated_images, real_images
    from mmmrs.core import file_sha256
    from mmmrs.generate import weight_hashes
    from mmmrs.inception import InceptionFeatures, fid_helper_torchscript
    run_build("--demo", "--out", tmp_path / "data", "--split", "0.5,0,0.5", "--scenes", "fog", "--scene-count", "4")
    models = {"SD1.5": tiny_sd(tmp_path / "sd15"), "SDXL": tiny_sdxl(tmp_path / "sdxl")}
    for name, folder in models.items():
        r = subprocess.run([str(BIN / "mmmrs-generate"), "--pretrained_model_name_or_path", str(folder), "--data", str(tmp_path / "data"),
                            "--num_prompts", "6", "--num_inference_steps", "2", "--resolution", "32", "--mixed_precision", "bf16",
                            "--output_dir", str(tmp_path / name)], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
    metas = {name: generated_images(tmp_path / name)[1] for name in models}
    assert list(metas["SD1.5"].pipeline.unique()) == ["StableDiffusionPipeline"] and list(metas["SDXL"].pipeline.unique()) == ["StableDiffusionXLPipeline"]
    pd.testing.assert_frame_equal(metas["SD1.5"][["key", "prompt", "seed"]], metas["SDXL"][["key", "prompt", "seed"]])  # one prompt set for both
    assert metas["SDXL"].base_model_sha256[0] == weight_hashes(models["SDXL"]) and "text_encoder_2/model.safetensors" in metas["SDXL"].base_model_sha256[0]
    assert set(metas["SDXL"].dtype) == {"bfloat16"}
    r = subprocess.run([str(BIN / "mmmrs-evaluate"), "--real", str(tmp_path / "data"), "--generated", str(tmp_path / "SD1.5"), "--generated",
                        str(tmp_path / "SDXL"), "--names", "SD1.5,SDXL", "--n-boot", "10", "--out", str(tmp_path / "report")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "quoted from the paper" in r.stdout and "DALL-E 3 is only quoted: it is a closed model" in r.stdout
    assert "- IS: not computed: TorchScript TF-Inception" in r.stdout and "has no classifier head" in r.stdout  # and says which extractor
    table = pd.read_csv(tmp_path / "report/table.csv")
    assert list(table.model) == ["SD1.5", "SDXL"]
    inc = InceptionFeatures()
    real = extract(inc, real_images(tmp_path / "data", "test")[0])
    for row in table.itertuples():
        gen = extract(inc, generated_images(tmp_path / row.model)[0])
        assert np.isclose(row.FID, fid(real, gen), rtol=1e-6)
        assert row.n_generated == 6 and not hasattr(row, "IS")  # no logits head: no IS, said so in the table
    t2 = [l for l in (tmp_path / "report/table.md").read_text().splitlines() if l.startswith("| SD")]
    assert [l.split("|")[1].strip() for l in t2][-3:] == ["SD1.5", "SD2.0", "SDXL"]  # the Table 2 rows of the open models
    assert f"{table.FID[1]:.3g} [" in next(l for l in t2 if l.startswith("| SDXL ") and "168.34" in l)  # this run's SDXL beside the paper's
    settings = json.loads((tmp_path / "report/settings.json").read_text())
    assert settings["sha256"] == file_sha256(fid_helper_torchscript()) and "TF1 ResizeBilinear" in settings["preprocessing"]


def test_evaluate_with_pytorch_fid_weights_file(tmp_path):
    "--feature-model with a file in pytorch-fid's format (the TF weights, plus a classifier): its features, and IS from its logits."
    import torch
    from safetensors.torch import save_file
    from mmmrs.testing import tiny_sd
    from mmmrs.evaluate import extract, fid, generated_images, inception_score, real_images
    from mmmrs.inception import InceptionFeatures, fid_state_dict_from_torchscript
    run_build("--demo", "--out", tmp_path / "data", "--split", "0.5,0,0.5")
    sd = tiny_sd(tmp_path / "sd")
    r = subprocess.run([str(BIN / "mmmrs-generate"), "--pretrained_model_name_or_path", str(sd), "--data", str(tmp_path / "data"),
                        "--num_prompts", "4", "--num_inference_steps", "2", "--resolution", "32", "--output_dir", str(tmp_path / "gen")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    g = torch.Generator().manual_seed(0)
    weights = tmp_path / "fid-inception.safetensors"
    save_file(fid_state_dict_from_torchscript() | {"fc.weight": torch.randn(1008, 2048, generator=g) * 0.05, "fc.bias": torch.zeros(1008)}, weights)
    r = subprocess.run([str(BIN / "mmmrs-evaluate"), "--real", str(tmp_path / "data"), "--generated", str(tmp_path / "gen"), "--feature-model",
                        str(weights), "--n-boot", "5", "--out", str(tmp_path / "report")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    row = pd.read_csv(tmp_path / "report/table.csv").iloc[0]
    inc = InceptionFeatures(weights)
    gen_imgs = generated_images(tmp_path / "gen")[0]
    gen = extract(inc, gen_imgs)
    assert np.isclose(row.FID, fid(extract(inc, real_images(tmp_path / "data", "test")[0]), gen), rtol=1e-6)
    assert np.isclose(row.IS, inception_score(extract(inc.logits, gen_imgs), 4)[0], rtol=1e-6)
    assert "pytorch-fid" in json.loads((tmp_path / "report/settings.json").read_text())["preprocessing"]
    assert "- IS: FIDInceptionV3 weights (pytorch-fid layout): its classifier head" in r.stdout  # the report names IS's source


def test_controlnet_sar_set_end_to_end(tmp_path):
    "mmmrs-generate --controlnet draws SAR prompts of samples with RGB and conditions each on its RGB image; mmmrs-evaluate compares with real SAR."
    from mmmrs.controlnet import ControlNetArgs, train_controlnet
    from mmmrs.evaluate import extract, fid, generated_images, real_images
    from mmmrs.inception import InceptionFeatures
    from mmmrs.testing import fake_sen12, fake_whu_opt_sar, tiny_sd
    data = tmp_path / "data"  # fake WHU-OPT-SAR and SEN1-2 trees of real images: 6 RGB+SAR samples in the train split
    run_build("--source", f"whu-opt-sar={fake_whu_opt_sar(tmp_path / 'whu')}", "--source", f"sen1-2={fake_sen12(tmp_path / 'sen12')}",
              "--split", "0.5,0,0.5", "--out", data)
    sd = tiny_sd(tmp_path / "sd")
    cn = train_controlnet(ControlNetArgs(pretrained_model_name_or_path=str(sd), data=str(data), split=None, resolution=64, max_train_steps=2,
                                         output_dir=str(tmp_path / "cn"), validation_steps=10**6, checkpointing_steps=10**6))["controlnet"]
    r = subprocess.run([str(BIN / "mmmrs-generate"), "--pretrained_model_name_or_path", str(sd), "--data", str(data), "--controlnet", str(cn),
                        "--condition", "rgb", "--modality", "sar", "--split", "train", "--num_prompts", "4", "--num_inference_steps", "2",
                        "--resolution", "64", "--mixed_precision", "bf16", "--output_dir", str(tmp_path / "gen")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    imgs, meta = generated_images(tmp_path / "gen")
    assert set(meta.modality) == {"sar"} and len(imgs) == 4
    from mmmrs.generate import weight_hashes
    rec = json.loads((tmp_path / "gen/00000.json").read_text())  # what made the image: the ControlNet by path and weight hash, in bf16
    assert (rec["controlnet"], rec["controlnet_sha256"], rec["dtype"]) == (str(Path(cn).resolve()), weight_hashes(cn), "bfloat16")
    assert rec["base_model_sha256"] == weight_hashes(sd) and rec["lora"] is None
    r = subprocess.run([str(BIN / "mmmrs-evaluate"), "--real", str(data), "--generated", str(tmp_path / "gen"), "--split", "train", "--n-boot", "5",
                        "--out", str(tmp_path / "report")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    row = pd.read_csv(tmp_path / "report/table.csv").iloc[0]
    assert row.modality == "sar" and "adherence_modality" in row
    inc = InceptionFeatures()
    assert np.isclose(row.FID, fid(extract(inc, real_images(data, "train", "sar")[0]), extract(inc, imgs)), rtol=1e-6)
