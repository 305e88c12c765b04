"""Experiment ``arithmetic``: the paper's Figures 3-4 on a model family trained on CPU.

A ladder of eight GPT-2-architecture models (1.9k-336k non-embedding parameters, 176x), trained
with one recipe on compact arithmetic (``"1234+5678="`` -> ``"6912"``;
:mod:`emergence_lens.models.ladder`), is evaluated 0-shot on held-out problems (never trained on)
grouped by target length.  By default the ladder shipped in the package is evaluated (training it
took 25 minutes on 2 cores), with the run's seed: seeds 0 (the default), 1 and 2 ship;
``-o retrain=1`` (``reproduce --retrain``) trains it from scratch into ``out/ladder/`` first, as
does any other seed.  Outputs (in ``out``):

* ``records.parquet`` — every model x example: completion, target token log-probs, per-token
  greedy flags;
* ``summary.csv`` — one row per (task, model, target_length, metric) with value, bootstrap CI,
  n and, for exact match, the Clopper-Pearson interval; recomputable from the records;
* ``goals.csv`` — the ladder's learning goals (per-digit accuracy, exact match at target lengths
  4-5, edit distance at every size step) checked on ``summary.csv`` (the run's ladder) and, for a
  shipped ladder, on the mean over training seeds 0-2;
* ``seed_records.parquet``, ``seed_spread.csv``, ``fig3_seeds.png``, ``seed_verdicts.csv`` — for a
  shipped ladder: the other shipped seeds of every member evaluated greedily on the goals' tasks; per (task, model, metric) the value for each seed with their mean, min and max;
  addition's curves per seed and their mean; the exact-match verdict on each seed's ladder;
* ``fig3_metrics.png`` — accuracy, token edit distance and per-token target probability vs
  scale, one line per target length, both tasks (cf. Fig. 3);
* ``fig4_resolution.png`` — accuracy with CP intervals on the first ``n_small`` vs all
  examples (10x more), and a third panel: the pass rate measured by sampling until K passes
  (PassUntil, Hu et al. 2023) against the per-token prediction (cf. Fig. 4);
* ``passuntil.parquet``, ``pass_rates.csv`` — the sampling records and pass rates with CIs;
* ``target_length_fits.csv`` — per model: slope of log accuracy and of edit distance vs L;
* ``emergence.csv`` — emergence scores with CIs for every metric;
* ``verdicts.csv``, ``predictions.csv``, ``verdicts_ladder.png`` — verdicts (exact match against
  ``a**L`` of per-token greedy accuracy, paired sharpness, Wei's criterion) and the backtest from
  the four smallest models (:mod:`emergence_lens.emergence.verdict`).

Each member is evaluated in its own process under :data:`~emergence_lens.models.pinned.PINNED_ENV`
(one thread, numeric libraries on code paths shared by every x86-64 CPU); evaluating the shipped
weights gave the same bytes on an Intel Xeon and an AMD EPYC (a test compares them with the
published outputs on whatever CPU runs it); evaluations are cached in ``out/eval/`` per model (rerun after a kill
evaluates only what is left).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from typing import Any
from pathlib import Path

import numpy as np
import pandas as pd

from emergence_lens._io import atomic_write_text, write_csv
from emergence_lens.curves import compute_curves
from emergence_lens.experiments import Experiment, ExperimentOptionError, ExperimentResult, register_experiment
from emergence_lens.pipelines.score import verdict_counts
from emergence_lens.records import read_records, write_records
from emergence_lens.report import (
    markdown_table,
    plot_curves,
    plot_length_grid,
    plot_resolution,
    plot_seed_spread,
    plot_verdicts,
)
from emergence_lens.backtesting import side_by_side
from emergence_lens.scoring import score_records
from emergence_lens.tasks import TaskExample, generate_arithmetic

__all__ = ["run_arithmetic", "TASKS", "SEED_TASKS", "make_examples", "seed_spread_table", "goal_checks"]

#: (task, operation, operand digits, target length).
TASKS: tuple[tuple[str, str, int, int], ...] = (
    ("addition", "plus", 1, 1), ("addition", "plus", 1, 2), ("addition", "plus", 2, 3),
    ("addition", "plus", 3, 4), ("addition", "plus", 4, 5),
    ("multiplication", "times", 1, 1), ("multiplication", "times", 1, 2),
    ("multiplication", "times", 2, 3), ("multiplication", "times", 2, 4),
)
METRICS = ["exact_match", "per_token_accuracy", "token_edit_distance", "target_token_probability",
           "target_log_likelihood"]
#: Backtest: fit the ingredient on this many smallest models of the eight.
FIT_ON = 4


#: The other shipped seeds of the ladder are evaluated (greedy) on the goals' tasks, with these metrics.
SEED_TASKS = ("addition-L4", "addition-L5", "multiplication-L4")
SEED_METRICS = ["per_token_accuracy", "exact_match", "token_edit_distance"]

#: PassUntil: the long tasks, sampled at temperature 1 until K passes or M draws per problem.
PASS_TASKS = ("addition-L4", "addition-L5", "multiplication-L3", "multiplication-L4")
PASS_K = 2


def make_examples(n: int, seed: int) -> list[TaskExample]:
    """Up to ``n`` distinct 0-shot compact problems per (task, target length), all from the held-out
    half of the problem space (:func:`emergence_lens.tasks.arithmetic.is_heldout`); names
    ``addition-L3`` etc.  Where the held-out space is smaller than ``n`` (1-digit operands: 11-32
    problems) each problem is kept once, so a bootstrap never counts one problem as many."""
    out = []
    for i, (task, op, digits, L) in enumerate(TASKS):
        seen: set[str] = set()
        kept = 0
        for e in generate_arithmetic(op, digits, n, seed=seed * 100 + i, k_shot=0, target_length=L,  # type: ignore[arg-type]
                                     format="compact", heldout=True):
            if e.prompt in seen:
                continue
            seen.add(e.prompt)
            out.append(TaskExample(f"{task}-L{L}", str(kept), e.prompt, e.target))
            kept += 1
    return out


def _split(table: pd.DataFrame) -> pd.DataFrame:
    parts = table["task"].str.extract(r"^(?P<base>.+)-L(?P<L>\d+)$")
    return table.assign(task_name=parts["base"], target_length=parts["L"].astype(int))


def _length_fits(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    t = _split(table)
    for (task, model), g in t.groupby(["task_name", "model"], sort=False):
        acc = g[g.metric == "exact_match"].sort_values("target_length")
        ted = g[g.metric == "token_edit_distance"].sort_values("target_length")
        pos = acc[acc.value > 0]
        slope_acc = r2_acc = np.nan
        if len(pos) >= 2:
            fit = np.polyfit(pos.target_length, np.log(pos.value), 1, full=True)
            slope_acc = fit[0][0]
            ss = np.sum((np.log(pos.value) - np.log(pos.value).mean()) ** 2)
            r2_acc = 1 - (fit[1][0] / ss if len(fit[1]) and ss > 0 else 0.0)
        coef = np.polyfit(ted.target_length, ted.value, 1)
        resid = ted.value - np.polyval(coef, ted.target_length)
        ss_t = np.sum((ted.value - ted.value.mean()) ** 2)
        # exp(slope) is the per-token accuracy only when accuracy falls with L; a rising log accuracy
        # is not geometric and never reported as a "probability" above 1
        implied = float(np.exp(slope_acc)) if np.isfinite(slope_acc) and slope_acc <= 0 else np.nan
        shape = ("not geometric (accuracy rises with L)" if np.isfinite(slope_acc) and slope_acc > 0
                 else "geometric fit" if np.isfinite(slope_acc) else "fewer than 2 lengths with accuracy > 0")
        rows.append({"task": task, "model": model, "scale_params": g.scale_params.iloc[0],
                     "log_acc_slope_per_L": slope_acc, "implied_p_token": implied, "log_acc_shape": shape,
                     "log_acc_fit_r2": r2_acc, "n_lengths_acc_gt_0": len(pos),
                     "ted_slope_per_L": coef[0], "ted_fit_r2": 1 - np.sum(resid ** 2) / ss_t if ss_t > 0 else np.nan})
    return pd.DataFrame(rows)


def _ladder(out: Path, *, quick: bool, seed: int, retrain: bool):
    """The ladder's members' metadata and directory: the shipped one, or one trained into ``out/ladder``."""
    from emergence_lens.models.ladder import (
        DEFAULT_RECIPE,
        DEFAULT_SIZES,
        QUICK_RECIPE,
        SHIPPED_SEEDS,
        shipped_ladder,
        train_ladder,
    )

    if not retrain and seed in SHIPPED_SEEDS:
        root = shipped_ladder(seed)
        metas = []
        for size in DEFAULT_SIZES:
            meta_path = root / size.name / "ladder.json"
            if not meta_path.exists():
                raise FileNotFoundError(f"the shipped ladder is incomplete: {meta_path} is missing (reinstall, or "
                                        "rerun with --retrain)")
            metas.append(json.loads(meta_path.read_text()))
        return metas, root, "shipped"
    recipe = replace(QUICK_RECIPE if quick else DEFAULT_RECIPE, seed=seed)
    return train_ladder(out / "ladder", DEFAULT_SIZES, recipe, jobs=2), out / "ladder", "trained"


def seed_spread_table(per_seed: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, target length, model, metric): the value for each training seed, then their
    mean, min and max.

    Args:
        per_seed: long table with columns ``seed``, ``task`` (operation), ``target_length``, ``model``,
            ``scale_params``, ``metric``, ``value`` (one row per seed and point).
    """
    keys = ["task", "target_length", "model", "scale_params", "metric"]
    wide = per_seed.pivot_table(index=keys, columns="seed", values="value", aggfunc="first")
    seeds = sorted(wide.columns)
    if wide[seeds].isna().any().any():
        missing = wide[wide[seeds].isna().any(axis=1)].index[0]
        raise ValueError(f"seed spread: {dict(zip(keys, missing, strict=True))} lacks a value for some seed")
    out = wide.rename(columns={s: f"seed_{s}" for s in seeds}).reset_index()
    values = wide[seeds].to_numpy(dtype=float)
    out = out.assign(seed_mean=values.mean(axis=1), seed_min=values.min(axis=1), seed_max=values.max(axis=1))
    out.columns.name = None
    return out.sort_values(["task", "target_length", "metric", "scale_params"], ignore_index=True)


