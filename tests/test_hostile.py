"""Hostile inputs against `mmmrs-build`, one class of issue 17 per section: resume that trusts markers, a build that
deletes what it did not write, collisions and races, escapes, one bad file stopping everything, silently wrong
pixels and settings, and an exit status that lies. Each case is what a careless or hostile user would try; the
expectation is always the same: nothing lost, nothing stale, nothing outside its folder, and an exit status and
`--check` that tell the truth."""
import errno, json, os, shutil, signal, subprocess, sys, textwrap, time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from conftest import BIN, run_build
from mmmrs.build import (EXIT_BUSY, EXIT_EMPTY, EXIT_FAILED, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, LOCK_FILE, OWNER_FILE, BuildOptions,
                         UsageError, build, check_unit_names, resolve_sources, verify)
from mmmrs.cards import Card, CardError, parse_card
from mmmrs.shards import ManifestError, read_manifest
from mmmrs.sources import discover

CARD = """---
name: {name}
title: tiles
url: u
license: CC0-1.0
citation: c
modalities: {{rgb: '*.png'}}
satellite: Sentinel-2
gsd: 10
{extra}---
"""


def tiles(root: Path, samples, n: int = 4) -> Path:
    "`n` real 512x512 RGB scenes (the SEN1-2 patch tiled 2x2, each flipped differently), no upscaling needed: fast."
    s2 = np.asarray(Image.open(samples / "sen12/ROIs1868_summer_s2_59_p10.png").convert("RGB"))
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n): Image.fromarray(np.rot90(np.tile(s2, (2, 2, 1)), i).copy()).save(root / f"t{i}.png")
    return root


def card(path: Path, name: str = "tiles", extra: str = "") -> Path:
    path.write_text(CARD.format(name=name, extra=extra))
    return path


@pytest.fixture
def src(tmp_path, samples):
    "A card and its folder of four scenes, as a --source argument."
    return f"{card(tmp_path / 'tiles.md')}={tiles(tmp_path / 'data', samples)}"


def cli(*args):
    "The command's completed process (never raises on a non-zero exit)."
    return run_build(*args, check=False)


