"Real-browser checks, headless Chromium driven by Playwright: the browse widget in JupyterLab on loopback, the docs site."
import json, os, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_build

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    "A JupyterLab server on 127.0.0.1 serving a notebook that opens a SampleBrowser on the demo dataset; stopped afterwards."
    run_build("--demo", "--out", tmp_path / "demo")
    cell = f"from mmmrs.browse import SampleBrowser\nb = SampleBrowser(r'{tmp_path / 'demo'}', page_size=6)\nb"
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [], "source": cell}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "browse.ipynb").write_text(json.dumps(nb))
    port, token = _free_port(), "mmmrs-test"
    server = subprocess.Popen([str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                               "--allow-root", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=",
                               "--ServerApp.disable_check_xsrf=True"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                              env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "config")})
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try: urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1); break
        except OSError: time.sleep(0.5)
    else: raise RuntimeError("JupyterLab did not start")
    yield f"{url}/lab/tree/browse.ipynb?token={token}"
    os.killpg(server.pid, signal.SIGTERM)
    try: server.wait(timeout=20)
    except subprocess.TimeoutExpired: os.killpg(server.pid, signal.SIGKILL)


def launch(p):
    "Debian's headless chromium, with its network chatter off (this machine's network is closed); screenshots go to ARTIFACTS."
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (tools/test.sh installs it)"
    ARTIFACTS.mkdir(exist_ok=True)
    return p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                                             "--disable-component-update", "--disable-sync", "--no-first-run"])


def test_browser_renders_filters_and_saves_a_review(lab, tmp_path):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(lab)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-mod-idle, .jp-KernelStatus", timeout=60_000)
        time.sleep(2)
        page.click(".jp-Cell .jp-InputArea-editor")
        page.keyboard.press("Shift+Enter")
        thumbs = ".jp-OutputArea-output .widget-gridbox img"
        page.wait_for_function(f"document.querySelectorAll('{thumbs}').length == 6", timeout=90_000)
        page.screenshot(path=str(ARTIFACTS / "browser-all.png"), full_page=True)
        page.locator(".widget-select-multiple", has_text="modality").locator("select").select_option("sar")
        page.wait_for_function(f"document.querySelectorAll('{thumbs}').length == 2", timeout=30_000)
        assert "(2 samples)" in page.inner_text(".jp-OutputArea-output")
        page.locator(".widget-gridbox button").first.click()  # select a sample: its SAR and RGB appear side by side
        page.wait_for_selector("text=same scene, coarse to fine", timeout=30_000)
        assert page.locator(".jp-OutputArea-output img").count() >= 2 + 2 + 1  # thumbnails, both modalities, its scene
        page.screenshot(path=str(ARTIFACTS / "browser-sar.png"), full_page=True)
        review = page.locator(".jp-OutputArea-output")  # the review under the sample: a caption, a reviewer, Save
        review.locator(".widget-textarea textarea").fill("a satellite image of fields along a river")
        review.locator(".widget-text", has_text="reviewer").locator("input").fill("kim")
        page.get_by_role("button", name="Save correction").click()
        page.wait_for_selector("text=saved to", timeout=30_000)
        browser.close()
    from mmmrs.review import main as review_main, read_corrections
    (row,) = read_corrections(tmp_path / "demo" / "corrections.csv").to_dict("records")
    assert (row["corrected_caption"], row["status"], row["reviewer"]) == ("a satellite image of fields along a river", "keep", "kim")
    assert review_main(["apply", tmp_path / "demo", tmp_path / "demo" / "corrections.csv"]) == 0
    m = pd.read_parquet(tmp_path / "demo" / "manifest.parquet").set_index("key")
    assert m.loc[row["key"], "corrected_by"].tolist() == ["kim", "kim"]  # its RGB and SAR prompts, recomposed


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory):
    "The documentation site as tools/docs.sh builds it (strict: a broken link or reference fails the build)."
    site = tmp_path_factory.mktemp("docs") / "site"
    res = subprocess.run(["bash", str(ROOT / "tools" / "docs.sh"), str(site)], capture_output=True, text=True, timeout=900,
                         env={**os.environ, "PYTHON": sys.executable})
    assert res.returncode == 0, res.stdout + res.stderr
    return site


def test_docs_site_has_every_notebook_and_module_and_no_dead_link(docs_site):
    import re
    notebooks = sorted(p.stem for p in (ROOT / "nbs").glob("[0-9]*.ipynb"))
    assert sorted(p.stem for p in (docs_site / "notebooks").glob("*.html")) == notebooks
    assert (docs_site / "workshop.html").exists() and (docs_site / "tour.html").exists()
    modules = sorted(p.stem for p in (ROOT / "mmmrs").glob("[a-z]*.py"))
    assert sorted(p.stem for p in (docs_site / "api").glob("*.html")) == modules
    dead = []
    for page in docs_site.rglob("*.html"):
        for link in re.findall(r'(?:href|src)="([^"#?]+)[^"]*"', page.read_text(errors="replace")):
            if re.match(r"[a-z]+:|//", link): continue  # external (the site itself needs none)
            target = docs_site / link.lstrip("/") if link.startswith("/") else page.parent / link  # "/": the site's root (404.html)
            if not target.resolve().exists(): dead.append(f"{page.relative_to(docs_site)} -> {link}")
    assert not dead, dead[:10]


def test_docs_site_opens_in_the_browser(docs_site):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.route("http*://**", lambda route: route.abort())  # offline: a page that needs the network shows it here
        page.goto((docs_site / "index.html").as_uri())
        assert page.title().startswith("mmmrs")
        assert page.locator("img[src='samples.jpg']").evaluate("img => img.naturalWidth") > 0
        page.screenshot(path=str(ARTIFACTS / "docs-index.png"))
        page.locator("nav a[href$='notebooks/17_data.html']").first.click()
        page.wait_for_selector(".jp-Cell", timeout=30_000)
        assert "export_imagefolder" in page.inner_text("article")
        assert page.locator(".jp-CodeCell").count() > 10  # the notebook's code, cell by cell
        page.screenshot(path=str(ARTIFACTS / "docs-notebook.png"))
        page.goto((docs_site / "api" / "data.html").as_uri())
        assert page.locator("[id='mmmrs.data.export_imagefolder']").count() == 1  # the API page documents it
        browser.close()
