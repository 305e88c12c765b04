"""The pipeline behind ``emergence-lens finetune``: a ladder's smaller members finetuned on ``k``
examples of a task, for several ``k``, and evaluated as the ladder is (Snell et al. 2024).

For every (task, ``k``, finetuning seed, member) one job, in its own pinned process (one CPU thread,
as the ladder trains): finetune the member on the first ``k`` of one list of distinct problems per
seed from the training half of the problem space (:func:`emergence_lens.tasks.generate_arithmetic` with
``training_half``; so the ``k`` sets are nested, and no evaluation problem is ever trained on), then
evaluate it greedily on the held-out problems the ``arithmetic`` experiment evaluates
(:func:`emergence_lens.experiments.arithmetic.make_examples`, same ``n`` and seed: the same
examples), through the same evaluation (:func:`emergence_lens.models.evaluate.evaluate_examples`).
Any other task comes as two task files (``--train``, ``--eval``: GPT-3 JSONL or BIG-bench, as
``evaluate`` reads them), refused where they share a prompt; any Hugging Face-format causal LM is a
member given its ``ladder.json`` (name, parameters, pretraining loss).
Each job writes ``runs/<task>/k<k>/seed<s>/<model>.parquet`` (its records) and a stamp with its
configuration and CPU seconds; a rerun reuses every job whose stamp matches (resumable), and the
finetuned weights are not kept.  Writes into ``out``:

* ``finetune.csv`` — per (task, metric, model, ``k``, seed): the value with its bootstrap CI
  (:func:`emergence_lens.curves.compute_curves`, as every curve here), the member's pretraining
  loss and the job's CPU seconds (:data:`FINETUNE_COLUMNS`); ``predict --finetuned`` reads it;
* ``summary.md`` — exact match per member and ``k``, and the compute.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from emergence_lens._io import atomic_write_text, write_csv
from emergence_lens.models.finetune import DEFAULT_FINETUNE, FinetuneRecipe
from emergence_lens.tasks import TaskExample

__all__ = ["finetune", "FinetuneError", "FinetuneResult", "FINETUNE_COLUMNS", "DEFAULT_TASKS", "DEFAULT_KS"]

#: ``finetune.csv``: one row per (family, task, metric, model, finetune_examples).
FINETUNE_COLUMNS = ["family", "task", "metric", "model", "finetune_examples", "scale_params", "pretrain_loss",
                    "n_examples", "value", "ci_low", "ci_high", "cpu_seconds", "steps", "batch_size", "seed"]
DEFAULT_TASKS = ("addition-L4", "addition-L5")
DEFAULT_KS = (256, 1024, 4096)
METRICS = ("exact_match", "per_token_accuracy", "target_token_probability")


class FinetuneError(ValueError):
    """Bad options or a ladder folder that cannot be read."""


@dataclass
class FinetuneResult:
    table: pd.DataFrame
    files: list[Path]
    jobs_run: int
    jobs_reused: int
    cpu_seconds: float


def _members(ladder: Path) -> list[dict[str, Any]]:
    """Every member of ``ladder`` (a folder of HF-format models, each with its ``ladder.json``), smallest first."""
    metas = []
    for meta in sorted(ladder.glob("*/ladder.json")):
        m = json.loads(meta.read_text())
        if not {"name", "non_embedding_params", "final_loss"} <= set(m):
            raise FinetuneError(f"{meta}: lacks name, non_embedding_params or final_loss")
        metas.append({**m, "dir": str(meta.parent)})
    if not metas:
        raise FinetuneError(f"{ladder}: no member folders with a ladder.json (train one with `emergence-lens "
                            "train-ladder`, or leave the path out for the shipped ladder)")
    return sorted(metas, key=lambda m: (m["non_embedding_params"], m["name"]))


def _file_tasks(train: str | Path, evaluate: str | Path, n_eval: int, seed: int
                ) -> dict[str, tuple[list[TaskExample], list[TaskExample]]]:
    """Per task: (training pool, evaluation examples) from task files (any format ``evaluate`` reads);
    refused where an evaluation prompt is also a training prompt, or a task lacks either."""
    from emergence_lens.pipelines.evaluate import load_task

    try:
        pool, held = load_task(str(train), 0, None, seed), load_task(str(evaluate), 0, None, seed)
    except (OSError, ValueError) as exc:
        raise FinetuneError(f"--train / --eval: {exc}") from None
    tasks: dict[str, tuple[list[TaskExample], list[TaskExample]]] = {}
    for name in dict.fromkeys(e.task for e in held):
        tr = [e for e in pool if e.task == name]
        ev = [e for e in held if e.task == name][:n_eval]
        if not tr:
            raise FinetuneError(f"--train {train}: no examples of task {name!r}, which --eval {evaluate} has")
        shared = {e.prompt for e in tr} & {e.prompt for e in ev}
        if shared:
            raise FinetuneError(f"task {name!r}: {len(shared)} evaluation prompt(s) are also training prompts "
                                f"(e.g. {sorted(shared)[0]!r}); finetuning data must be disjoint from the evaluation")
        tasks[name] = (tr, ev)
    if not tasks:
        raise FinetuneError(f"--eval {evaluate}: no examples")
    return tasks


def _task_spec(task: str) -> tuple[str, int, int]:
    from emergence_lens.experiments.arithmetic import TASKS

    for name, op, digits, length in TASKS:
        if f"{name}-L{length}" == task:
            return op, digits, length
    raise FinetuneError(f"--task {task}: unknown (the arithmetic experiment's tasks: "
                        f"{', '.join(f'{n}-L{L}' for n, _, _, L in TASKS)})")


def _job(member_dir: str, train: list, evaluate: list, common: dict, recipe: FinetuneRecipe, path: str, stamp: str,
         config: str, queue) -> None:
    """One (task, k, member): finetune into a temporary folder, evaluate, write records and stamp."""
    from emergence_lens.models.backends.hf import HFBackend
    from emergence_lens.models.evaluate import evaluate_examples
    from emergence_lens.models.finetune import finetune_model
    from emergence_lens.records import write_records

    with tempfile.TemporaryDirectory(prefix="emergence-lens-finetune-") as tmp:
        meta = finetune_model(member_dir, train, tmp, recipe=recipe, answer_prefix=common["answer_prefix"],
                              stop=common["stop"][0])
        backend = HFBackend(tmp, device="cpu", batch_size=1000)
        write_records(evaluate_examples(backend, evaluate, **common), Path(path))
    atomic_write_text(Path(stamp), json.dumps({"config": json.loads(config), "cpu_seconds": meta["cpu_seconds"],
                                               "final_train_loss": meta["final_train_loss"]}, indent=1))
    queue.put(path)


def finetune(ladder: str | Path | None, out: str | Path, *, tasks: Sequence[str] | None = None,
             train: str | Path | None = None, evaluate: str | Path | None = None,
             ks: Sequence[int] = DEFAULT_KS, fit_on: int = 6, n_eval: int = 500, seed: int = 0,
             seeds: Sequence[int] = (0,),
             recipe: FinetuneRecipe = DEFAULT_FINETUNE, family: str = "ladder", jobs: int = 2,
             n_boot: int = 1000) -> FinetuneResult:
    """Finetune the ``fit_on`` smallest members of ``ladder`` (default: the shipped one) on ``k``
    examples of each task, for each ``k`` and each finetuning seed of ``seeds`` (its data and their
    order; ``recipe.seed`` is replaced by it), evaluate and write the files (module docstring).
    ``seed``: the evaluation problems' (the arithmetic experiment's) and the bootstrap's.  Instead of
    ``tasks`` (the arithmetic experiment's, by name; default addition-L4 and -L5), ``train`` and
    ``evaluate``: task files (GPT-3 JSONL, BIG-bench task.json, as ``evaluate`` reads them; answer
    after one space), the first ``k`` of a seeded shuffle of ``train`` per finetuning seed, the first
    ``n_eval`` of ``evaluate`` per task.

    Raises:
        FinetuneError: bad options or an unreadable ladder; :class:`emergence_lens.outputs.OutputConflict`.
    """
    from emergence_lens.curves import compute_curves
    from emergence_lens.experiments.arithmetic import make_examples
    from emergence_lens.models.ladder import shipped_ladder
    from emergence_lens.models.pinned import PINNED_ENV, run_pinned
    from emergence_lens.naming import slug
    from emergence_lens.outputs import output_run
    from emergence_lens.records import read_records

    ks = sorted(set(int(k) for k in ks))
    if not ks or ks[0] < 1:
        raise FinetuneError("--k: expected whole numbers >= 1")
    seeds = list(dict.fromkeys(int(v) for v in seeds))
    if not seeds or min(seeds) < 0:
        raise FinetuneError("--seeds: expected whole numbers >= 0")
    if n_eval < 1 or jobs < 1 or fit_on < 1:
        raise FinetuneError("--n-eval, --jobs and --fit-on must be >= 1")
    if (train is None) != (evaluate is None):
        raise FinetuneError("--train and --eval go together (task files to finetune on and to evaluate on)")
    if train is not None and tasks:
        raise FinetuneError("--task names the arithmetic experiment's tasks; with --train/--eval give neither")
    files = _file_tasks(train, evaluate, n_eval, seed) if train is not None and evaluate is not None else None
    specs = {t: _task_spec(t) for t in dict.fromkeys(tasks or DEFAULT_TASKS)} if files is None else {}
    if files is None and not specs:
        raise FinetuneError("--task: give at least one")
    root = Path(ladder) if ladder is not None else shipped_ladder()
    if not root.is_dir():
        raise FinetuneError(f"not a folder: {root}")
    members = _members(root)
    if fit_on > len(members):
        raise FinetuneError(f"--fit-on {fit_on}: {root} has {len(members)} members")
    members = members[:fit_on]
    out = Path(out)
    examples = make_examples(n_eval, seed) if files is None else []
    weights = {m["name"]: hashlib.sha256((Path(m["dir"]) / "model.safetensors").read_bytes()).hexdigest()
               for m in members}
    calls, paths, reused = [], [], 0
    with output_run(out, [root, train, evaluate], "finetune") as run:
        for task in (specs if files is None else files):
            held = [e for e in examples if e.task == task] if files is None else files[task][1]
            for s_ in seeds:
                rec = replace(recipe, seed=s_)
                pool = _pool(task, specs, files, ks[-1], s_)
                for k in ks:
                    for m in members:
                        config = json.dumps({"task": task, "k": k, "recipe": asdict(rec), "n_eval": n_eval,
                                             "seed": seed, "weights": weights[m["name"]], "env": PINNED_ENV,
                                             "data": _digest(pool[:k], held)}, sort_keys=True)
                        path = out / "runs" / slug(task) / f"k{k}" / f"seed{s_}" / f"{slug(m['name'])}.parquet"
                        stamp = path.with_suffix(".json")
                        run.claim(path)
                        run.claim(stamp)
                        paths.append((k, rec, path, stamp))
                        if path.exists() and stamp.exists() and json.loads(stamp.read_text()).get("config") == \
                                json.loads(config):
                            reused += 1
                            continue
                        path.parent.mkdir(parents=True, exist_ok=True)
                        common = dict(family=family, model=m["name"], scale_params=float(m["non_embedding_params"]),
                                      pretrain_loss=float(m["final_loss"]), stop=("\n",),
                                      answer_prefix="" if files is None else " ")
                        calls.append((m["dir"], pool[:k], held, common, rec, str(path), str(stamp), config))
        _run(calls, jobs, run_pinned)
        rows, cpu = [], 0.0
        for k, rec, path, stamp in paths:
            info = json.loads(stamp.read_text())
            cpu += float(info["cpu_seconds"])
            curves = compute_curves(read_records(path), list(METRICS), n_boot=n_boot, seed=seed)
            t = curves.table.assign(finetune_examples=k, cpu_seconds=float(info["cpu_seconds"]), steps=rec.steps,
                                    batch_size=rec.batch_size, seed=rec.seed)
            rows.append(t)
        table = pd.concat(rows, ignore_index=True)[FINETUNE_COLUMNS]
        table = table.sort_values(["family", "task", "metric", "finetune_examples", "seed", "scale_params"],
                                  kind="stable", ignore_index=True)
        files = [write_csv(table, out / "finetune.csv")]
        files.append(_summary(table, out, root if ladder is not None else None, recipe, cpu, len(calls), reused))
    return FinetuneResult(table, files, len(calls), reused, cpu)


def _pool(task: str, specs: dict, files: dict | None, k_max: int, s: int) -> list[TaskExample]:
    """The finetuning examples of ``task`` for finetuning seed ``s``, in order (a run takes the first k)."""
    import numpy as np

    from emergence_lens.tasks import generate_arithmetic

    if files is not None:
        pool = files[task][0]
        if k_max > len(pool):
            raise FinetuneError(f"--k {k_max}: task {task!r} has {len(pool)} training examples")
        order = np.random.default_rng([s, 17]).permutation(len(pool))
        return [pool[i] for i in order]
    op, digits, length = specs[task]
    drawn = generate_arithmetic(op, digits, k_max, seed=s * 1000 + 17, k_shot=0, target_length=length,
                                format="compact", training_half=True)
    return [TaskExample(task, e.example_id, e.prompt, e.target) for e in drawn]


def _digest(train: Sequence[TaskExample], held: Sequence[TaskExample]) -> str:
    """A fingerprint of a job's data (a rerun with other data is another job)."""
    h = hashlib.sha256()
    for e in [*train, *held]:
        h.update(json.dumps([e.task, e.example_id, e.prompt, e.target]).encode())
    return h.hexdigest()


def _run(calls: list[tuple], jobs: int, run_pinned) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if not calls:
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=Console(stderr=True)) as prog:
        bar = prog.add_task("finetune and evaluate", total=len(calls))
        run_pinned(_job, calls, jobs=min(jobs, len(calls), os.cpu_count() or 1),
                   on_message=lambda _: prog.advance(bar),
                   order=sorted(range(len(calls)), key=lambda i: (-len(calls[i][1]), i)))