def tree(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def last_line(res) -> str: return res.stdout.strip().splitlines()[-1]


# --- resume trusts the data, not its markers -------------------------------------------------------------------

def _flip(p: Path, at: int = 3000):
    b = bytearray(p.read_bytes()); b[at] ^= 0xFF; p.write_bytes(bytes(b))


@pytest.mark.parametrize("damage", ["delete-tar", "flip-tar", "truncate-tar", "delete-part", "flip-part", "garbage-marker",
                                    "edit-manifest", "delete-stats"])
def test_damaged_output_is_found_and_exactly_it_rebuilt(tmp_path, src, damage):
    out, sources = tmp_path / "out", [tuple(src.split("=", 1))]
    run = lambda: build(sources, out, BuildOptions(shard_size=1), progress=False)
    assert run().exit_code == EXIT_OK
    ref = tree(out)
    target = {"delete-tar": "shards/tiles-00001.tar", "flip-tar": "shards/tiles-00001.tar", "truncate-tar": "shards/tiles-00001.tar",
              "delete-part": "parts/tiles-00001.samples.parquet", "flip-part": "parts/tiles-00001.inputs.parquet",
              "garbage-marker": "parts/tiles-00001.stats.json", "edit-manifest": "manifest.parquet", "delete-stats": "stats.json"}[damage]
    p = out / target
    if damage.startswith("delete"): p.unlink()
    elif damage == "truncate-tar": p.write_bytes(p.read_bytes()[:5000])
    elif damage == "garbage-marker": p.write_text("{not json")
    elif damage == "edit-manifest":
        m = pd.read_parquet(p); m.loc[0, "prompt"] = "tampered"; m.to_parquet(p, index=False)
    else: _flip(p, 600 if p.suffix == ".parquet" else 3000)
    problems = verify(out)
    assert problems and (problems[-1].startswith("fix: run the same mmmrs-build command") or "is not a complete build" in problems[-1])
    if damage in ("delete-tar", "flip-tar", "truncate-tar", "delete-part", "flip-part"): assert any(p.startswith(target) for p in problems)
    res = run()
    rebuilt = 0 if damage in ("edit-manifest", "delete-stats") else 1
    assert res.exit_code == EXIT_OK and [s["shard"] for s in res.shards if s["status"] == "done"] == ["tiles-00001"][:rebuilt]
    assert tree(out) == ref and verify(out) == []


def test_flipped_byte_names_the_member(tmp_path, src):
    out = tmp_path / "out"
    cli("--source", src, "--out", out)
    tar = out / "shards/tiles-00000.tar"
    import tarfile
    with tarfile.open(tar) as t: jpg = next(m for m in t.getmembers() if m.name.endswith(".jpg"))
    _flip(tar, jpg.offset_data + 100)
    res = cli("check", out)
    assert res.returncode == EXIT_PROBLEMS and f"shards/tiles-00000.tar: damaged: 1 members differ from the build's record, e.g. {jpg.name}" in res.stdout


def test_inputs_edited_in_place_or_moved_rebuild_their_shards_only(tmp_path, src, samples):
    out = tmp_path / "out"
    cli("--source", src, "--out", out, "--shard-size", "1")
    data = tmp_path / "data"
    a = np.asarray(Image.open(data / "t2.png")).copy(); a[100, 100] ^= 1  # one pixel, same size on disk (PNG is lossless)
    Image.fromarray(a).save(data / "t2.png")
    res = cli("--source", src, "--out", out, "--shard-size", "1")
    assert last_line(res).endswith("4 shards (1 built, 3 already done) in " + str(out))
    other = tmp_path / "other"
    shutil.copytree(data, other)
    Image.fromarray(np.zeros((512, 512, 3), np.uint8) + 90).save(other / "t0.png")  # same names, another root
    res = cli("--source", f"{tmp_path / 'tiles.md'}={other}", "--out", out, "--shard-size", "1")
    assert res.returncode == EXIT_OK and last_line(res).endswith("(4 built, 0 already done) in " + str(out))
    fresh = tmp_path / "fresh"
    cli("--source", f"{tmp_path / 'tiles.md'}={other}", "--out", fresh, "--shard-size", "1")
    assert all((out / "shards" / p.name).read_bytes() == p.read_bytes() for p in (fresh / "shards").iterdir())


def test_sidecar_metadata_edited_in_place_rebuilds(tmp_path, samples):
    "HRSC2016's GSD is in an XML beside each image: a new Img_Resolution must give new GSDs, not the old shard."
    from mmmrs.testing import fake_hrsc2016
    root = fake_hrsc2016(tmp_path / "hrsc", samples)
    first = build([("hrsc2016", root)], tmp_path / "out", progress=False)
    xml = root / "HRSC2016/FullDataSet/Annotations/100000002.xml"
    xml.write_text(xml.read_text().replace(">0.5<", ">0.25<"))
    again = build([("hrsc2016", root)], tmp_path / "out", progress=False)
    assert [s["status"] for s in again.shards] == ["done"] and sorted(again.manifest.gsd) != sorted(first.manifest.gsd)


def test_card_content_change_rebuilds(tmp_path, src):
    out = tmp_path / "out"
    cli("--source", src, "--out", out)
    card(tmp_path / "tiles.md", extra="min_valid: 0.6\n")
    res = cli("--source", src, "--out", out)
    assert last_line(res).endswith("(1 built, 0 already done) in " + str(out))


# --- a build owns only what it wrote ---------------------------------------------------------------------------

FOREIGN = {"shards/theirs.tar": b"someone else's shard", "stats.json": b"theirs, with the build's name", "parts/theirs.samples.parquet": b"x", "notes.txt": b"keep me",
           ".x.tmp": b"a temporary of theirs", "cache.tmp/data.bin": b"a .tmp folder", "shards/.y.tar.tmp": b"z",
           ".z.tmp/inner": b"a .tmp folder where the clean-up looks", "parts/.q.tmp/inner": b"another"}


def _foreign(out: Path):
    for rel, data in FOREIGN.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True); (out / rel).write_bytes(data)