def goal_checks(summary: pd.DataFrame) -> pd.DataFrame:
    """The ladder's goals (issue 13), read off a ``summary.csv``-shaped table (``task``,
    ``target_length``, ``metric``, ``scale_params``, ``value``): per operation, at target lengths 4
    and 5, per-digit accuracy <= 0.5 at the smallest model, >= 0.95 at the largest and rising at
    every size step; exact match <= 0.02 smallest and >= 0.5 largest; edit distance falling at
    every size step."""
    rows = []
    for task in ("addition", "multiplication"):
        for L in (4, 5):
            g = summary[(summary.task == task) & (summary.target_length == L)]
            if not len(g):
                continue

            def series(metric: str) -> np.ndarray:
                return g[g.metric == metric].sort_values("scale_params")["value"].to_numpy(dtype=float)

            pd_, em, ted = series("per_token_accuracy"), series("exact_match"), series("token_edit_distance")
            checks = [("per-digit accuracy <= 0.5 at the smallest", pd_[0] <= 0.5, pd_),
                      ("per-digit accuracy >= 0.95 at the largest", pd_[-1] >= 0.95, pd_),
                      ("per-digit accuracy rises at every size step", bool(np.all(np.diff(pd_) > 0)), pd_),
                      ("exact match <= 0.02 at the smallest", em[0] <= 0.02, em),
                      ("exact match >= 0.5 at the largest", em[-1] >= 0.5, em),
                      ("token edit distance falls at every size step", bool(np.all(np.diff(ted) < 0)), ted)]
            for name, ok, values in checks:
                rows.append({"task": task, "target_length": L, "goal": name, "met": bool(ok),
                             "values_by_size": " ".join(f"{v:.3g}" for v in values)})
    return pd.DataFrame(rows)


