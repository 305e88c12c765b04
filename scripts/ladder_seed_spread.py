"""How much do the ladder's small members move with the training seed?

Evaluates ladders trained with different seeds on the arithmetic experiment's held-out problems and
writes, per (seed, model, task), per-digit accuracy and exact match, then the spread across seeds.
The seed ladders are made with the same command as the shipped one:

    emergence-lens train-ladder --seed 1 --out /tmp/ss1
    emergence-lens train-ladder --seed 2 --out /tmp/ss2
    python scripts/ladder_seed_spread.py src/emergence_lens/models/checkpoints/seed_spread.csv \
        0=shipped 1=/tmp/ss1 2=/tmp/ss2

Each (seed, model) is evaluated in a pinned worker process, as ``reproduce arithmetic`` evaluates, so
seed 0's values are the experiment's own.  The table ships beside the ladder: ``reproduce arithmetic``
prints the spread next to the shipped ladder's numbers (``seed_spread.csv``, ``summary.md``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

from emergence_lens.analysis import write_csv
from emergence_lens.experiments.arithmetic import make_examples
from emergence_lens.metrics import exact_match, per_token_accuracy
from emergence_lens.models.backends.hf import HFBackend
from emergence_lens.models.evaluate import evaluate_examples
from emergence_lens.models.ladder import shipped_ladder
from emergence_lens.models.pinned import run_pinned

TASKS = ("addition-L4", "addition-L5", "multiplication-L4")


def _evaluate(seed: int, model_dir: str, examples: list, queue) -> list[dict]:
    """One (seed, model) in a pinned worker: per task, per-digit accuracy and exact match."""
    df = evaluate_examples(HFBackend(model_dir, device="cpu", batch_size=1000), examples, family="ladder",
                           model=Path(model_dir).name, scale_params=1.0, answer_prefix="", stop=("\n",))
    queue.put(model_dir)
    return [{"seed": seed, "model": Path(model_dir).name, "task": task,
             "per_digit_accuracy": float(per_token_accuracy(list(g.target_token_greedy)).mean()),
             "exact_match": float(exact_match(g.target, g.prediction).mean())}
            for task, g in df.groupby("task")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("ladders", nargs="+", help="SEED=DIR (DIR 'shipped' for the packaged ladder)")
    ap.add_argument("--n", type=int, default=500)
    a = ap.parse_args()
    examples = [e for e in make_examples(a.n, seed=0) if e.task in TASKS]
    calls = []
    for item in a.ladders:
        seed, _, where = item.partition("=")
        root = shipped_ladder() if where == "shipped" else Path(where)
        calls += [(int(seed), str(p), examples) for p in sorted(root.iterdir()) if (p / "model.safetensors").exists()]
    rows = [row for result in run_pinned(_evaluate, calls, jobs=os.cpu_count() or 1) for row in result]
    table = pd.DataFrame(rows)
    models = table.groupby("model").seed.nunique()
    common = table[table.model.isin(models[models == table.seed.nunique()].index)]
    spread = (common.groupby(["model", "task"])
              .agg(seeds=("seed", "nunique"), per_digit_min=("per_digit_accuracy", "min"),
                   per_digit_max=("per_digit_accuracy", "max"), per_digit_sd=("per_digit_accuracy", "std"),
                   exact_match_min=("exact_match", "min"), exact_match_max=("exact_match", "max"))
              .reset_index())
    write_csv(table, a.out)
    print(spread.to_string(index=False))


if __name__ == "__main__":
    main()