def test_folder_with_foreign_files_is_refused_then_used_with_force_and_nothing_of_theirs_removed(tmp_path, src):
    out = tmp_path / "out"
    _foreign(out)
    res = cli("--source", src, "--out", out)
    assert res.returncode == EXIT_USAGE and "files or folders no build wrote" in res.stderr and "--force" in res.stderr
    assert "Traceback" not in res.stderr and sorted(tree(out)) == sorted(FOREIGN)  # not even a lock file left there
    res = cli("--source", src, "--out", out, "--force")
    assert res.returncode == EXIT_OK
    theirs = {rel: data for rel, data in FOREIGN.items() if rel != "stats.json"}  # a file with the build's own name is replaced
    got = tree(out)
    assert all(got[rel] == data for rel, data in theirs.items()) and json.loads(got["stats.json"])["pairs"] == 4
    res = cli("--source", src, "--out", out, "--force", "--shard-size", "2")  # a rerun that prunes its old shards
    assert res.returncode == EXIT_OK and all(tree(out)[rel] == data for rel, data in theirs.items())
    owned = set(json.loads((out / OWNER_FILE).read_text())["files"])
    assert "stats.json" in owned and not set(theirs) & owned


def test_foreign_files_among_the_parquet_view_are_kept(tmp_path, src):
    "The view (data/<source>/<modality>/<split>-NNNNN.parquet), README.md and croissant.json are the build's; others' files beside them are not."
    out = tmp_path / "out"
    assert cli("--source", src, "--out", out).returncode == EXIT_OK
    view = sorted(p.relative_to(out).as_posix() for p in (out / "data").rglob("*.parquet"))
    assert view and (out / "README.md").is_file() and (out / "croissant.json").is_file()
    assert cli("--source", src, "--out", out).returncode == EXIT_OK  # its own view and cards are not foreign on a rerun
    theirs = {"data/mine.parquet": b"not a view file", "data/tiles/rgb/notes.txt": b"my notes", "data/tiles/rgb/train.parquet": b"x"}
    for rel, data in theirs.items(): (out / rel).write_bytes(data)
    res = cli("--source", src, "--out", out, "--shard-size", "2")
    assert res.returncode == EXIT_USAGE and "data/mine.parquet" in res.stderr
    res = cli("--source", src, "--out", out, "--shard-size", "2", "--force")  # the view is rewritten, their files stay
    assert res.returncode == EXIT_OK and all((out / rel).read_bytes() == data for rel, data in theirs.items())
    assert sorted(p.relative_to(out).as_posix() for p in (out / "data").rglob("*.parquet")
                  if p.relative_to(out).as_posix() not in theirs) == view


def test_other_sources_into_a_previous_build_are_refused(tmp_path, src, samples):
    out = tmp_path / "out"
    cli("--source", src, "--out", out)
    before = tree(out)
    other = f"{card(tmp_path / 'other.md', 'other')}={tiles(tmp_path / 'data2', samples, 2)}"
    res = cli("--source", other, "--out", out)
    assert res.returncode == EXIT_USAGE and "holds a build of ['tiles'], not of ['other']" in res.stderr and tree(out) == before
    res = cli("--source", other, "--out", out, "--force")
    assert res.returncode == EXIT_OK and sorted(p.name for p in (out / "shards").iterdir()) == ["other-00000.tar"]


@pytest.mark.parametrize("where", ["inside-root", "a-file"])
def test_out_that_is_a_file_or_inside_the_dataset_is_refused(tmp_path, samples, where):
    data = tiles(tmp_path / "data", samples, 1)
    out = data / "out" if where == "inside-root" else tmp_path / "out.txt"
    if where == "a-file": out.write_text("not a folder")
    with pytest.raises(UsageError, match="inside the dataset root" if where == "inside-root" else "is a file, not a folder"):
        build([(parse_card(CARD.format(name="tiles", extra="")), data)], out, progress=False)
    assert sorted(p.name for p in data.iterdir()) == ["t0.png"] if where == "inside-root" else out.read_text() == "not a folder"


