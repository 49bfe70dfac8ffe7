"""Large JPEG scenes are decoded by a thread of their own and tiled top to bottom (`mmmrs.core.JpegRows`): the rows above
the band being cut are given back to the system, and the decoder pauses two bands below it. What a lesson shows badly:
the whole build writes the same bytes as a build that decodes each scene whole, and a JPEG that fails anywhere (even past
its last tile) still fails its scene, with PIL's own reason, while the other scenes of the shard build."""
import hashlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from mmmrs import core, samples as samples_module
from mmmrs.build import BuildOptions, build
from mmmrs.testing import truncated

CARD = """\
---
name: big-jpegs
title: Large aerial JPEGs
url: https://example.org/big-jpegs
license: CC0-1.0
citation: Me (2026)
modalities: {rgb: "*.jpg"}
satellite: aerial
gsd: 0.3
---
"""


def scene(path: Path, src: Path, seed: int, size=(2600, 2100), **save) -> Path:
    "A real aerial image, upscaled, with seeded texture (kilobytes a row, as real scenes have), saved as JPEG."
    with Image.open(src) as im: a = np.asarray(im.convert("RGB").resize(size))
    a = a ^ np.random.default_rng(seed).integers(0, 24, a.shape, np.uint8)
    Image.fromarray(a).save(path, quality=90, **save)
    return path


@pytest.fixture
def scenes(tmp_path, samples):
    root = tmp_path / "data"; root.mkdir()
    src = samples / "pypi_deepforest/2019_YELL_2_528000_4978000_image_crop2_q92.jpg"
    scene(root / "scene0.jpg", src, seed=0)
    scene(root / "scene1.jpg", src, seed=1, progressive=True, restart_marker_rows=1)  # its rows come at the end
    (card := tmp_path / "big-jpegs.md").write_text(CARD)
    return card, root


def files(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


def test_top_down_tiling_writes_the_bytes_of_a_whole_decode(tmp_path, scenes, monkeypatch):
    card, root = scenes
    given_back = []
    monkeypatch.setattr(core.JpegRows, "_give_back", lambda self, row, f=core.JpegRows._give_back:
                        (given_back.append(row), f(self, row))[1])
    res = build([(card, root)], tmp_path / "streamed", BuildOptions(), progress=False)
    assert len(res.rows["manifest"]) == 2 * 5 * 4 and max(given_back) == 1536  # every band above the last was let go
    with monkeypatch.context() as m:
        m.setattr(samples_module, "_top_down", lambda cuts: False)  # each scene decoded whole, its tiles views of it
        build([(card, root)], tmp_path / "whole", BuildOptions(), progress=False)
    streamed, whole = files(tmp_path / "streamed"), files(tmp_path / "whole")
    assert streamed.keys() == whole.keys() and len(streamed) > 10
    assert {f for f in streamed if streamed[f] != whole[f]} <= {".mmmrs-build.json"}  # it names its own folder


@pytest.mark.parametrize("keep", [0.5, 0.995])  # cut mid-scene, and past the last row of tiles (2048 of 2100 rows)
def test_a_truncated_large_jpeg_fails_its_scene(tmp_path, scenes, keep):
    card, root = scenes
    cut = root / "scene1.jpg"
    cut.write_bytes(truncated(cut, keep))
    with pytest.raises(OSError) as pil: Image.open(cut).load()  # what PIL's own decode says of it
    res = build([(card, root)], tmp_path / "out", BuildOptions(), progress=False)
    inputs, rejects, manifest = (pq.read_table(tmp_path / f"out/{t}.parquet").to_pylist()
                                 for t in ("inputs", "rejects", "manifest"))
    assert {(i["path"], i["status"], i["samples"]) for i in inputs} == {("scene0.jpg", "accepted", 20),
                                                                        ("scene1.jpg", "rejected", 0)}
    assert [(r["path"], r["reason"]) for r in rejects] == [("scene1.jpg", f"OSError: {pil.value}")]
    assert {r["file"] for r in manifest} == {"scene0.jpg"} and len(res.rows["manifest"]) == 20