def _spread_view(spread: pd.DataFrame) -> pd.DataFrame:
    """summary.md's compact form of ``seed_spread.csv``: per (task, metric), one column per member
    holding "mean (min-max)"."""
    view = spread.assign(cell=[f"{m:.3g} ({lo:.3g}-{hi:.3g})" for m, lo, hi in
                               zip(spread.seed_mean, spread.seed_min, spread.seed_max, strict=True)])
    view = view.assign(task=view.task + "-L" + view.target_length.astype(str))
    table = view.pivot_table(index=["task", "metric"], columns="model", values="cell", aggfunc="first")
    table.columns.name = None
    return table.reset_index()


def _seed_of(family: str, run_seed: int) -> int:
    """The training seed of a records family: ``ladder`` is the run's own, ``ladder-seed-K`` seed K."""
    return run_seed if family == "ladder" else int(family.rsplit("-", 1)[1])


def _seed_outputs(records: pd.DataFrame, seed_records: pd.DataFrame, verdicts: pd.DataFrame, out: Path, *,
                  run_seed: int, n_boot: int, seed: int, n_large: int
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[Path]]:
    """From the other shipped seeds' records: ``seed_spread.csv`` (the run's own seed from ``records``,
    the same problems), ``fig3_seeds.png``, ``seed_verdicts.csv`` (the exact-match verdict redone on
    each seed's ladder) and the goals checked on the mean over seeds."""
    from emergence_lens.models.ladder import SHIPPED_SEEDS

    files = []
    both = pd.concat([records[records.task.isin(SEED_TASKS)], seed_records], ignore_index=True)
    per_seed = _split(compute_curves(both, SEED_METRICS, n_boot=0).table)
    per_seed = per_seed.assign(seed=[_seed_of(f, run_seed) for f in per_seed.family])
    per_seed = per_seed.drop(columns="task").rename(columns={"task_name": "task"})
    spread = seed_spread_table(per_seed[["seed", "task", "target_length", "model", "scale_params", "metric",
                                         "value"]])
    files.append(write_csv(spread, out / "seed_spread.csv"))
    seeds = ", ".join(map(str, SHIPPED_SEEDS))
    files.append(plot_seed_spread(spread[spread.task == "addition"], out / "fig3_seeds.png",
                                  metrics=["per_token_accuracy", "exact_match", "token_edit_distance"],
                                  evaluated=run_seed, xlabel="non-embedding parameters (log scale)",
                                  title=f"addition on the ladder trained with seeds {seeds}: each seed and their "
                                        f"mean ({n_large} held-out problems per length)"))
    seed_vr = score_records(seed_records, METRICS, n_boot=n_boot, seed=seed).verdicts
    sv = pd.concat([verdicts[verdicts.task.isin(SEED_TASKS)], seed_vr.verdicts], ignore_index=True)
    sv = sv[(sv.metric == "exact_match") & (sv.partner == "per_token_accuracy")]
    sv = sv.assign(seed=[_seed_of(f, run_seed) for f in sv.family])
    sv = sv[["task", "seed", "metric", "partner", "metric_score", "metric_ci_low", "metric_ci_high", "paired_diff",
             "paired_diff_low", "paired_diff_high", "explained", "emerges_at", "wei_emergent", "verdict"]]
    sv = sv.sort_values(["task", "seed"], ignore_index=True)
    files.append(write_csv(sv, out / "seed_verdicts.csv"))
    label = f"mean of seeds {SHIPPED_SEEDS[0]}-{SHIPPED_SEEDS[-1]}"
    mean_goals = goal_checks(spread.rename(columns={"seed_mean": "value"})).assign(ladder=label)
    return spread, sv, mean_goals, files