def test_symlinks_in_the_output_folder_cannot_redirect_writes(tmp_path, src):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir(); (elsewhere / "precious.tar").write_bytes(b"precious")
    out.mkdir(); (out / "shards").symlink_to(elsewhere)
    for extra in ([], ["--force"]):
        res = cli("--source", src, "--out", out, *extra)
        assert res.returncode == EXIT_USAGE and "is a symbolic link: the build would write outside its folder" in res.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ["precious.tar"]
    (out / "shards").unlink(); (out / "notes.md").symlink_to(elsewhere / "precious.tar")
    res = cli("--source", src, "--out", out)
    assert res.returncode == EXIT_USAGE and "'notes.md'" in res.stderr


def test_damaged_ownership_record_is_refused(tmp_path, src):
    out = tmp_path / "out"
    cli("--source", src, "--out", out)
    (out / OWNER_FILE).write_text("[1, 2")
    res = cli("--source", src, "--out", out)
    assert res.returncode == EXIT_USAGE and "is damaged" in res.stderr


# --- collisions and races ----------------------------------------------------------------------------------------

def test_sources_whose_names_differ_in_punctuation_are_refused(tmp_path, samples):
    data = tiles(tmp_path / "data", samples, 1)
    res = cli("--source", f"{card(tmp_path / 'a.md', 't.x')}={data}", "--source", f"{card(tmp_path / 'b.md', 't-x')}={data}",
              "--out", tmp_path / "out")
    assert res.returncode == EXIT_USAGE and "would write the same shard and part names (t-x-*)" in res.stderr
    assert not (tmp_path / "out").exists()


def test_long_names_that_collide_after_truncation():
    long = "a" * 45
    cards = [(parse_card(CARD.format(name=long + s, extra="")), Path(".")) for s in ("x", "y")]
    with pytest.raises(UsageError, match="would write the same shard"): resolve_sources(cards)
    with pytest.raises(UsageError, match="two units of work"): check_unit_names(["a-rgb-00000", "a-rgb-00000"])


def _holder(path: Path) -> subprocess.Popen:
    "Another process holding the folder's lock, as a running build does."
    code = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX); "
            "print('locked', flush=True); time.sleep(60)")
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_lock_refuses_a_second_build_and_dies_with_its_holder(tmp_path, src):
    out = tmp_path / "out"
    holder = _holder(out / LOCK_FILE)
    try:
        res = cli("--source", src, "--out", out)
        assert res.returncode == EXIT_BUSY and "another mmmrs-build is writing into" in res.stderr
    finally:
        holder.send_signal(signal.SIGKILL); holder.wait()
    assert cli("--source", src, "--out", out).returncode == EXIT_OK  # the kernel released the dead holder's lock
    holder = _holder(out / LOCK_FILE)
    try: assert "a build is writing into" in cli("check", out).stdout
    finally: holder.send_signal(signal.SIGKILL); holder.wait()


def test_two_builds_with_different_options_at_once(tmp_path, src):
    out = tmp_path / "out"
    exe = shutil.which("mmmrs-build", path=str(BIN))
    procs = [subprocess.Popen([exe, "--no-progress", "--source", src, "--out", str(out), "--quality", q], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for q in ("30", "90")]
    codes = sorted(p.wait() for p in procs)
    assert codes in ([EXIT_OK, EXIT_BUSY], [EXIT_OK, EXIT_OK])  # never a mix: the second waits its turn or is refused
    assert cli("check", out).returncode == EXIT_OK
    q = {json.loads(b)["provenance"]["jpeg_quality"] for n, b in __import__("mmmrs.shards", fromlist=["read_tar"]).read_tar(
        out / "shards/tiles-00000.tar") if n.endswith(".json")}
    assert len(q) == 1


# --- escapes -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("column,value", [("key", "../../escaped"), ("key", "/abs/x"), ("member", "../../escaped.rgb.jpg"),
                                          ("shard", "../../other.tar"), ("key", "a.b"), ("modality", "../rgb")])
