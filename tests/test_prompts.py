"Captioners, prompt templates and their review (corrections) through the command line."
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


def test_review_applies_corrections_with_the_builds_template(tmp_path, capsys):
    "mmmrs-review apply recomposes prompts with the template the build recorded; the same build command keeps them."
    from mmmrs.review import main as review
    build_args = ("--demo", "--prompt-template", INFERENCE, "--out", tmp_path / "out")
    run_build(*build_args)
    m = pd.read_parquet(tmp_path / "out/manifest.parquet")
    sen = m[(m.source == "demo-sen1-2") & (m.modality == "rgb")].key.iloc[0]
    land = m[m.source == "demo-landsat8"].key.iloc[0]
    pd.DataFrame({"key": [sen, land], "corrected_caption": ["a satellite image of fields and a road", ""],
                  "status": ["keep", "reject"], "reviewer": ["bo", "bo"], "note": ["", "cloudy"]}).to_csv(tmp_path / "fix.csv", index=False)
    assert review(["apply", tmp_path / "out", tmp_path / "fix.csv"]) == 0
    assert capsys.readouterr().out.strip() == f"1 captions corrected, 1 samples rejected in {tmp_path / 'out'}"
    m2 = pd.read_parquet(tmp_path / "out/manifest.parquet")
    assert land not in set(m2.key) and len(m2) == len(m) - 2
    sar = m2[(m2.key == sen) & (m2.modality == "sar")].iloc[0]
    assert sar.prompt == ("Satellite imagery, Low precision resolution, a satellite image of fields and a road, Sentinel-1, "
                          "demo-sen1-2") and sar.corrected_by == "bo"
    assert "rejected in review by bo: cloudy" in set(pd.read_parquet(tmp_path / "out/rejects.parquet").reason)
    assert "OK" in run_build("--check", "--out", tmp_path / "out").stdout
    corrected = (tmp_path / "out/manifest.parquet").read_bytes()
    assert "4 already done" in run_build(*build_args).stdout  # the same command again: every shard done, corrections kept
    assert (tmp_path / "out/manifest.parquet").read_bytes() == corrected
    assert review(["apply", tmp_path / "out", tmp_path / "fix.csv"]) == 0  # applying again changes nothing
    assert (tmp_path / "out/manifest.parquet").read_bytes() == corrected


def test_review_refuses_a_folder_that_is_not_a_build(tmp_path, capsys):
    from mmmrs.review import main as review
    (tmp_path / "fix.csv").write_text("key,status\nk,reject\n")
    assert review(["apply", tmp_path / "nowhere", tmp_path / "fix.csv"]) == 2
    assert "is not a built dataset" in capsys.readouterr().err
