"""Stage the documentation site's pages: the README as the home page, every numbered notebook, the tour and the workshop
as pages, an API page per module, and the nav; then `mkdocs build` (tools/docs.sh) renders them."""
import json, re, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_of(nb: Path) -> str | None:
    "The module a notebook exports to (its `#| default_exp`), or None."
    for cell in json.loads(nb.read_text())["cells"]:
        if m := re.search(r"^#\|\s*default_exp\s+(\S+)", "".join(cell["source"]), re.M): return m.group(1)
    return None


def title_of(nb: Path) -> str:
    "The notebook's H1 title."
    for cell in json.loads(nb.read_text())["cells"]:
        if cell["cell_type"] == "markdown" and (m := re.search(r"^#\s+(.+)$", "".join(cell["source"]), re.M)):
            return m.group(1).strip()
    return nb.stem


def stage(dest: Path) -> dict:
    "Write the pages under `dest/pages` and return the nav."
    pages = dest / "pages"
    shutil.rmtree(pages, ignore_errors=True); (pages / "notebooks").mkdir(parents=True); (pages / "api").mkdir()
    readme = (ROOT / "README.md").read_text().replace("](docs/", "](")
    (pages / "index.md").write_text(readme)
    for f in (ROOT / "docs").iterdir():
        if f.is_file(): shutil.copy(f, pages / f.name)
    notebooks, api = [], []
    for nb in sorted((ROOT / "nbs").glob("[0-9]*.ipynb")):
        shutil.copy(nb, pages / "notebooks" / nb.name)
        notebooks.append({f"{nb.stem.split('_', 1)[0]} {title_of(nb)}": f"notebooks/{nb.name}"})
        if mod := module_of(nb):
            (pages / "api" / f"{mod}.md").write_text(f"# mmmrs.{mod}\n\nFrom [{nb.name}](../notebooks/{nb.name}).\n\n::: mmmrs.{mod}\n")
            api.append({f"mmmrs.{mod}": f"api/{mod}.md"})
    shutil.copy(ROOT / "nbs" / "index.ipynb", pages / "tour.ipynb")
    shutil.copy(ROOT / "nbs" / "tutorials" / "01_workshop.ipynb", pages / "workshop.ipynb")
    return [{"Home": "index.md"}, {"Tour": "tour.ipynb"}, {"Workshop": "workshop.ipynb"}, {"Notebooks": notebooks}, {"API": api}]


def main(dest="_docs/site.src", site="_docs/site"):
    "Stage the pages in `dest` with a config (inheriting the repository's mkdocs.yml) that builds the site into `site`."
    dest, site = (ROOT / dest).resolve(), (ROOT / site).resolve()
    config = {"INHERIT": str(ROOT / "mkdocs.yml"), "docs_dir": "pages", "site_dir": str(site), "nav": stage(dest)}
    (dest / "mkdocs.yml").write_text(json.dumps(config, indent=1))  # JSON is YAML
    return dest / "mkdocs.yml"


if __name__ == "__main__":
    print(main(*sys.argv[1:]))
