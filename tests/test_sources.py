"The nine MMM-RS sources and the opt-in cards gid-nir, fmow-all, built by mmmrs-build from fake trees like the real."
import json, tarfile

import pandas as pd
import pytest

from conftest import run_build
from mmmrs.build import dry_run_report
from mmmrs.cards import load_card
from mmmrs.testing import FAKE_TREES, fake_gid_native


@pytest.fixture(scope="module")
def built(tmp_path_factory, samples):
    tmp = tmp_path_factory.mktemp("nine")
    args = [a for name, make in FAKE_TREES.items() for a in ("--source", f"{name}={make(tmp / name, samples)}")]
    res = run_build(*args, "--out", tmp / "out")
    dry = run_build("plan", *args, "--out", tmp / "unused")
    return tmp / "out", res.stdout, dry.stdout


def _m(out):
    return pd.read_parquet(out / "manifest.parquet")


EXPECTED = {  # source: {(modality, gsd, level, satellite): pairs}
    "sen1-2": {("rgb", 5.0, "low", "Sentinel-2"): 3, ("sar", 5.0, "low", "Sentinel-1"): 3},
    "whu-opt-sar": {("rgb", 5.0, "low", "GF1"): 4, ("nir", 5.0, "low", "GF1"): 4, ("sar", 5.0, "low", "GF3"): 4},
    "gid": {("rgb", 4.0, "ordinary", "GF2"): 12},  # 1100x600 scenes: 3 x 2 tiles each, edge tiles kept; no NIR (paper)
    "gid-nir": {("rgb", 4.0, "ordinary", "GF2"): 12, ("nir", 4.0, "ordinary", "GF2"): 6},  # opt-in: image_NirRGB
    "inria": {("rgb", 1.2, "ordinary", "aerial"): 1, ("rgb", 0.6, "high", "aerial"): 2, ("rgb", 0.3, "ultra-high", "aerial"): 10},
    "hrsc2016": {("rgb", 1.253906, "ordinary", "Google Earth"): 1, ("rgb", 0.292969, "ultra-high", "Google Earth"): 1},
    "tgrs-hrrsd": {("rgb", 0.878906, "high", "Google Earth"): 1, ("rgb", 0.390625, "ultra-high", "Google Earth"): 1},
    "fmow": {("rgb", 0.5, "high", "WorldView-2"): 3},  # train split only, as the released script
    "fmow-all": {("rgb", 0.5, "high", "WorldView-2"): 3, ("rgb", 0.703125, "high", "GeoEye-1"): 1,
                 ("rgb", 0.8, "high", "QuickBird-2"): 3},
    "mrssc2.0": {("rgb", 50.0, "ultra-low", "TG2"): 3},
    "nasc-tg2": {("rgb", 25.0, "ultra-low", "TG2"): 2},
}


def test_counts_gsds_levels_and_sensor_words(built):
    m = _m(built[0])
    for source, want in EXPECTED.items():
        got = m[m.source == source].groupby(["modality", m.gsd.round(6), "gsd_level", "satellite"]).size().to_dict()
        assert got == want, (source, got)


def test_pairs_are_aligned_and_unpaired_files_rejected(built):
    out = built[0]
    m, rejects = _m(out), pd.read_parquet(out / "rejects.parquet")
    for source, mods in (("sen1-2", {"rgb", "sar"}), ("whu-opt-sar", {"rgb", "nir", "sar"})):
        assert (m[m.source == source].groupby("key").modality.agg(set) == mods).all()
    why = rejects[~rejects.source.isin(["fmow-all", "gid-nir"])].set_index("path").reason
    assert why["ROIs1868_summer/s2_59/ROIs1868_summer_s2_59_p12.png"] == "no sar partner for scene 'ROIs1868_summer_59_p12'"
    assert "truncated" in why["ROIs1868_summer/s1_59/ROIs1868_summer_s1_59_p11.png"]
    assert why["optical/NH50E003004.tif"] == "no sar partner for scene 'NH50E003004'"
    assert "no usable Img_Resolution" in why["HRSC2016/FullDataSet/AllImages/100000003.bmp"]
    assert "no annotation" in why["HRSC2016/FullDataSet/AllImages/100000004.bmp"]
    assert "no metadata zoo_9_0_rgb.json" in why["train/zoo/zoo_9/zoo_9_0_rgb.jpg"]
    assert "truncated" in why["desert/desert_0002.jpg"]
    inputs = pd.read_parquet(out / "inputs.parquet")
    assert not inputs.path.str.contains("/gt/|lbl/|label_5classes|_msrgb|\\.json$|\\.xml$|desert_0001.tif").any()  # never read as images
    gid_shards = sorted(p.name for p in (out / "shards").glob("gid-*.tar"))
    assert gid_shards == ["gid-00000.tar", "gid-nir-00000.tar", "gid-nir-rgb-00000.tar"]  # NIR optional in gid-nir


def test_categories_and_source_metadata(built):
    out = built[0]
    m = _m(built[0])
    cats = m.groupby("source").category.agg(lambda c: sorted(set(c.dropna())))
    assert cats["nasc-tg2"] == ["beach", "desert"] and cats["mrssc2.0"] == ["city", "farmland", "forest"]
    assert cats["fmow"] == ["airport"] and cats["fmow-all"] == ["airport", "zoo"]
    assert cats["hrsc2016"] == ["aircraft carrier"] and cats["tgrs-hrrsd"] == ["storage tank"]
    air = m[m.category == "airport"].iloc[0]
    meta = json.loads(tarfile.open(out / "shards" / air.shard).extractfile(f"{air.key}.json").read())["provenance"]
    assert meta["gsd_source"] == "metadata" and meta["source_metadata"] == {"cloud_cover": 0.0, "timestamp": "2016-01-18T11:21:46Z", "sensor": "WORLDVIEW02"}
    assert sorted(m[m.source == "fmow-all"].level.unique()) == ["bottom-left", "center", "crop", "top-right"]
    assert not m[m.source == "fmow"].file.str.contains("val/|test/").any()


def test_dry_run_reports_plans_and_paper_counts(built):
    dry = built[2]
    rows = {line.split()[0]: line.split() for line in dry.splitlines()[2:]}
    assert rows["inria"][4] == "13" and rows["inria"][5] == "2872"   # pairs, paper count
    assert rows["whu-opt-sar"][4] == "12" and rows["sen1-2"][2] == "0"  # header-only: the truncated SAR is not yet refused
    assert not (built[0].parent / "unused").exists()


def test_gid_edge_tiles_kept_and_nir_only_opt_in(built):
    m = _m(built[0])
    gid = m[m.source == "gid"]
    assert gid.groupby("group").size().tolist() == [6, 6]
    assert gid.level.value_counts().to_dict() == {"edge-tile": 8, "tile": 4}  # a scene: 2 disjoint, 4 shifted in
    windows = gid.window.str.split(",").map(lambda w: [int(v) for v in w])
    assert all(x + w <= 1100 and y + h <= 600 for x, y, w, h in windows)  # every tile is real pixels: no padding
    assert set(m[m.modality == "nir"].source) == {"whu-opt-sar", "gid-nir"}  # the paper's NIR: WHU-OPT-SAR only


def test_gid_native_layout_gives_the_paper_count(tmp_path):
    report = dry_run_report([(load_card("gid"), fake_gid_native(tmp_path))])
    assert report.loc["gid", ["scenes", "pairs", "paper count", "ordinary"]].tolist() == [150, 31_500, 31_500, 31_500]