def test_crafted_manifest_cannot_make_exports_leave_their_folder(tmp_path, samples, column, value):
    from mmmrs.data import export_controlnet, export_imagefolder
    out = tmp_path / "out"
    build([(parse_card(CARD.format(name="tiles", extra="")), tiles(tmp_path / "data", samples, 1))], out, progress=False)
    m = pd.read_parquet(out / "manifest.parquet")
    m.loc[0, column] = value
    m.to_parquet(out / "manifest.parquet", index=False)
    with pytest.raises(ManifestError, match="is not a sample a build writes"): read_manifest(out)
    with pytest.raises(ManifestError): export_imagefolder(out, tmp_path / "dest" / "a")
    with pytest.raises((ManifestError, ValueError)): export_controlnet(out, tmp_path / "dest" / "b")
    assert not (tmp_path / "escaped").exists() and not list(tmp_path.glob("escaped*"))
    assert any("is not a sample a build writes" in p for p in verify(out))


@pytest.mark.parametrize("glob", ["../*.png", "data/../../*.png", "/etc/*", "/tmp/**/*.png", "~/*.png", "C:/x/*.png"])
def test_card_globs_stay_inside_their_root(tmp_path, samples, glob):
    c = tmp_path / "esc.md"
    c.write_text(CARD.format(name="esc", extra="").replace("'*.png'", repr(glob)))
    res = cli("--source", f"{c}={tiles(tmp_path / 'data', samples, 1)}", "--out", tmp_path / "out")
    assert res.returncode == EXIT_USAGE and "a glob relative to the dataset root" in res.stderr and "Traceback" not in res.stderr


# --- one bad file does not stop everything -----------------------------------------------------------------------

def test_undecodable_file_names_are_rejects(tmp_path, samples):
    data = tiles(tmp_path / "data", samples, 2)
    for raw in (b"caf\xe9.png", b"\xff\xfe.png", b"ok\x80\x81/t.png"):
        p = data / os.fsdecode(raw)
        p.parent.mkdir(exist_ok=True); p.write_bytes((data / "t0.png").read_bytes())
    c = card(tmp_path / "t.md", extra="").read_text().replace("'*.png'", "['*.png', '*/*.png']")
    (tmp_path / "t.md").write_text(c)
    res = cli("--source", f"{tmp_path / 't.md'}={data}", "--out", tmp_path / "out")
    assert res.returncode == EXIT_OK, res.stderr
    inputs = pd.read_parquet(tmp_path / "out/inputs.parquet")
    assert sorted(inputs.path[inputs.status == "accepted"]) == ["t0.png", "t1.png"]
    bad = inputs[inputs.status == "rejected"]
    assert len(bad) == 3 and set(bad.reason) == {"the file name is not valid UTF-8: rename it to include it"}
    assert "caf\\xe9.png" in set(bad.path) and cli("check", tmp_path / "out").returncode == EXIT_OK


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\x00" not in b and not b.startswith(b".")),
                      min_size=1, max_size=6, unique=True))
def test_any_file_name_is_a_scene_or_a_reject(tmp_path_factory, names):
    "Property: whatever bytes name the files, discovery never raises and accounts for every file once."
    root = tmp_path_factory.mktemp("names")
    for n in names: (root / os.fsdecode(n + b".png")).write_bytes(b"x")
    scenes, rejects = discover(parse_card(CARD.format(name="n", extra="")), root)
    assert len(scenes) + len(rejects) == len(names)
    pd.DataFrame(rejects, columns=["source", "path", "window", "reason"]).to_parquet(root.parent / f"{root.name}.parquet")  # storable


def _patched_cli(tmp_path, patch: str, *args):
    "The command run as a script after `patch` (Python) has been executed: a full disk, say."
    script = tmp_path / "patched_build.py"
    script.write_text(textwrap.dedent(patch) + "\nimport sys\nfrom mmmrs.build import main\nsys.exit(main())\n")
    return subprocess.run([sys.executable, str(script), "--no-progress", *map(str, args)], capture_output=True, text=True, timeout=300)


FULL_DISK_ON_MERGE = """
import errno, pathlib
real = pathlib.Path.write_bytes
def full(self, data):
    if self.name == ".manifest.parquet.tmp": raise OSError(errno.ENOSPC, "No space left on device", str(self))
    return real(self, data)
pathlib.Path.write_bytes = full
"""


