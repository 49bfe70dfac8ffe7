"""Run notebooks and keep the outputs that teach: small tables, printed prompts and help texts, figures. Everything
else (warnings, progress bars, long or machine-specific text) is dropped, so a rerun on another machine changes little.

usage: .venv/bin/python tools/keep_outputs.py nbs/07_gsd.ipynb [...]   (then nbdev-clean, and commit)"""
import base64, re, sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MAX_TEXT, MAX_IMAGE = 3000, 200_000  # characters of text, bytes of a PNG
MACHINE = re.compile(r"/tmp/|/work/|/home/|/root/|\d+\.\d+ ?s\b|it/s|[0-9a-f]{40,}")  # paths, timings, full hashes


def teaches(out) -> bool:
    "A small, machine-independent stdout text, table or figure."
    if out.output_type == "stream": return out.name == "stdout" and len(out.text) <= MAX_TEXT and not MACHINE.search(out.text)
    if out.output_type not in ("execute_result", "display_data"): return False
    data = out.get("data", {})
    if "image/png" in data: return len(base64.b64decode(data["image/png"])) <= MAX_IMAGE
    text = data.get("text/html") or data.get("text/plain") or ""
    if isinstance(text, list): text = "".join(text)
    return 0 < len(text) <= MAX_TEXT and not MACHINE.search(text) and "application/vnd.jupyter.widget-view+json" not in data


def keep_outputs(path: Path, timeout: int = 900) -> int:
    "Execute the notebook at `path` in its folder and keep the outputs that teach; return how many cells keep one."
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    kept = 0
    for cell in nb.cells:
        if cell.cell_type != "code": continue
        first = cell.source.splitlines()[0] if cell.source else ""
        kept, seen = [], set()
        for o in ([] if first.startswith("#| export") else cell.outputs):
            png = o.get("data", {}).get("image/png")
            if teaches(o) and (png is None or png not in seen): kept.append(o); seen.add(png)  # a figure once
        cell.outputs = kept
        for o in cell.outputs:
            if o.output_type == "execute_result": o.execution_count = None
        cell.execution_count = None
        kept += bool(cell.outputs)
    nb.metadata.pop("widgets", None)  # ipywidgets' saved state (progress bars): not an output that teaches
    nbformat.write(nb, path)
    return kept


if __name__ == "__main__":
    for p in sys.argv[1:]: print(f"{p}: {keep_outputs(Path(p))} cells keep an output")
