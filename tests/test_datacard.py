"A build folder read by clients nobody here wrote: HF `datasets` (eager, streaming, per config) and `mlcroissant`."
import json, os
from pathlib import Path

import pandas as pd
import pytest
import yaml


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    "The demo build with fog variants, as `mmmrs-build --demo --weather fog` writes it (card and croissant included)."
    from mmmrs.build import BuildOptions, WeatherOptions, build, demo_sources
    out = tmp_path_factory.mktemp("card") / "out"
    build(demo_sources(), out, BuildOptions(seed=6), progress=False, weather=WeatherOptions(("fog",), count=4))
    return out


def test_card_front_matter_is_what_the_hub_reads(built):
    text = (built / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["license"] == ["cc-by-4.0", "cc-by-sa-4.0", "cc0-1.0"] and "text-to-image" in meta["task_categories"]
    first = meta["configs"][0]
    assert meta["pretty_name"] and (first["config_name"], first["default"]) == ("default", True)
    assert "share-alike" in text and "J. Shermeyer" in text and "M. Schmitt" in text  # the licence notice and citations


def test_datasets_loads_every_config_eager_and_streaming(built, tmp_path):
    import datasets
    m = pd.read_parquet(built / "manifest.parquet")
    split_name = {"train": "train", "val": "validation", "test": "test"}
    default = datasets.load_dataset(str(built), cache_dir=str(tmp_path))  # no config name: the default
    assert {s: len(d) for s, d in default.items()} == m.split.map(split_name).value_counts().to_dict()
    assert default["train"].column_names[:2] == ["image", "text"]
    meta = yaml.safe_load((built / "README.md").read_text().split("---\n")[1])
    for config in [c["config_name"] for c in meta["configs"]]:
        eager = datasets.load_dataset(str(built), config, cache_dir=str(tmp_path))
        streamed = datasets.load_dataset(str(built), config, streaming=True)
        for split, ds in eager.items():
            assert len(set(ds["modality"])) == 1 or config in set(m.source) | {"default"}  # a coherent table
            assert sorted(ds["key"]) == sorted(r["key"] for r in streamed[split])
            assert set(ds["split"]) == {k for k, v in split_name.items() if v == split}
    sar = datasets.load_dataset(str(built), "demo-sen1-2-sar", streaming=True)["train"]
    ex = next(iter(sar))
    assert (ex["image"].mode, ex["image"].size, ex["satellite"]) == ("L", (512, 512), "Sentinel-1")


def test_croissant_iterates_every_record_set(built, tmp_path, monkeypatch):
    monkeypatch.setenv("CROISSANT_CACHE", str(tmp_path / "croissant"))
    import mlcroissant as mlc
    ds = mlc.Dataset(jsonld=str(built / "croissant.json"))
    assert not ds.metadata.issues.errors, ds.metadata.issues.report()
    m = pd.read_parquet(built / "manifest.parquet")
    record_sets = [r["@id"] for r in json.loads((built / "croissant.json").read_text())["recordSet"]]
    assert record_sets == ["pairs", "images", "nir-members", "rgb-members", "sar-members"]
    pairs = list(ds.records(record_set="pairs"))
    assert sorted(r["pairs/key"].decode() for r in pairs) == sorted(m.key)
    images = list(ds.records(record_set="images"))
    assert len(images) == len(m) and {r["images/image"].size for r in images} == {(512, 512)}
    for mod in ("nir", "rgb", "sar"):
        got = list(ds.records(record_set=f"{mod}-members"))
        names = sorted(os.path.basename(r[f"{mod}-members/member"].decode()) for r in got)
        assert names == sorted(m[m.modality == mod].member)


def test_croissant_hashes_are_the_files(built):
    from mmmrs.core import file_sha256
    meta = json.loads((built / "croissant.json").read_text())
    objects = [d for d in meta["distribution"] if d["@type"] == "cr:FileObject"]
    assert objects and all(d["sha256"] == file_sha256(built / d["contentUrl"]) for d in objects)


def test_rewriting_the_metadata_is_idempotent_and_drops_stale_files(built):
    from mmmrs.datacard import write_dataset_metadata
    before = {p: p.read_bytes() for p in sorted(built.rglob("*")) if p.is_file() and "parts" not in p.parts}
    stale = built / "data" / "gone" / "rgb" / "train-00000.parquet"
    stale.parent.mkdir(parents=True); stale.write_bytes(b"old")
    write_dataset_metadata(built)  # as a later, standalone call: the bundled cards give the same facts
    after = {p: p.read_bytes() for p in sorted(built.rglob("*")) if p.is_file() and "parts" not in p.parts}
    assert not stale.exists()
    assert after == before  # the same card (the recipe is read back from it), view and croissant.json


def test_a_rerun_rewrites_only_the_view_files_whose_shard_changed(built):
    from mmmrs.datacard import write_parquet_view
    from mmmrs.shards import rewrite_tar
    files = write_parquet_view(built)
    stamp = lambda: {f: (built / f).stat().st_mtime_ns for fs in files.values() for f in fs}
    before = stamp()
    png = lambda name, data: data + b"\0" if name.endswith(".sar.png") else data  # other bytes, same image
    rewrite_tar(built / "shards" / "demo-sen1-2-00000.tar", png)
    write_parquet_view(built)
    changed = sorted(f for f, t in stamp().items() if t != before[f])
    assert changed == ["data/demo-sen1-2/rgb/train-00000.parquet", "data/demo-sen1-2/sar/train-00000.parquet"], changed
    import pyarrow.parquet as pq
    (row,) = pq.read_table(built / "data/demo-sen1-2/sar/train-00000.parquet").to_pylist()
    assert row["image"]["bytes"].endswith(b"\0")