def test_disk_full_during_the_merge(tmp_path, src):
    out = tmp_path / "out"
    cli("--source", src, "--out", out)
    before = {n: (out / n).read_bytes() for n in ("manifest.parquet", "stats.json")}
    res = _patched_cli(tmp_path, FULL_DISK_ON_MERGE, "--source", src, "--out", out, "--quality", "50")
    assert res.returncode == EXIT_FAILED and "No space left on device" in res.stderr and "Traceback" not in res.stderr
    assert "free some space and run the same command again" in res.stderr
    assert {n: (out / n).read_bytes() for n in before} == before  # the old manifest and stats, whole and consistent
    assert not list(out.glob(".*.tmp"))
    res = cli("check", out)  # the shards were rebuilt at quality 50, the tables are the old ones: check says so
    assert res.returncode == EXIT_PROBLEMS and "damaged" in res.stdout
    assert cli("--source", src, "--out", out, "--quality", "50").returncode == EXIT_OK
    assert cli("check", out).returncode == EXIT_OK


def test_every_shard_failing_is_a_failure(tmp_path, src):
    patch = "import errno, mmmrs.run as b\ndef full(*a, **k): raise OSError(errno.ENOSPC, 'No space left on device')\nb.write_tar = full\n"
    res = _patched_cli(tmp_path, patch, "--source", src, "--out", tmp_path / "out", "--retries", "0")
    assert res.returncode == EXIT_FAILED and last_line(res).startswith("FAILED: 1 of 1 shards failed (tiles-00000); 0 pairs written")
    res = cli("check", tmp_path / "out")
    assert res.returncode == EXIT_PROBLEMS and "shard tiles-00000 failed in the last build" in res.stdout


# --- silently wrong pixels and settings --------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_nan_is_nodata_and_an_all_nan_scene_is_a_reject(tmp_path):
    import rasterio
    root = tmp_path / "f"; root.mkdir()
    x = np.tile(np.linspace(0.0, 0.3, 512, dtype="float32"), (512, 1))
    x[:, :100] = np.nan
    for name, a in (("half.tif", x), ("all.tif", np.full((512, 512), np.nan, "float32"))):
        with rasterio.open(root / name, "w", driver="GTiff", width=512, height=512, count=3, dtype="float32") as dst:
            dst.write(np.stack([a] * 3))  # no nodata tag
    c = card(tmp_path / "f.md", "floats").read_text().replace("'*.png'", "'*.tif'").replace("gsd: 10\n", "gsd: 10\nmin_valid: 0.5\n")
    (tmp_path / "f.md").write_text(c)
    res = cli("--source", f"{tmp_path / 'f.md'}={root}", "--out", tmp_path / "out")
    assert res.returncode == EXIT_OK
    m = pd.read_parquet(tmp_path / "out/manifest.parquet")
    assert m.file.tolist() == ["half.tif"] and abs(m.valid[0] - 412 / 512) < 1e-3
    from mmmrs.shards import read_members
    jpg = read_members(tmp_path / "out", {m.shard[0]: [m.member[0]]})[m.member[0]]
    img = np.asarray(Image.open(__import__("io").BytesIO(jpg)))
    assert img[:, 120:].std() > 40  # a real stretch, not flat
    why = pd.read_parquet(tmp_path / "out/inputs.parquet").set_index("path").reason["all.tif"]
    assert "no valid pixel at all (nodata or NaN everywhere)" in why


BAD_CARDS = {
    "gsd: .inf": "key 'gsd': expected a positive number", "gsd: .nan": "key 'gsd'", "gsd: -10": "key 'gsd'", "gsd: true": "key 'gsd'",
    'pyramid: "false"': "key 'pyramid': expected true or false", "pyramid: 1": "key 'pyramid'", "upscale: 3": "key 'upscale'",
    "upscale: 2.0": "key 'upscale'", "min_valid: .nan": "key 'min_valid'", "min_valid: 2": "key 'min_valid'",
    "percentiles: [99, 1]": "key 'percentiles'", "percentiles: [1, .inf]": "key 'percentiles'", "min_size: 0": "key 'min_size'",
    "nodata: .inf": "key 'nodata'", "nodata: [0]": "key 'nodata'", "cut: tile": "key 'cut'", "pyramdi: true": "did you mean 'pyramid'?",
    "bandz: [1]": "unknown key 'bandz'", "count: -1": "key 'count'", "align: geo": "key 'align'", "adapter: evil": "key 'adapter'",
    "gsd: 10\ngsd: .inf": "key 'gsd' is given twice", "title: [a, b]": "key 'title'",
}