def _evaluate_member(model_dir: str, runs: list[tuple], queue) -> None:
    """Evaluate one ladder member (greedy, PassUntil) in a pinned worker process; cache the records."""
    from emergence_lens.models.backends.hf import HFBackend
    from emergence_lens.models.evaluate import evaluate_examples

    backend = HFBackend(model_dir, device="cpu", batch_size=1000)
    for _kind, subset, kwargs, path, stamp, config in runs:
        write_records(evaluate_examples(backend, subset, **kwargs), Path(path))
        atomic_write_text(Path(stamp), config)
        queue.put(path)


@dataclass
class _Plan:
    """What the ladder's evaluation runs: per member process its runs, the record files they write."""

    calls: list[tuple] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # each call's member size (largest evaluated first)
    record_paths: dict[str, tuple[Path, Path]] = field(default_factory=dict)
    seed_paths: list[Path] = field(default_factory=list)
    others: list[int] = field(default_factory=list)  # the other shipped seeds, evaluated beside


def _plan(metas: list[dict], ladder_dir: Path, origin: str, eval_dir: Path, examples: list[TaskExample], *,
          n_large: int, n_pass: int, max_samples: int, seed: int) -> _Plan:
    """Every (member, kind) evaluation not already stamped in ``eval_dir`` with the same config: greedy
    and PassUntil on this run's ladder, greedy on the goals' tasks for the other shipped seeds."""
    from emergence_lens.models.ladder import SHIPPED_SEEDS, shipped_ladder
    from emergence_lens.models.pinned import PINNED_ENV

    recipe = metas[0]["recipe"]
    pass_examples = [e for e in examples if e.task in PASS_TASKS and int(e.example_id) < n_pass]
    # training tokens D for C = 6ND (Kaplan et al. 2020; N = non-embedding parameters; rows padded to seq_len)
    train_tokens = recipe["steps"] * recipe["batch_size"] * recipe["seq_len"]
    run_seed = int(recipe["seed"])
    plan = _Plan(others=[s for s in SHIPPED_SEEDS if s != run_seed] if origin == "shipped" else [])
    seed_examples = [e for e in examples if e.task in SEED_TASKS]
    for meta in metas:
        weights = ladder_dir / meta["name"] / "model.safetensors"
        config = json.dumps({"recipe": recipe, "n": n_large, "seed": seed, "records": 3, "origin": origin,
                             "weights": hashlib.sha256(weights.read_bytes()).hexdigest(),
                             "pass": [n_pass, max_samples, PASS_K], "env": PINNED_ENV}, sort_keys=True)
        n = meta["non_embedding_params"]
        common = dict(family="ladder", model=meta["name"], scale_params=n, scale_flops=6.0 * n * train_tokens,
                      pretrain_loss=meta["final_loss"], answer_prefix="", stop=("\n",))
        runs = []
        for kind, subset, extra in (
                ("greedy", examples, {}),
                ("passuntil", pass_examples, dict(sample_until_pass=PASS_K, max_samples=max_samples,
                                                  temperature=1.0, sample_seed=seed))):
            path = eval_dir / f"{meta['name']}-{kind}.parquet"
            stamp = eval_dir / f"{meta['name']}-{kind}.json"
            if not (path.exists() and stamp.exists() and stamp.read_text() == config):
                runs.append((kind, subset, {**common, **extra}, str(path), str(stamp), config))
        plan.record_paths[meta["name"]] = (eval_dir / f"{meta['name']}-greedy.parquet",
                                           eval_dir / f"{meta['name']}-passuntil.parquet")
        if runs:
            plan.calls.append((str(ladder_dir / meta["name"]), runs))
            plan.sizes.append(n)
        # the other shipped seeds of this member: greedy on the goals' tasks only
        for other in plan.others:
            member = shipped_ladder(other) / meta["name"]
            seed_config = json.dumps({"n": n_large, "seed": seed, "tasks": SEED_TASKS, "env": PINNED_ENV,
                                      "weights": hashlib.sha256((member / "model.safetensors").read_bytes())
                                      .hexdigest()}, sort_keys=True)
            path = eval_dir / f"seed-{other}" / f"{meta['name']}-greedy.parquet"
            stamp = path.with_suffix(".json")
            plan.seed_paths.append(path)
            if not (path.exists() and stamp.exists() and stamp.read_text() == seed_config):
                path.parent.mkdir(parents=True, exist_ok=True)
                loss = json.loads((member / "ladder.json").read_text())["final_loss"]
                plan.calls.append((str(member), [("greedy", seed_examples,
                                                  {**common, "family": f"ladder-seed-{other}", "pretrain_loss": loss},
                                                  str(path), str(stamp), seed_config)]))
                plan.sizes.append(n)
    return plan


