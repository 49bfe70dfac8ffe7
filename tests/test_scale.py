"The build at scale: kill and resume, bad inputs mixed in, Dask vs process pool: byte-identical, nothing lost."
import random, signal, subprocess, sys, textwrap, time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import run_build
from mmmrs.testing import make_tree, truncated

OUTPUTS = ("manifest.parquet", "inputs.parquet", "rejects.parquet", "stats.json")


def tree_bytes(out: Path) -> dict:
    "Every file a build leaves, by relative path (no temporary files allowed)."
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def aerial(tmp_path_factory, samples):
    "A folder of 36 real aerial scenes: 400 px tiles (upscaled) and 2299x2472 scenes (pyramids)."
    neon = samples / "pypi_deepforest"
    layout = {f"plot_{i:02d}/tile.png": neon / "SOAP_061.png" for i in range(14)}
    layout |= {f"plot_{i:02d}/tile.tif": neon / "OSBS_029.tif" for i in range(14, 30)}
    layout |= {f"scene_{i:02d}/big.jpg": neon / "2019_YELL_2_528000_4978000_image_crop2_q92.jpg" for i in range(6)}
    root = make_tree(tmp_path_factory.mktemp("aerial") / "data", layout)
    card = root.parent / "aerial.md"
    card.write_text("---\nname: aerial\ntitle: NEON plots\nurl: u\nlicense: CC0-1.0\ncitation: NEON\n"
                    "modalities: {rgb: '*/*'}\nsatellite: NEON AOP\ngsd: 0.1\npyramid: true\n---\n")
    return f"{card}={root}"


def _build_then_kill(args, out: Path, after_shards: int, extra: float) -> bool:
    "Start a build; SIGKILL it `extra` seconds after `after_shards` shards are done. True if it was killed."
    proc = subprocess.Popen([str(Path(sys.executable).parent / "mmmrs-build"), "--no-progress", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and len(list(out.glob("parts/*.stats.json"))) < after_shards: time.sleep(0.002)
    time.sleep(extra)
    killed = proc.poll() is None
    if killed: proc.send_signal(signal.SIGKILL)
    proc.wait()
    return killed


def test_killed_repeatedly_then_resumed_equals_uninterrupted(tmp_path, aerial):
    "SIGKILL at random moments (during start-up, mid-shard, between shards), four times; then resume to the end."
    args = ["--source", aerial, "--shard-size", "2"]
    run_build(*args, "--out", tmp_path / "ref")
    out, rng = tmp_path / "killed", random.Random(0)
    kills = [_build_then_kill([*args, "--out", str(out)], out, n, rng.uniform(0, 0.06)) for n in (0, 4, 9, 14)]
    assert sum(kills) >= 3, kills
    run_build(*args, "--out", out)
    ref, got = tree_bytes(tmp_path / "ref"), tree_bytes(out)
    assert sorted(got) == sorted(ref)
    assert all(got[k] == ref[k] for k in ref), [k for k in ref if got[k] != ref[k]]


def test_dask_cluster_equals_process_pool(tmp_path, aerial):
    from distributed import Client, LocalCluster
    from mmmrs.build import build
    run_build("--source", aerial, "--out", tmp_path / "pool", "--workers", "2", "--shard-size", "4")
    from mmmrs.build import BuildOptions
    from mmmrs.run import dask_malloc_hint
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        assert "2 of 2 Dask workers trim memory eagerly" in dask_malloc_hint(client)  # the nanny's default environment
        build([tuple(aerial.split("=", 1))], tmp_path / "dask", BuildOptions(shard_size=4), executor=client, progress=False)
    pool, dask = tree_bytes(tmp_path / "pool"), tree_bytes(tmp_path / "dask")
    assert sorted(pool) == sorted(dask) and all(pool[k] == dask[k] for k in pool)


def _save(path, a):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path)


def test_every_bad_input_is_accounted_for(tmp_path, samples):
    s1 = np.asarray(Image.open(samples / "sen12/ROIs1868_summer_s1_59_p10.png"))
    s2 = np.asarray(Image.open(samples / "sen12/ROIs1868_summer_s2_59_p10.png"))
    root = tmp_path / "pairs"
    for i in range(1, 10):
        if i != 2: _save(root / f"s2/p{i}.png", s2)
        if i != 6: _save(root / f"s1/p{i}.png", s1)
    (root / "s2/p2.png").write_bytes(b"")                                           # zero bytes
    (root / "s1/p3.png").write_bytes(truncated(samples / "sen12/ROIs1868_summer_s1_59_p10.png"))
    (root / "s2/p4.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)  # corrupt
    _save(root / "s2/p5.png", s2[:200, :200])                                     # misaligned: other size
    _save(root / "s1/p7.png", s1[:40, :40]); _save(root / "s2/p7.png", s2[:40, :40])  # too small
    _save(root / "s1/p8.png", s2)                                                 # SAR with 3 bands
    _save(root / "s1/p9.png", np.zeros_like(s1)); _save(root / "s2/p9.png", np.zeros_like(s2))  # nodata only
    card = tmp_path / "pairs.md"
    card.write_text(textwrap.dedent("""\
        ---
        name: pairs
        title: SAR/optical pairs
        url: u
        license: CC-BY-4.0
        citation: c
        modalities: {rgb: "s2/*.png", sar: "s1/*.png"}
        pair_by: '(?P<id>p\\d+)\\.png$'
        satellite: {rgb: Sentinel-2, sar: Sentinel-1}
        gsd: 10
        nodata: 0
        ---
        """))
    res = run_build("--source", f"{card}={root}", "--out", tmp_path / "out")
    inputs = pd.read_parquet(tmp_path / "out/inputs.parquet")
    assert len(inputs) == 17 and inputs.path.is_unique
    accepted = inputs[inputs.status == "accepted"]
    assert sorted(accepted.path) == ["s1/p1.png", "s2/p1.png"]
    why = inputs.set_index("path").reason
    assert why["s2/p2.png"] == "rgb s2/p2.png is an empty file (0 bytes)"
    assert "truncated" in why["s1/p3.png"]
    assert "cannot identify image file" in why["s2/p4.png"]
    assert "are on different pixel grids" in why["s2/p5.png"]
    assert why["s2/p6.png"] == "no sar partner for scene 'p6'"
    assert why["s1/p7.png"] == "the scene is 40x40, below the card's min_size of 64 px"
    assert why["s1/p8.png"].startswith("sar needs 1 band(s) but p8.png has 3")
    assert why["s1/p9.png"].startswith("none of its 1 tiles")
    rejects = pd.read_parquet(tmp_path / "out/rejects.parquet")
    assert "nodata only" in set(rejects.reason) and set(inputs.path[inputs.status == "rejected"]) <= set(rejects.path)
    import json
    stats = json.loads((tmp_path / "out/stats.json").read_text())
    assert stats["inputs"] == {"seen": 17, "accepted": 2, "rejected": 15} and stats["pairs"] == 2
    assert "rejects by reason:" in res.stdout


def test_dask_workers_with_heap_padding_get_no_hint():
    import dask
    from distributed import Client, LocalCluster
    from mmmrs.run import DASK_WORKER_ENV, dask_malloc_hint
    with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in DASK_WORKER_ENV.items()}):
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
            assert dask_malloc_hint(client) is None
