"""Export lm-eval result folders as the tables people publish: a wide leaderboard (one row per model,
one column per ``<task>_<shots>_<metric>``, one row per prompt condition) and a metadata table
of sizes with units in the header.  This is how ``docs/examples/`` was made:

    python scripts/wide_table.py tests/data/lmeval tests/data/lmeval_wild --out docs/examples

The numbers are lm-evaluation-harness's own (``results`` of each run), reshaped with pandas;
nothing is computed here.  The two folders ran the same ladder with different task definitions
(``plain``: ``ladder_addition_*``; ``wild``: two filters, a group), kept as a ``suite`` column that
``audit --by suite`` treats as a condition.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", type=Path, nargs="+")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    rows, sizes = [], {}
    for folder in a.folders:
        for f in sorted(folder.rglob("*.json")):
            data = json.loads(f.read_text())
            if not isinstance(data.get("results"), dict):
                continue
            model = f.parent.name
            sizes[model] = data["config"]["model_num_parameters"]
            shots = data.get("n-shot", {})
            row = {"Model": model, "suite": folder.name}
            for task, metrics in data["results"].items():
                for key, value in metrics.items():
                    if "," not in key or "_stderr" in key or not isinstance(value, (int, float)):
                        continue
                    metric, filt = key.split(",", 1)
                    name = task if filt == "none" else f"{task}-{filt}"
                    row[f"{name}_{shots.get(task, 0)}_{metric}"] = value
            rows.append(row)
    a.out.mkdir(parents=True, exist_ok=True)
    wide = pd.DataFrame(rows).sort_values(["suite", "Model"])
    wide.to_csv(a.out / "ladder_leaderboard.csv", index=False, float_format="%.6g")
    meta = pd.DataFrame({"Model": list(sizes), "Params (K)": [v / 1e3 for v in sizes.values()]})
    meta.to_csv(a.out / "ladder_models.csv", index=False, float_format="%.6g")
    print(f"wrote {a.out / 'ladder_leaderboard.csv'} ({wide.shape[0]} rows x {wide.shape[1]} columns) and "
          f"{a.out / 'ladder_models.csv'}")


if __name__ == "__main__":
    main()
