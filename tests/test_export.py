"`mmmrs-export` as the README runs it, read as diffusers' scripts read it; hostile manifests cannot write elsewhere."
import os, re, shlex, shutil
from pathlib import Path

import pandas as pd
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    "The demo build (in process), in a folder named as in the README."
    from mmmrs.build import BuildOptions, build, demo_sources
    root = tmp_path_factory.mktemp("export")
    build(demo_sources(), root / "mmmrs-out", BuildOptions(), progress=False)
    return root


def readme_commands(prog: str) -> list[list[str]]:
    "The README's `prog` command lines (with their `\\` continuations), as argument lists."
    text = re.sub(r"\\\n\s*", " ", README.read_text())
    return [shlex.split(line.split("#")[0])[1:] for line in text.splitlines() if line.startswith(prog + " ")]


def load_as_lora_script(train_data_dir, cache):
    "diffusers' train_text_to_image_lora.py with --train_data_dir (and no --dataset_name)."
    import datasets
    data_files = {"train": os.path.join(train_data_dir, "**")}
    return datasets.load_dataset("imagefolder", data_files=data_files, cache_dir=cache)


def load_as_lora_script_from_hub_layout(dataset_name, dataset_config_name, cache):
    "diffusers' train_text_to_image_lora.py with --dataset_name (and --dataset_config_name)."
    import datasets
    return datasets.load_dataset(dataset_name, dataset_config_name, cache_dir=cache, data_dir=None)


def load_as_controlnet_script(train_data_dir, cache):
    "diffusers' train_controlnet.py with --train_data_dir."
    import datasets
    return datasets.load_dataset(train_data_dir, cache_dir=cache)


def test_readme_recipes_give_the_training_split(demo, monkeypatch):
    from mmmrs.data import main
    monkeypatch.chdir(demo)
    commands = readme_commands("mmmrs-export")
    assert [c[0] for c in commands] == ["imagefolder", "controlnet", "kohya"]
    for argv in commands: main(argv)
    m, cache = pd.read_parquet(demo / "mmmrs-out" / "manifest.parquet"), str(demo / "hf")
    train = m[m.split == "train"]
    assert set(m.split) > {"train"}  # the demo has test samples: a fold-in would show
    lora = load_as_lora_script("lora-data", cache)["train"]
    assert lora.column_names[:2] == ["image", "text"]  # the script's defaults: column_names[0], column_names[1]
    assert sorted(lora["key"]) == sorted(train[train.modality == "rgb"].key)
    assert lora[0]["text"] == train.set_index(["key", "modality"]).prompt[(lora[0]["key"], "rgb")]
    (line,) = [l for l in re.sub(r"\\\n\s*", " ", README.read_text()).splitlines() if "--dataset_name" in l]
    args = shlex.split(line.split("#")[0])
    name, config = args[args.index("--dataset_name") + 1], args[args.index("--dataset_config_name") + 1]
    built = load_as_lora_script_from_hub_layout(name, config, cache)["train"]
    assert built.column_names[:2] == ["image", "text"] and sorted(built["key"]) == sorted(lora["key"])
    as_name = load_as_lora_script_from_hub_layout("lora-data", None, cache)  # --dataset_name lora-data works as well
    assert list(as_name) == ["train"] and sorted(as_name["train"]["key"]) == sorted(lora["key"])
    cn = load_as_controlnet_script("rgb2sar", cache)
    assert list(cn) == ["train"] and cn["train"].column_names[:3] == ["image", "text", "conditioning_image"]
    both = train.groupby("key").modality.agg(set)
    assert sorted(cn["train"]["key"]) == sorted(both[both.map(lambda s: {"rgb", "sar"} <= s)].index)
    prompts = train.set_index(["key", "modality"]).prompt
    assert {r["image"].mode for r in cn["train"]} == {"L"}
    assert cn["train"][0]["text"] == prompts[(cn["train"][0]["key"], "sar")]
    (folder,) = [p for p in Path("kohya-data").iterdir() if p.is_dir()]
    assert folder.name == "10_mmmrs"
    assert sorted(p.stem for p in folder.glob("*.jpg")) == sorted(train[train.modality == "rgb"].key)
    assert all(p.with_suffix(".txt").read_text() for p in folder.glob("*.jpg"))


def test_a_second_export_replaces_only_its_own_files(demo, tmp_path):
    from mmmrs.data import export_imagefolder
    out = demo / "mmmrs-out"
    export_imagefolder(out, tmp_path / "x", split=None)  # train/ and test/
    export_imagefolder(out, tmp_path / "x")              # now the training split, flat: test/ must be gone
    rows = load_as_lora_script(str(tmp_path / "x"), str(tmp_path / "hf"))["train"]
    m = pd.read_parquet(out / "manifest.parquet")
    assert sorted(rows["key"]) == sorted(m[(m.split == "train") & (m.modality == "rgb")].key)


def crafted(demo, tmp_path, **changes) -> Path:
    "A copy of the demo build whose first SAR row is changed as given."
    out = tmp_path / "crafted"
    shutil.copytree(demo / "mmmrs-out", out)
    m = pd.read_parquet(out / "manifest.parquet")
    i = m.index[m.modality == "sar"][0]
    for k, v in changes.items(): m.loc[m.key == m.key[i], k] = v
    m.to_parquet(out / "manifest.parquet", index=False)
    return out


@pytest.mark.parametrize("layout", ["imagefolder", "controlnet", "kohya"])
def test_a_manifest_key_with_dotdot_cannot_write_outside(demo, tmp_path, layout):
    from mmmrs.data import EXPORTS
    out = crafted(demo, tmp_path, key="../../escaped")
    dest = tmp_path / "deep" / "dest"
    args = dict(condition="rgb", target="sar") if layout == "controlnet" else dict(modality="sar")
    with pytest.raises(ValueError) as e:
        EXPORTS[layout](out, dest, split=None, **args)
    assert "escaped" in str(e.value)
    assert not [p for p in tmp_path.rglob("escaped*")], "a file was written outside the destination"


def test_a_shard_name_that_leaves_the_dataset_is_refused(demo, tmp_path):
    from mmmrs.data import export_imagefolder
    out = crafted(demo, tmp_path, shard="../../manifest.parquet")
    with pytest.raises(ValueError, match="would leave|manifest"):
        export_imagefolder(out, tmp_path / "dest", modality="sar", split=None)