def _evaluate(plan: _Plan, n_runs: int) -> None:
    """Run the plan: each member in its own pinned process (same bytes on the CPUs measured), largest
    first, with one progress bar."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from emergence_lens.models.ladder import SHIPPED_SEEDS
    from emergence_lens.models.pinned import run_pinned

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=Console(stderr=True)) as prog:
        task = prog.add_task("evaluate ladder" + (f" (seeds {', '.join(map(str, SHIPPED_SEEDS))})"
                                                  if plan.others else ""), total=n_runs)
        prog.advance(task, n_runs - sum(len(runs) for _, runs in plan.calls))
        run_pinned(_evaluate_member, plan.calls, jobs=min(len(plan.calls), os.cpu_count() or 1),
                   on_message=lambda _: prog.advance(task),
                   order=sorted(range(len(plan.calls)), key=lambda i: (-plan.sizes[i], i)))


def run_arithmetic(out: Path, *, quick: bool = False, seed: int = 0, retrain: bool = False) -> ExperimentResult:
    from emergence_lens.emergence import pass_rate_table

    out = Path(out)
    n_large, n_small = (100, 10) if quick else (500, 50)
    n_pass, max_samples = (20, 100) if quick else (100, 500)
    metas, ladder_dir, origin = _ladder(out, quick=quick, seed=seed, retrain=retrain)
    examples = make_examples(n_large, seed)
    eval_dir = out / "eval"
    eval_dir.mkdir(parents=True, exist_ok=True)
    plan = _plan(metas, ladder_dir, origin, eval_dir, examples, n_large=n_large, n_pass=n_pass,
                 max_samples=max_samples, seed=seed)
    _evaluate(plan, 2 * len(metas) + len(plan.seed_paths))
    records = pd.concat([read_records(plan.record_paths[m["name"]][0]) for m in metas], ignore_index=True)
    files = [write_records(records, out / "records.parquet")]
    pass_records = pd.concat([read_records(plan.record_paths[m["name"]][1]) for m in metas], ignore_index=True)
    files.append(write_records(pass_records, out / "passuntil.parquet"))
    pass_rates = pass_rate_table(pass_records, seed=seed)
    files.append(write_csv(pass_rates, out / "pass_rates.csv"))
    n_boot = 500 if quick else 1000
    scored = score_records(records, METRICS, n_boot=n_boot, seed=seed, fit_on=FIT_ON)
    curves, em, verdicts = scored.curves, scored.emergence, scored.verdicts.verdicts
    summary = _split(curves.table)[["task_name", "model", "scale_params", "target_length", "metric", "value",
                                    "ci_low", "ci_high", "n_examples", "n_correct", "cp_low", "cp_high"]]
    summary = summary.rename(columns={"task_name": "task"})
    run_seed = int(metas[0]["recipe"]["seed"])
    goals = goal_checks(summary).assign(ladder=f"seed {run_seed} (this run)")
    spread = seed_verdicts = None
    if plan.others:
        seed_records = pd.concat([read_records(p) for p in plan.seed_paths], ignore_index=True)
        files.append(write_records(seed_records, out / "seed_records.parquet"))
        spread, seed_verdicts, mean_goals, seed_files = _seed_outputs(
            records, seed_records, verdicts, out, run_seed=run_seed, n_boot=n_boot, seed=seed, n_large=n_large)
        files += seed_files
        goals = pd.concat([goals, mean_goals], ignore_index=True)
    goals = goals[["ladder"] + [c for c in goals.columns if c != "ladder"]]
    files += [write_csv(summary, out / "summary.csv"), write_csv(goals, out / "goals.csv"),
              write_csv(curves.table, out / "curves.csv"), write_csv(em, out / "emergence.csv"),
              write_csv(verdicts, out / "verdicts.csv"), write_csv(scored.predictions, out / "predictions.csv")]
    if scored.backtest is not None:
        files += [write_csv(scored.backtest.summary, out / "backtest.csv"),
                  write_csv(scored.backtest.wins, out / "wins.csv")]
    files.append(plot_verdicts(scored.predictions, verdicts, out / "verdicts_ladder.png",
                               title="ladder: exact match vs a**L of per-token greedy accuracy; backtest from the "
                                     f"{FIT_ON} smallest models"))
    ladder = pd.DataFrame([{"model": m["name"], "n_layer": m["size"]["n_layer"], "d_model": m["size"]["d_model"],
                            "non_embedding_params": m["non_embedding_params"], "final_train_loss": m["final_loss"]}
                           for m in metas])
    files.append(write_csv(ladder, out / "ladder.csv"))
    small, fits, figure_files = _figures(records, curves.table, em, pass_rates, out, n_small=n_small, n_large=n_large,
                                         n_pass=n_pass, max_samples=max_samples)
    files += figure_files
    text = _summary_text(
        metas=metas, ladder=ladder, ladder_dir=ladder_dir, origin=origin, records=records, curves=curves.table,
        em=em, verdicts=verdicts, scored=scored, goals=goals, spread=spread, seed_verdicts=seed_verdicts,
        others=plan.others, small=small, fits=fits, pass_rates=pass_rates, n_small=n_small, n_large=n_large,
        n_pass=n_pass, max_samples=max_samples)
    files.append(atomic_write_text(out / "summary.md", text))
    return ExperimentResult(files, text)


def _figures(records: pd.DataFrame, table: pd.DataFrame, em: pd.DataFrame, pass_rates: pd.DataFrame, out: Path, *,
             n_small: int, n_large: int, n_pass: int, max_samples: int) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """Figures 3 and 4 (and every metric), with the small-sample curves and the target-length fits."""
    files = []
    # Figure 3 analog: both tasks, three metrics, one line per target length.
    files.append(plot_length_grid(_split(table), em, out / "fig3_metrics.png",
                                  tasks=["multiplication", "addition"],
                                  metrics=["exact_match", "token_edit_distance", "target_token_probability"],
                                  title=f"CPU-trained ladder, same outputs under three metrics (cf. Fig. 3); "
                                        f"{n_large} held-out problems per target length, 95% bootstrap CIs, "
                                        "ES = emergence score"))
    # Figure 4 analog: first n_small examples vs all n_large.
    acc = table[table.metric == "exact_match"]
    small_ids = {str(i) for i in range(n_small)}
    small = compute_curves(records[records.example_id.isin(small_ids)], ["exact_match"], n_boot=0).table
    files.append(write_csv(small, out / "curves_small.csv"))
    long_tasks = [f"{n}-L{L}" for n, _, _, L in TASKS if L >= 3]
    files.append(plot_resolution(small[small.task.isin(long_tasks)], acc[acc.task.isin(long_tasks)],
                                 out / "fig4_resolution.png",
                                 labels=(f"greedy, {n_small} test problems per task",
                                         f"greedy, {n_large} test problems per task"),
                                 title="More test data, then sampling until K passes, resolve small accuracies of "
                                       "the ladder (cf. Fig. 4)",
                                 xlabel="non-embedding parameters (log scale)", pass_rates=pass_rates,
                                 pass_label=f"sampled (T=1) until {PASS_K} passes or {max_samples} draws, "
                                            f"{n_pass} problems"))
    fits = _length_fits(table)
    files.append(write_csv(fits, out / "target_length_fits.csv"))
    files.append(plot_curves(table, out / "all_metrics.png", title="ladder: every metric, every task"))
    return small, fits, files


def _summary_text(*, metas: list[dict], ladder: pd.DataFrame, ladder_dir: Path, origin: str, records: pd.DataFrame,
                  curves: pd.DataFrame, em: pd.DataFrame, verdicts: pd.DataFrame, scored: Any, goals: pd.DataFrame,
                  spread: pd.DataFrame | None, seed_verdicts: pd.DataFrame | None, others: list[int],
                  small: pd.DataFrame, fits: pd.DataFrame, pass_rates: pd.DataFrame, n_small: int, n_large: int,
                  n_pass: int, max_samples: int) -> str:
    """The experiment's section of ``summary.md``."""
    from emergence_lens.models.ladder import SHIPPED_SEEDS

    recipe = metas[0]["recipe"]
    acc = curves[curves.metric == "exact_match"]
    zeros = small[small.n_correct == 0]
    resolved = acc.merge(zeros[["task", "model"]], on=["task", "model"])
    top = em[em.metric.isin(["exact_match", "token_edit_distance", "target_token_probability"])]
    em_rows = verdicts[(verdicts.metric == "exact_match") & (verdicts.partner == "per_token_accuracy")]
    table_v = em_rows[["task", "metric_state", "partner_state", "paired_diff", "paired_diff_low", "paired_diff_high",
                       "explained", "max_departure", "emerges_at", "wei_emergent", "verdict"]]
    bt_sum = side_by_side(scored.backtest.summary) if scored.backtest is not None else pd.DataFrame()
    counts = records.groupby("task").example_id.nunique()
    small_spaces = {t: int(c) for t, c in counts.items() if c < n_large}
    zero_greedy = pass_rates[pass_rates.greedy_correct == 0]
    resolved_pass = zero_greedy[zero_greedy.pass_rate_low > 0]
    pass_view = pass_rates[["task", "model", "scale_params", "attempts", "passes", "pass_rate", "pass_rate_low",
                            "pass_rate_high", "target_probability", "greedy_exact_match"]]
    n_met = int(goals.met.sum()) if len(goals) else 0
    source = ("the ladder shipped in the package (`emergence-lens train-ladder` retrains it: the same bytes on the CPU kind that trained it, a close loss curve on others)"
              if origin == "shipped" else f"a ladder trained in this run into `{ladder_dir}`")
    text = (
        "## arithmetic: a transformer ladder trained on CPU (Fig. 3-4)\n\n"
        f"{len(metas)} GPT-2-architecture models, {ladder.non_embedding_params.min():,}-"
        f"{ladder.non_embedding_params.max():,} non-embedding parameters "
        f"({ladder.non_embedding_params.max() / ladder.non_embedding_params.min():.0f}x), one recipe "
        f"({recipe['steps']} steps x {recipe['batch_size']} problems, compact format `a+b=`, seed {recipe['seed']}); "
        f"{source}. Evaluated 0-shot on {n_large} held-out problems per (task, target length) (all "
        f"{', '.join(f'{k}: {v}' for k, v in small_spaces.items())} distinct ones where the held-out space is "
        "smaller), none of them trained on.\n\n"
        + markdown_table(ladder)
        + "\nGoals (`goals.csv`: this run's ladder from `summary.csv`"
        + ("" if spread is None else ", and the mean over the three seeds from `seed_spread.csv`")
        + f"): {n_met} of {len(goals)} met.\n\n"
        + markdown_table(goals)
        + ("" if spread is None else
           "\nSeed spread (`seed_spread.csv`, `seed_records.parquet`): every member also ships trained with seeds "
           f"{' and '.join(map(str, others))} (`emergence-lens train-ladder --seed K`, same recipe), evaluated "
           f"greedily here on the same held-out problems of {', '.join(SEED_TASKS)}. Mean over seeds "
           f"{', '.join(map(str, SHIPPED_SEEDS))} (min-max):\n\n"
           + markdown_table(_spread_view(spread))
           + "\nThe verdict on exact match against per-token greedy accuracy, redone on each seed's ladder "
           "(`seed_verdicts.csv`; metric_score = sharpness with its CI, paired = sharpness difference):\n\n"
           + markdown_table(seed_verdicts[["task", "seed", "metric_score", "metric_ci_low", "metric_ci_high",
                                           "paired_diff", "paired_diff_low", "paired_diff_high", "explained",
                                           "wei_emergent", "verdict"]]))
        + "\nEmergence scores (oriented, 95% bootstrap CI):\n\n"
        + markdown_table(top[["task", "metric", "emergence_score", "ci_low", "ci_high", "sharpness"]])
        + f"\nVerdicts ({verdict_counts(verdicts)}). Exact match against its ingredient, per-token greedy "
        "accuracy a (prediction mean_i a**L_i, joint 95% band over the 8 sizes; paired sharpness difference "
        "on the same resampled examples):\n\n" + markdown_table(table_v)
        + f"\nBacktest (the one `predict` runs): fitted on the {FIT_ON} smallest models, every forecast method "
        "predicts the 4 larger ones; here `transform` (a extrapolated, mapped through a**L) next to `naive` (exact "
        "match extrapolated itself), each with its calibrated 95% interval's coverage, width and interval score "
        "(`predictions.csv`, `backtest.csv`, `wins.csv`, `verdicts_ladder.png`):\n\n" + markdown_table(bt_sum)
        + f"\nResolution: {len(zeros)} (task, model) points score 0 on the first {n_small} examples; "
        f"{int((resolved.cp_low > 0).sum())} of them are resolved above 0 on all {n_large}.\n\n"
        f"Sampling until {PASS_K} passes (temperature 1, at most {max_samples} draws per problem, the first "
        f"{n_pass} problems of {', '.join(PASS_TASKS)}; `pass_rates.csv`): {len(zero_greedy)} (task, model) points "
        f"have greedy exact match 0 on these problems, {len(resolved_pass)} of them get a pass rate whose 95% CI "
        "excludes 0. `target_probability` is the per-token prediction, mean_i prod_j p_ij:\n\n"
        + markdown_table(pass_view)
        + "\nTarget length (`target_length_fits.csv`): slope of log accuracy and of edit distance vs L:\n\n"
        + markdown_table(fits)
    )
    return text


def _run(out: Path, quick: bool, seed: int, options: dict[str, str]) -> ExperimentResult:
    value = options.get("retrain", "0").strip().lower()
    if value not in {"0", "1", "true", "false", "yes", "no"}:
        raise ExperimentOptionError(f"retrain={options['retrain']!r}: expected 1 or 0")
    return run_arithmetic(out, quick=quick, seed=seed, retrain=value in {"1", "true", "yes"})


register_experiment(Experiment(
    "arithmetic", "transformer ladder (8 sizes, shipped; --retrain trains it) on held-out arithmetic (Fig. 3-4)",
    _run, options={"retrain": "1: train the ladder from scratch instead of evaluating the shipped one "
                              "(reproduce --retrain sets it)"},
    requires=("train",)))
