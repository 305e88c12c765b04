"""Copy only the lm-eval results files of a folder (no samples): the aggregates a user downloads.

    python scripts/results_only.py tests/data/lmeval /tmp/lmeval-results [--drop-n-samples]

``--drop-n-samples`` also removes ``n-samples`` (lm-eval 0.3 files never had it), so ``n`` can only
come from the stderr; every other byte of each file is kept.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--drop-n-samples", action="store_true")
    a = ap.parse_args()
    for f in sorted(a.src.rglob("results_*.json")):
        out = a.dst / f.relative_to(a.src)
        out.parent.mkdir(parents=True, exist_ok=True)
        if a.drop_n_samples:
            data = json.loads(f.read_text(encoding="utf-8"))
            data.pop("n-samples", None)
            out.write_text(json.dumps(data, indent=2), encoding="utf-8")
        else:
            shutil.copy(f, out)
    print(f"{a.dst}: {sum(1 for _ in a.dst.rglob('results_*.json'))} results files")


if __name__ == "__main__":
    main()
