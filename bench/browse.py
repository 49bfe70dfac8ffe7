"""Browser filters on a manifest of a million rows, as ratios measured side by side in one run.

  python bench/browse.py

The demo manifest is replicated to 1,000,000 rows (unique keys); indexing it (once, when the browser opens) and each
browser query (a filter, a text search, no filter) are timed against the cost of reading that manifest from Parquet,
the floor of any interactive start; a sample's rows (read for every image shown) are looked up by key vs scanned.
"""
import tempfile, time
from pathlib import Path

import pandas as pd

from mmmrs.browse import Catalog
from mmmrs.build import build, demo_sources


def best(f, n=3):
    t = []
    for _ in range(n):
        s = time.perf_counter(); f(); t.append(time.perf_counter() - s)
    return min(t)


def main(rows: int = 1_000_000):
    tmp = Path(tempfile.mkdtemp())
    m = build(demo_sources(), tmp / "demo", progress=False).manifest
    big = pd.concat([m.assign(key=m.key + f"_{i}") for i in range(rows // len(m) + 1)], ignore_index=True).head(rows)
    big.to_parquet(tmp / "big.parquet", index=False)
    read = best(lambda: pd.read_parquet(tmp / "big.parquet"))
    big = pd.read_parquet(tmp / "big.parquet")  # as the browser has it: read from the manifest file
    index = best(lambda: Catalog(big), n=1)
    cat = Catalog(big)
    print(f"{len(big):,} rows; reading the manifest: {read * 1e3:.0f} ms; indexing it once (Catalog): {index / read:.2f}x that")
    for name, f in [("filter modality=sar", lambda: cat.query(modality=["sar"])),
                    ("filter source + GSD level", lambda: cat.query(source=["demo-neon"], gsd_level=["ultra-high"])),
                    ("text search over prompts", lambda: cat.query(text="sentinel-1")),
                    ("no filter (all samples)", lambda: cat.query())]:
        t = best(f)
        print(f"{name}: {t * 1e3:.0f} ms = {t / read:.2f}x the manifest read")
    keys = big.key.iloc[::50_000].tolist()
    scan = best(lambda: [big[big.key == k] for k in keys]) / len(keys)
    keyed = best(lambda: [cat.rows(k) for k in keys]) / len(keys)
    print(f"one sample's rows (each image shown): keyed {keyed * 1e3:.2f} ms vs scanning the manifest {scan * 1e3:.1f} ms: {scan / keyed:.0f}x faster")


if __name__ == "__main__":
    main()
