"Captioners, prompt templates and corrections through the command line."
import json, tarfile

import pandas as pd

from conftest import run_build

INFERENCE = "Satellite imagery, {gsd_level}, {weather}, {category}, {caption}, {satellite}, {dataset}"


def test_hf_captioner_and_template_from_the_cli(tmp_path):
    from mmmrs.testing import tiny_blip2
    model = tiny_blip2(tmp_path / "tiny-blip2")
    run_build("--demo", "--captioner", f"hf:{model}", "--prompt-template", INFERENCE, "--out", tmp_path / "out")
    m = pd.read_parquet(tmp_path / "out/manifest.parquet")
    assert m.caption.str.startswith("a satellite image").all()
    for r in m.itertuples():
        assert r.prompt.startswith("Satellite imagery, ") and r.prompt.endswith(f", {r.satellite}, {r.source}")
    row = m.iloc[0]
    meta = json.loads(tarfile.open(tmp_path / "out/shards" / row.shard).extractfile(f"{row.key}.json").read())
    cap = meta["provenance"]["captioner"]
    assert cap["name"] == "hf" and cap["model"] == "tiny-blip2" and len(cap["sha256"]) == 64 and cap["settings"]["num_beams"] == 1


def test_corrections_on_rebuild(tmp_path):
    run_build("--demo", "--out", tmp_path / "out")
    m = pd.read_parquet(tmp_path / "out/manifest.parquet")
    sen = m[(m.source == "demo-sen1-2") & (m.modality == "rgb")].key.iloc[0]
    land = m[m.source == "demo-landsat8"].key.iloc[0]
    pd.DataFrame({"key": [sen, land], "corrected_caption": ["a satellite image of fields and a road", ""],
                  "status": ["keep", "reject"], "reviewer": ["bo", "bo"], "note": ["", "cloudy"]}).to_csv(tmp_path / "fix.csv", index=False)
    run_build("--demo", "--corrections", tmp_path / "fix.csv", "--out", tmp_path / "out")
    m2 = pd.read_parquet(tmp_path / "out/manifest.parquet")
    assert land not in set(m2.key) and len(m2) == len(m) - 2
    sar = m2[(m2.key == sen) & (m2.modality == "sar")].iloc[0]
    assert sar.prompt == "Low precision resolution, a satellite image of fields and a road, Sentinel-1" and sar.corrected_by == "bo"
    assert "rejected in review by bo: cloudy" in set(pd.read_parquet(tmp_path / "out/rejects.parquet").reason)
    assert "OK" in run_build("--check", "--out", tmp_path / "out").stdout
    run_build("--demo", "--corrections", tmp_path / "fix.csv", "--out", tmp_path / "fresh")
    assert (tmp_path / "fresh/manifest.parquet").read_bytes() == (tmp_path / "out/manifest.parquet").read_bytes()