def card_with(lines: str) -> str:
    "The test card with `lines` in place of its own lines for the same keys."
    keys = {l.split(":")[0] for l in lines.splitlines()}
    base = [l for l in CARD.format(name="x", extra="").splitlines() if l.split(":")[0] not in keys]
    return "\n".join(base[:-1] + [lines, "---"]) + "\n"


@pytest.mark.parametrize("line", list(BAD_CARDS))
def test_bad_card_values_are_card_errors(line):
    with pytest.raises(CardError) as e: parse_card(card_with(line), "x.md")
    assert BAD_CARDS[line] in str(e.value) and "data card x.md" in str(e.value)


def test_modality_typo_names_the_key_and_suggests(tmp_path, samples):
    c = tmp_path / "typo.md"
    c.write_text(CARD.format(name="typo", extra="").replace("{rgb: '*.png'}", "{rgb: {glob: '*.png', bandz: [1, 2, 3]}}"))
    res = cli("--source", f"{c}={tiles(tmp_path / 'data', samples, 1)}", "--out", tmp_path / "out")
    assert res.returncode == EXIT_USAGE and "unknown key 'modalities.rgb.bandz': did you mean 'bands'?" in res.stderr


def test_yaml_alias_bomb_is_refused_fast():
    layers = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    text = "---\n" + "\n".join(layers) + "\n" + CARD.format(name="bomb", extra="")[4:]
    assert len(text) < 1000
    t = time.perf_counter()
    with pytest.raises(CardError, match="aliases"): parse_card(text, "bomb.md")
    assert time.perf_counter() - t < 5


@pytest.mark.parametrize("what", ["deep-list", "deep-map", "huge-file", "latin-1", "python-tag", "complex-key"])
def test_cards_that_would_crash_the_loader_are_card_errors(tmp_path, what):
    from mmmrs.cards import load_card
    front = {"deep-list": "x: " + "[" * 5000 + "]" * 5000, "deep-map": "x: " + "{a: " * 3000 + "1" + "}" * 3000,
             "python-tag": "name: !!python/object/apply:os.system [ls]", "complex-key": "? [a, b]\n: 1"}.get(what, "")
    p = tmp_path / "c.md"
    if what == "huge-file": p.write_text(CARD.format(name="x", extra="") + "#" * (2 << 20))
    elif what == "latin-1": p.write_bytes(CARD.format(name="x", extra="").encode() + "caf\xe9".encode("latin-1"))
    else: p.write_text("---\n" + front + "\n" + CARD.format(name="x", extra="")[4:])
    with pytest.raises(CardError, match=f"data card {p}"): load_card(p)


CARD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                        st.text(max_size=12), st.lists(st.integers(-2, 5), max_size=4),
                        st.dictionaries(st.sampled_from(["glob", "bands", "bandz", "rgb"]), st.text(max_size=5), max_size=2))
KEYS = ["gsd", "pyramid", "upscale", "min_valid", "min_size", "percentiles", "nodata", "cut", "align", "optional", "count",
        "modalities", "satellite", "pair_by", "category", "name", "title", "adapter", "gds", "bands"]


@settings(max_examples=300, deadline=None)
@given(edits=st.dictionaries(st.sampled_from(KEYS), CARD_VALUES, min_size=1, max_size=4))
def test_any_card_is_valid_or_a_card_error(edits):
    "Property: any values for any keys give a Card whose fields have their documented types, or a CardError; nothing else."
    import yaml
    meta = {**yaml.safe_load(CARD.format(name="p", extra="").strip("-\n")), **edits}
    text = "---\n" + yaml.safe_dump(meta) + "---\n"
    try: c = parse_card(text, "p.md")
    except CardError as e: assert str(e).startswith("data card p.md:"); return
    assert isinstance(c, Card) and isinstance(c.pyramid, bool) and c.upscale in (1, 2, 4, 8)
    assert c.gsd == "georef" or (isinstance(c.gsd, float) and np.isfinite(c.gsd) and c.gsd > 0)
    assert 0 <= c.min_valid <= 1 and np.isfinite(c.percentiles).all() and c.percentiles[0] < c.percentiles[1]
    assert c.nodata is None or np.isfinite(c.nodata)
    assert all(".." not in g and not g.startswith("/") for s in c.modalities.values() for g in s.glob)


