"""Run inspect-ai (its ``hf/`` provider, offline, greedy) on every shipped ladder member.

Produces genuine Inspect logs — ``.eval`` archives, and ``.json`` logs with ``--log-format json`` —
for the compact arithmetic problems the ladder was evaluated on in ``reproduce arithmetic``, with
two scorers: Inspect's built-in ``match()`` (``C``/``I``) and a numeric per-digit scorer written as
any Inspect user would.  Beside the logs it writes ``models.csv`` (model, params: the shipped
ladder's non-embedding parameter counts), a metadata table that ``audit`` recognises by content.
It also writes ``records.parquet``: emergence-lens' own greedy decoding of the same prompts
(``HFBackend.generate``), the same outputs through records, and prints how many answers differ
from Inspect's.  The models run from a temporary copy of the ladder, so the ``model_path`` in the
logs names no checkpoint that exists later: sizes come from ``models.csv``, on any machine.  This
is how ``tests/data/inspect/`` was made (the second task's logs as JSON):

    pip install inspect-ai accelerate
    python scripts/inspect_ladder.py tests/data/inspect --limit 60 --tasks addition-L4 \
        --records tests/data/inspect_records.parquet
    python scripts/inspect_ladder.py tests/data/inspect --limit 30 --tasks addition-L5 --log-format json \
        --records tests/data/inspect_records.parquet
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

#: A chat template that passes the prompt through as it is: the ladder was trained on ``a+b=``,
#: not on chat turns.
PASS_THROUGH = "{% for m in messages %}{{ m['content'] }}{% endfor %}"


def main() -> None:
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                      INSPECT_LOG_LEVEL="warning")
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import Score, Target, match, mean, scorer, stderr
    from inspect_ai.solver import TaskState, generate

    from emergence_lens.experiments.arithmetic import make_examples
    from emergence_lens.models.backends.hf import HFBackend
    from emergence_lens.models.ladder import DEFAULT_SIZES, shipped_ladder

    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--tasks", nargs="*", default=["addition-L4", "addition-L5"])
    ap.add_argument("--models", nargs="*", default=[s.name for s in DEFAULT_SIZES])
    ap.add_argument("--limit", type=int, default=60)
    ap.add_argument("--log-format", choices=["eval", "json"], default="eval")
    ap.add_argument("--records", type=Path, default=None,
                    help="where records.parquet goes (default OUT/records.parquet; outside OUT, an audit of OUT "
                         "reads only the logs)")
    a = ap.parse_args()
    ladder = shipped_ladder()

    @scorer(metrics=[mean(), stderr()])
    def digit_accuracy():  # noqa: ANN202 - an Inspect scorer factory
        async def score(state: TaskState, target: Target) -> Score:
            answer = state.output.completion.strip()
            want = target.text
            hits = sum(x == y for x, y in zip(answer.ljust(len(want)), want, strict=False))
            return Score(value=hits / len(want), answer=answer)
        return score

    examples = make_examples(a.limit, seed=0)
    a.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ladder-"))
    for name in a.models:
        shutil.copytree(ladder / name, tmp / name)
    rec_path = a.records or a.out / "records.parquet"
    records = pd.read_parquet(rec_path) if rec_path.exists() else None
    with open(a.out / "models.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "params"])
        for name in a.models:
            meta = json.loads((ladder / name / "ladder.json").read_text())
            w.writerow([f"hf/{name}", meta["non_embedding_params"]])
    for task_name in a.tasks:
        chosen = [e for e in examples if e.task == task_name]
        task = Task(name=task_name.replace("-", "_"),
                    dataset=[Sample(input=e.prompt, target=e.target, id=e.example_id) for e in chosen],
                    solver=[generate()], scorer=[match(location="exact"), digit_accuracy()])
        for name in a.models:
            logs = eval(task, model=f"hf/{name}", log_dir=str(a.out / "logs"), log_format=a.log_format,
                        model_args={"model_path": str(tmp / name), "tokenizer_path": str(tmp / name),
                                    "device": "cpu", "do_sample": False, "chat_template": PASS_THROUGH},
                        max_tokens=8, stop_seqs=["\n"], display="none", score_display=False)
            log = logs[0]
            theirs = [s.output.completion.strip() for s in sorted(log.samples or [], key=lambda s: int(s.id))]
            ours = [p.strip() for p in HFBackend(tmp / name, device="cpu").generate([e.prompt for e in chosen], 8,
                                                                                    ["\n"])]
            meta = json.loads((ladder / name / "ladder.json").read_text())
            rows = pd.DataFrame({"family": "ladder", "model": f"hf/{name}",
                                 "scale_params": float(meta["non_embedding_params"]),
                                 "task": task.name, "example_id": [e.example_id for e in chosen],
                                 "target": [e.target for e in chosen], "prediction": ours})
            records = rows if records is None else pd.concat(
                [records[~((records.model == f"hf/{name}") & (records.task == task.name))], rows], ignore_index=True)
            differ = sum(t != o for t, o in zip(theirs, ours, strict=True))
            em = sum(t == e.target for t, e in zip(theirs, chosen, strict=True)) / len(chosen)
            print(f"{name} {task_name}: inspect exact match {em:.3f}; {differ} of {len(chosen)} answers differ "
                  f"from emergence-lens' greedy decoding; log {Path(log.location).name}")
    shutil.rmtree(a.out / "logs" / ".buffer", ignore_errors=True)
    shutil.rmtree(tmp)
    records.sort_values(["task", "model", "example_id"], key=lambda c: c.map(str), ignore_index=True).to_parquet(
        rec_path, index=False)


if __name__ == "__main__":
    main()
