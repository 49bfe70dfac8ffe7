"The paper recipe through mmmrs-build: refused with what is missing or wrong; built and recorded with its inputs."
import json, tarfile

import pandas as pd
import pytest

from conftest import run_build
from mmmrs.testing import fake_mrssc2, fake_nasc_tg2, tiny_paper_inputs


@pytest.fixture(scope="module")
def trees(tmp_path_factory, samples):
    tmp = tmp_path_factory.mktemp("recipe")
    return tmp, ["--source", f"mrssc2.0={fake_mrssc2(tmp / 'mrssc', samples)}",
                 "--source", f"nasc-tg2={fake_nasc_tg2(tmp / 'nasc', samples)}"]


@pytest.fixture(scope="module")
def inputs(trees):
    return tiny_paper_inputs(trees[0] / "inputs")


def _flags(inputs, **change):
    return [a for k, v in {**inputs, **change}.items() if v is not None for a in ("--" + k.replace("_", "-"), v)]


def test_refused_without_its_inputs(trees):
    tmp, sources = trees
    res = run_build("--recipe", "paper", *sources, "--out", tmp / "none", check=False)
    assert res.returncode != 0 and not (tmp / "none").exists()
    needed = ("--upscaler esrgan:x2=PATH,x4=PATH", "--captioner hf:PATH", "--night-generator PATH",
              "--snow-generator PATH")
    for flag in needed:
        assert f"missing {flag}" in res.stderr, res.stderr


def test_refused_with_wrong_or_conflicting_inputs(trees, inputs):
    tmp, sources = trees
    x4 = tmp / "inputs/esrgan_x4.safetensors"
    wrong = _flags(inputs, upscaler=f"esrgan:x2={x4},x4={x4}", snow_generator=str(x4))
    res = run_build("--recipe", "paper", *sources, *wrong, "--quality", "90", "--out", tmp / "wrong", check=False)
    assert res.returncode != 0 and not (tmp / "wrong").exists()
    assert f"x2={x4} holds a x4 network, not x2" in res.stderr and "not a CycleGAN/CUT ResNet generator" in res.stderr
    assert "--quality 90 conflicts with the recipe, which fixes 75" in res.stderr
    assert "missing" not in res.stderr  # everything was given; only what is wrong is listed


def test_builds_and_records_the_recipe(trees, inputs):
    tmp, sources = trees
    out = tmp / "paper"
    run_build("--recipe", "paper", *sources, *_flags(inputs), "--out", out)
    rec = json.loads((out / "recipe.json").read_text())
    assert rec["recipe"] == "paper" and rec["args"]["upscaler"] == inputs["upscaler"]
    assert rec["args"]["weather"] == "fog,night,snow" and rec["weather_options"]["count"] == 10_000
    m = pd.read_parquet(out / "manifest.parquet")
    assert m.groupby("weather").size().to_dict() == {"clear": 5, "fog": 5, "night": 5, "snow": 5}
    factor = {}
    for row in m.itertuples():
        meta = json.loads(tarfile.open(out / "shards" / row.shard).extractfile(f"{row.key}.json").read())
        prov = meta["provenance"]
        assert prov["recipe"] == "paper" and prov["jpeg_quality"] == 75 and prov["captioner"]["name"] == "hf"
        assert prov["resize"]["upscaler"] == "esrgan" and prov["resize"]["weights"].startswith("x2:")
        factor.setdefault(row.source, set()).add(prov["resize"]["factor"])
        if row.weather in ("night", "snow"): assert prov["scene_synthesis"]["model"] == "generator"
    assert factor == {"mrssc2.0": {2}, "nasc-tg2": {4}}  # x2plus for x2, x4plus for NaSC-TG2's x4
    plain = tmp / "plain"
    run_build(*sources, "--out", plain)
    assert not (plain / "recipe.json").exists()
    with tarfile.open(next((plain / "shards").glob("*.tar"))) as tar:
        first = next(n for n in tar.getnames() if n.endswith(".json"))
        assert "recipe" not in json.loads(tar.extractfile(first).read())["provenance"]