# --- the exit status tells the truth -----------------------------------------------------------------------------

BAD_OPTIONS = [
    (["--shard-size", "0"], "--shard-size: expected an integer >= 1"), (["--shard-size", "-1"], "--shard-size"),
    (["--limit", "0"], "--limit: expected an integer >= 1"), (["--limit", "-1"], "--limit"),
    (["--quality", "0"], "--quality"), (["--quality", "101"], "--quality"), (["--gsd-threshold", "nan"], "--gsd-threshold"),
    (["--gsd-threshold", "inf"], "--gsd-threshold"), (["--gsd-threshold", "3"], "--gsd-threshold"),
    (["--upscaler", "nosuch"], "--upscaler"), (["--workers", "-1"], "--workers"), (["--retries", "-1"], "--retries"),
    (["--weather-count", "0", "--weather", "fog"], "--weather-count"), (["--split", "1,nan,0"], "--split"),
    (["--captioner", "blip"], "--captioner"), (["--shard-size", "x"], "invalid int value"), (["--seed", "1.5"], "invalid int value"),
]

MANY = """
import json, sys
from mmmrs.build import main
for args in json.loads(sys.argv[1]):
    try: code = main(["--no-progress", *args])
    except SystemExit as e: code = e.code
    print(f"exit {code}", file=sys.stderr, flush=True)
"""


def test_bad_options_are_usage_errors_before_any_work(tmp_path, src):
    "Each bad option through the command's own entry point (one process runs them all, as the console script would)."
    argvs = [["--source", src, "--out", str(tmp_path / "out"), *args] for args, _ in BAD_OPTIONS]
    (script := tmp_path / "many.py").write_text(MANY)  # a script file: run as a command, not as a Python call
    res = subprocess.run([sys.executable, str(script), json.dumps(argvs)], capture_output=True, text=True, timeout=300)
    runs = res.stderr.split("\n")
    chunks, current = [], []
    for line in runs:
        if line.startswith("exit "): chunks.append((int(line[5:]), "\n".join(current))); current = []
        else: current.append(line)
    assert len(chunks) == len(BAD_OPTIONS), res.stderr
    for (args, message), (code, err) in zip(BAD_OPTIONS, chunks):
        assert code == EXIT_USAGE and message in err and "Traceback" not in err, (args, code, err)
    assert not (tmp_path / "out").exists()
    real = cli("--source", src, "--out", tmp_path / "out", "--shard-size", "0")  # and once through the installed command
    assert real.returncode == EXIT_USAGE and "--shard-size" in real.stderr and not (tmp_path / "out").exists()


def test_help_documents_the_exit_codes():
    out = " ".join(cli("--help").stdout.split())
    assert "Exit status: 0" in out and "5 another build holds the folder's lock" in out


def test_everything_rejected_is_not_success(tmp_path):
    root = tmp_path / "junk"; root.mkdir()
    for i in range(3): (root / f"j{i}.png").write_bytes(b"not a png")
    res = cli("--source", f"{card(tmp_path / 'j.md', 'junk')}={root}", "--out", tmp_path / "out")
    assert res.returncode == EXIT_EMPTY and last_line(res) == "NOTHING BUILT: all 3 inputs were rejected, see rejects.parquet (exit 4)"


def test_success_says_so(tmp_path, src):
    res = cli("--source", src, "--out", tmp_path / "out", "--limit", "2", "--shard-size", "1")
    assert res.returncode == EXIT_OK and last_line(res) == f"OK: 2 text-image pairs, 2 shards (2 built, 0 already done) in {tmp_path / 'out'}"