def _summary(table: pd.DataFrame, out: Path, ladder: Path | None, recipe: FinetuneRecipe, cpu: float, run: int,
             reused: int) -> Path:
    from emergence_lens.report import markdown_table

    em = table[table["metric"] == "exact_match"]
    lines = [f"# Finetuning: {', '.join(sorted(em['task'].unique()))}", "",
             f"Ladder: {ladder if ladder is not None else 'the shipped ladder'}; recipe: {recipe.steps} steps of "
             f"{recipe.batch_size} examples, lr {recipe.lr:g} (cosine to a tenth, warmup {recipe.warmup} steps), "
             f"finetuning seeds {', '.join(map(str, sorted(table['seed'].unique())))}. Compute: {cpu:.1f} CPU "
             f"seconds of finetuning in {run + reused} jobs ({reused} reused from an earlier run).", ""]
    for task, g in em.groupby("task", sort=True):
        wide = g.pivot_table(index=["scale_params", "model", "pretrain_loss"], columns="finetune_examples",
                             values="value", aggfunc="mean").reset_index().drop(columns="scale_params")
        wide.columns = [c if isinstance(c, str) else f"k = {c}" for c in wide.columns]
        n_seeds = g["seed"].nunique()
        lines += [f"## {task}: exact match" + (f", mean of {n_seeds} finetuning seeds" if n_seeds > 1 else ""), "",
                  markdown_table(wide.round(3)), ""]
    return atomic_write_text(out / "summary.md", "\n".join(lines))
