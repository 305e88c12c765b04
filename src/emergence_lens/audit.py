"""The meta-analysis (paper Figs. 5-6): an emergence score for every curve of any source.

Curves are (family, task, subtask, shots, metric) across model scale.  Each gets the emergence
score (oriented so that higher is better where the metric's direction is known) and, where the
source has per-sample logs (lm-eval samples), a bootstrap CI from re-scoring them under our
metrics.  Each curve gets a verdict: its sharpness state, and where a smooth partner metric was
measured on the same outputs, the comparison (``metric artifact``, ``persists``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emergence_lens._io import atomic_write_text
from emergence_lens.analysis import write_csv
from emergence_lens.curves import compute_curves
from emergence_lens.emergence import (
    DEFAULT_THRESHOLD,
    Explanation,
    explain_aggregate,
    VERDICT_COLUMNS,
    classify_sharpness,
    clopper_pearson,
    emergence_scores,
    emergence_table,
    verdict_table,
    x_column,
    x_position,
)
from emergence_lens.emergence.parametric import curve_score_ci, parametric_replicates
from emergence_lens.emergence.resolution import MIN_EFFECT, resolution_limit
from emergence_lens.emergence.score import MIN_POINTS
from emergence_lens.emergence.transforms import AGGREGATE_INGREDIENTS
from emergence_lens.emergence.verdict import decide
from emergence_lens.report import markdown_table
from emergence_lens.sources import SourceBundle
from emergence_lens.sources.metric_kinds import (
    AUDIT_PARTNERS,
    CHOICE_ACCURACY,
    GENERATION_ACCURACY,
    VALUE_RANGES,
    is_log_scale,
    metric_kind,
    metric_properties,
)
from emergence_lens.sources.sample_size import BINOMIAL_METRICS

__all__ = ["curve_scores", "audit", "rescore", "Rescored", "AUDIT_COLUMNS", "RESCORED_SOURCE"]

AUDIT_COLUMNS = ["family", "task", "subtask", "shots", "metric", "metric_kind", "n_scales", "scale_min",
                 "scale_max", "emergence_score", "ci_low", "ci_high", "ci_method", "resolution", "noise_floor",
                 "metric_state", "chance", "emerges_at", "wei_emergent", "aggregate", "verdict", "source"]
KEYS = ["family", "task", "subtask", "shots", "metric"]
#: ``source`` of the curves re-scored from per-sample logs (lm-eval samples, Inspect logs).
RESCORED_SOURCE = "per-sample logs (re-scored)"


def _orientation(metric: pd.Series, hib_col: pd.Series | None) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the sign (-1 where lower is better) and whether the metric is scored on log10."""
    props = {m: metric_properties(m) for m in metric.unique()}
    logs = {m: is_log_scale(m) for m in metric.unique()}
    sign = metric.map(lambda m: -1.0 if props[m] is not None and not props[m][2] else 1.0).to_numpy()
    if hib_col is not None:
        h = hib_col.astype(object)
        sign = np.where(h == False, -1.0, np.where(h == True, 1.0, sign))  # noqa: E712
    return sign.astype(float), metric.map(logs).to_numpy(dtype=bool)


def _oriented(value: np.ndarray, sign: np.ndarray, log: np.ndarray) -> np.ndarray:
    """Values as scored: log10 for power-law-falling metrics (perplexity, loss, ...), then negated
    when lower is better, so a positive score always means "improves with scale"."""
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(log, np.where(value > 0, np.log10(np.where(value > 0, value, 1.0)), np.nan), value)
    return v * sign


def curve_scores(curves: pd.DataFrame, *, x_axis: str = "params",
                 chance: Mapping[str, float] | None = None, confidence: float = 0.95,
                 n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Emergence score and chance tests of every curve, vectorised by curve length (no Python loop
    over curves).

    Repeated scales within a curve are averaged (the same model reported twice); curves with
    fewer than 3 scales, or with a model that has no value on the x-axis, get NaN and a status
    saying so.  Perplexity-like metrics are scored on log10.  Where a point's number of examples
    is known and the metric is an accuracy, its Clopper-Pearson interval gives the chance tests
    (``emerges_at``, ``wei_emergent``, ``no measurable ability``); chance is 0 for generation
    accuracy, and for multiple-choice accuracy only what ``chance`` gives per task.

    Where every point of a curve has ``n_examples`` (binomial metrics) or a ``stderr``, the curve
    gets ``ci_low``/``ci_high`` from ``n_boot`` parametric redraws of the whole curve
    (:mod:`emergence_lens.emergence.parametric`; ``ci_method`` says which).  ``resolution`` is the
    resolution limit of the curve's smallest test set (NaN: unknown) and ``noise_floor``
    ``max(0.01, 2 x resolution)``: an accuracy curve whose rise above chance never reaches it has
    no measurable ability, with or without ``n`` (``resolution unknown`` in the reason).
    """
    xcol = x_column(x_axis)
    df = curves.copy()
    df["shots"] = df["shots"].fillna(-1)
    if xcol not in df:
        df[xcol] = np.nan
    df["_pos"] = x_position(pd.to_numeric(df[xcol], errors="coerce").to_numpy(dtype=float), x_axis)
    sign, log = _orientation(df["metric"], df["higher_is_better"] if "higher_is_better" in df else None)
    df["_sign"] = sign
    df["_log"] = log
    df["_y"] = _oriented(df["value"].to_numpy(float), sign, log)
    df["_v"] = df["value"].to_numpy(float)
    df["_n"] = pd.to_numeric(df["n_examples"], errors="coerce") if "n_examples" in df else np.nan
    df["_se"] = pd.to_numeric(df["stderr"], errors="coerce") if "stderr" in df else np.nan
    missing_x = df["_pos"].isna()
    if "aggregate" not in df:
        df["aggregate"] = False
    df["aggregate"] = df["aggregate"].fillna(False).astype(bool)
    g = df[~missing_x].groupby(KEYS + ["_pos"], sort=True, dropna=False).agg(
        _y=("_y", "mean"), _v=("_v", "mean"), _n=("_n", "min"), _se=("_se", "mean"), _x=(xcol, "first"),
        _sign=("_sign", "first"), _log=("_log", "first"),
        source=("source", "first"), aggregate=("aggregate", "max")).reset_index()
    # a repeated model's mean has neither one n nor one stderr
    repeated = df[~missing_x].groupby(KEYS + ["_pos"], sort=True, dropna=False).size().to_numpy() > 1
    g.loc[repeated, ["_n", "_se"]] = np.nan
    gid = g.groupby(KEYS, sort=False, dropna=False).ngroup().to_numpy()
    order = np.lexsort((g["_pos"].to_numpy(), gid))
    g = g.iloc[order].reset_index(drop=True)
    gid = gid[order]
    starts = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]]) if len(g) else np.array([], dtype=int)
    lengths = np.diff(np.r_[starts, len(g)]).astype(int)
    y = g["_y"].to_numpy()
    scores = np.full(len(starts), np.nan)
    for n in np.unique(lengths):
        if n < MIN_POINTS:
            continue
        sel = np.flatnonzero(lengths == n)
        Y = y[starts[sel][:, None] + np.arange(n)[None, :]]
        ok = np.isfinite(Y).all(axis=1)
        if ok.any():
            scores[sel[ok]] = emergence_scores(Y[ok])
    first = g.iloc[starts]
    out = first[KEYS + ["source", "aggregate"]].reset_index(drop=True)
    out["n_scales"] = lengths
    xs = g["_x"].to_numpy(dtype=float)
    out["scale_min"] = xs[starts] if len(starts) else []
    out["scale_max"] = xs[starts + lengths - 1] if len(starts) else []
    out["emergence_score"] = scores
    status = np.where(lengths < MIN_POINTS, f"fewer than {MIN_POINTS} scales", "ok").astype(object)
    nonfinite = (lengths >= MIN_POINTS) & ~np.isfinite(scores)
    status[nonfinite] = "non-positive value of a log-scale metric, or a non-finite value"
    out["status"] = status
    # curves with a model that has no value on the x-axis
    if missing_x.any():
        lacking = df[missing_x].groupby(KEYS, dropna=False).size()
        idx = pd.MultiIndex.from_frame(out[KEYS])
        hit = idx.isin(lacking.index)
        out.loc[hit, "status"] = f"a model has no {xcol}"
        out.loc[hit, "emergence_score"] = np.nan
        extra = lacking.index.difference(idx)
        if len(extra):
            rest = pd.DataFrame(list(extra), columns=KEYS)
            rest["source"] = df[missing_x].groupby(KEYS, dropna=False)["source"].first().loc[extra].to_numpy()
            rest[["n_scales", "scale_min", "scale_max", "emergence_score"]] = [0, np.nan, np.nan, np.nan]
            rest["status"] = f"no model has {xcol}"
            out = pd.concat([out, rest], ignore_index=True)
    tests = _chance_tests(g, starts, lengths, out.iloc[:len(starts)], chance or {}, confidence)
    lo, hi, method = _parametric_cis(g, starts, lengths, scores, n_boot, seed, confidence)
    tests.update(ci_low=lo, ci_high=hi, ci_method=method)
    fill = {"wei_emergent": False, "measurable": True, "measurable_reason": "", "ci_method": ""}
    for col, values in tests.items():
        pad = np.full(len(out) - len(starts), fill.get(col, np.nan), dtype=object if col in fill else float)
        out[col] = np.r_[values, pad] if len(pad) else values
    out["measurable"] = out["measurable"].astype(bool)
    out["wei_emergent"] = out["wei_emergent"].astype(bool)
    unscored = ~np.isfinite(out["emergence_score"].to_numpy(dtype=float))
    out.loc[unscored, ["ci_low", "ci_high"]] = np.nan
    out.loc[unscored, "ci_method"] = ""
    out["shots"] = out["shots"].replace(-1, np.nan)
    return out


#: Parametric replicates drawn per chunk (values), so memory stays flat however many curves there are.
_CHUNK_VALUES = 2_000_000


def _parametric_cis(g: pd.DataFrame, starts: np.ndarray, lengths: np.ndarray, scores: np.ndarray, n_boot: int,
                    seed: int, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Emergence-score CI of every curve whose every point has ``n`` (binomial metric) or a stderr,
    from parametric redraws of the whole curve, chunk by chunk (see :func:`curve_scores`)."""
    n_curves = len(starts)
    lo = np.full(n_curves, np.nan)
    hi = np.full(n_curves, np.nan)
    method = np.full(n_curves, "", dtype=object)
    v = g["_v"].to_numpy(dtype=float)
    n = g["_n"].to_numpy(dtype=float)
    se = g["_se"].to_numpy(dtype=float)
    if n_curves == 0 or n_boot < 1 or not (np.isfinite(n).any() or np.isfinite(se).any()):
        return lo, hi, method
    # per distinct metric name, not per row (a table may hold millions of rows)
    metric = g["metric"].astype(str)
    base_of = {m: m.split("[", 1)[0] for m in metric.unique()}
    base = metric.map(base_of)
    binomial = base.isin(list(BINOMIAL_METRICS)).to_numpy()
    by_n = binomial & np.isfinite(n) & (n >= 1) & (v >= 0) & (v <= 1)
    # n but no stderr, on a bounded metric: the Bhatia-Davis bound (m - lo)(hi - m) / n, conservative
    ranges = {b: VALUE_RANGES.get(b, (np.nan, np.nan)) for b in set(base_of.values())}
    lo_r = base.map({b: r[0] for b, r in ranges.items()}).to_numpy(dtype=float)
    hi_r = base.map({b: r[1] for b, r in ranges.items()}).to_numpy(dtype=float)
    by_bound = (~by_n & ~(np.isfinite(se) & (se >= 0)) & np.isfinite(n) & (n >= 1) & (v >= lo_r) & (v <= hi_r))
    se = np.where(by_bound, np.sqrt(np.clip((v - lo_r) * (hi_r - v), 0, None) / np.where(by_bound, n, 1.0)), se)
    by_se = ~by_n & np.isfinite(se) & (se >= 0)
    has = (by_n | by_se).astype(int)
    every = np.minimum.reduceat(has, starts).astype(bool) & np.isfinite(scores) & (lengths >= MIN_POINTS)
    if not every.any():
        return lo, hi, method
    all_n = np.minimum.reduceat(by_n.astype(int), starts).astype(bool)
    any_bound = np.maximum.reduceat(by_bound.astype(int), starts).astype(bool)
    method[every] = np.where(all_n[every], "parametric: binomial n",
                             np.where(any_bound[every], "parametric: stderr bound from n (conservative)",
                                      "parametric: stderr (normal)"))
    sign = g["_sign"].to_numpy(dtype=float)
    log = g["_log"].to_numpy(dtype=bool)
    rng = np.random.default_rng(seed)
    for k in np.unique(lengths[every]):
        sel = np.flatnonzero(every & (lengths == k))
        per_chunk = max(1, _CHUNK_VALUES // (n_boot * int(k)))
        for c0 in range(0, len(sel), per_chunk):
            chunk = sel[c0:c0 + per_chunk]
            idx = (starts[chunk][:, None] + np.arange(k)[None, :]).ravel()
            reps = parametric_replicates(v[idx], n[idx], se[idx], by_n[idx], n_boot, rng)
            y = _oriented(reps, sign[idx][None, :], log[idx][None, :]).reshape(n_boot * len(chunk), int(k))
            rs = np.full(len(y), np.nan)
            ok = np.isfinite(y).all(axis=1)
            if ok.any():
                rs[ok] = emergence_scores(y[ok])
            lo[chunk], hi[chunk] = curve_score_ci(rs.reshape(n_boot, len(chunk)), confidence)
    return lo, hi, method


def _chance_tests(g: pd.DataFrame, starts: np.ndarray, lengths: np.ndarray, heads: pd.DataFrame,
                  chance: Mapping[str, float], confidence: float) -> dict[str, np.ndarray]:
    """Vectorised :func:`~emergence_lens.emergence.verdict.curve_tests` over every curve."""
    n_curves = len(starts)
    if n_curves == 0:
        return {"chance": np.array([]), "emerges_at": np.array([]), "wei_emergent": np.array([], dtype=bool),
                "measurable": np.array([], dtype=bool), "measurable_reason": np.array([], dtype=object),
                "resolution": np.array([]), "noise_floor": np.array([])}
    metric = heads["metric"].astype(str).to_numpy()
    task = heads["task"].astype(str).to_numpy()
    base = np.array([m.split("[", 1)[0] for m in metric])
    c = np.array([chance.get(f"{t}:{m}", chance.get(t, np.nan)) if b in CHOICE_ACCURACY | GENERATION_ACCURACY
                  else chance.get(f"{t}:{m}", np.nan) for t, m, b in zip(task, metric, base, strict=True)], dtype=float)
    gen = np.isin(base, list(GENERATION_ACCURACY)) & np.isnan(c)
    c[gen] = 0.0
    v = g["_v"].to_numpy(dtype=float)
    n = g["_n"].to_numpy(dtype=float)
    c_pt = np.repeat(c, lengths)
    acc_pt = np.repeat(np.isin(base, list(CHOICE_ACCURACY | GENERATION_ACCURACY)), lengths)
    ok = acc_pt & np.isfinite(n) & (n >= 1) & np.isfinite(v) & (v >= 0) & (v <= 1)
    lo = np.full(v.size, np.nan)
    hi = np.full(v.size, np.nan)
    if ok.any():
        k = np.round(v[ok] * n[ok])
        lo[ok], hi[ok] = clopper_pearson(k, np.round(n[ok]), confidence)
    finite = np.isfinite(lo) & np.isfinite(c_pt)
    applies = np.minimum.reduceat(finite.astype(int), starts).astype(bool)
    above = finite & (lo > c_pt)
    idx = np.arange(v.size)
    last = starts + lengths - 1
    last_not_above = np.maximum.reduceat(np.where(~above, idx, -1), starts)
    em_start = np.where(last_not_above >= starts, last_not_above + 1, starts)
    last_above = above[last] & applies
    xs = g["_x"].to_numpy(dtype=float)
    emerges = np.where(last_above, xs[np.minimum(em_start, last)], np.nan)
    near = finite & (lo <= c_pt) & (hi >= c_pt)
    cum = np.r_[0, np.cumsum(near)]
    wei = last_above & ((cum[em_start] - cum[starts]) >= 2)
    n_min = np.minimum.reduceat(np.where(np.isfinite(n), n, np.inf), starts)
    known = np.isfinite(n_min) & (n_min >= 1)
    resolution = np.full(n_curves, np.nan)
    resolution[known] = resolution_limit(np.round(n_min[known]), confidence)
    floor = np.where(known, np.maximum(MIN_EFFECT, 2.0 * np.nan_to_num(resolution)), MIN_EFFECT)
    in_unit = np.minimum.reduceat((np.isfinite(v) & (v >= 0) & (v <= 1)).astype(int), starts).astype(bool)
    # chance unknown (multiple-choice accuracy without --chance): chance >= 0, so a curve that never
    # rises above the floor from 0 never rises above it from chance either
    c_floor = np.where(np.isfinite(c), c, 0.0)
    # accuracies, and metrics of unknown kind (a wide table's bare task columns, named "score") whose
    # every value lies in [0, 1]: a share of something, held to the same floor
    known_kind = {m: metric_properties(m) is not None for m in set(metric)}
    unknown = np.array([not known_kind[m] for m in metric], dtype=bool)
    acc_curve = (np.isin(base, list(BINOMIAL_METRICS)) | unknown) & in_unit
    rise = np.maximum.reduceat(np.where(np.isfinite(v), v, -np.inf), starts) - c_floor
    any_above = np.maximum.reduceat(above.astype(int), starts).astype(bool)
    below_floor = acc_curve & (rise < floor)
    unresolved = applies & ~any_above & ~below_floor
    measurable = ~(below_floor | unresolved)
    reason = np.full(n_curves, "", dtype=object)
    for i in np.flatnonzero(below_floor):
        how = (f"max of {MIN_EFFECT:g} and 2x the resolution limit {resolution[i]:.3g} of {int(n_min[i])} examples"
               if known[i] else f"{MIN_EFFECT:g}; resolution unknown: no n or stderr")
        above_what = f"chance {c[i]:.3g}" if np.isfinite(c[i]) else "0 (chance unknown)"
        reason[i] = (f"never above the noise floor: largest rise above {above_what} is {rise[i]:.3g}, below "
                     f"{floor[i]:.3g} ({how})")
    reason[unresolved] = f"no point's {confidence:.0%} CI lower bound is above chance"
    return {"chance": c, "emerges_at": emerges, "wei_emergent": wei, "measurable": measurable,
            "measurable_reason": reason, "resolution": resolution,
            "noise_floor": np.where(acc_curve, floor, np.nan)}


def _states(table: pd.DataFrame, threshold: float) -> list[str]:
    states = []
    for s, lo, hi, n, meas in zip(table.emergence_score, table.ci_low, table.ci_high, table.n_scales,
                                  table.measurable, strict=True):
        st = classify_sharpness(s, lo, hi, n, threshold)
        if st != "not scored" and not bool(meas):
            st = "no measurable ability"
        states.append(st)
    return states


def _aggregate_explanations(curves: pd.DataFrame, table: pd.DataFrame, x_axis: str) -> dict[tuple, Explanation]:
    """The aggregate version of "explained by the metric" for results-only curves: where a sharp
    metric's ingredient curve is reported on the same (family, task, subtask, shots), with the
    number of examples, and the target length is in the task name (``*-L<n>``), test the curve
    against ``a**L`` (:func:`~emergence_lens.emergence.explain_aggregate`, flagged approximate)."""
    out: dict[tuple, Explanation] = {}
    if curves.empty:
        return out
    xcol = x_column(x_axis)
    df = curves.assign(shots=curves["shots"].fillna(-1), _n=pd.to_numeric(curves["n_examples"], errors="coerce"))
    groups = {k: g for k, g in df.groupby(KEYS, dropna=False)}
    for row in table.itertuples(index=False):
        ing = AGGREGATE_INGREDIENTS.get(str(row.metric))
        m = re.search(r"-L(\d+)$", str(row.subtask)) or re.search(r"-L(\d+)$", str(row.task))
        if ing is None or m is None:
            continue
        shots = -1 if pd.isna(row.shots) else row.shots
        a = groups.get((row.family, row.task, row.subtask, shots, ing))
        o = groups.get((row.family, row.task, row.subtask, shots, row.metric))
        if a is None or o is None:
            continue
        a = a.groupby(xcol).agg(v=("value", "mean"), n=("_n", "min"))
        o = o.groupby(xcol).agg(v=("value", "mean"), n=("_n", "min"))
        j = o.merge(a.add_suffix("_a"), left_index=True, right_index=True, how="inner").sort_index()
        if len(j) < MIN_POINTS or j[["n", "n_a"]].isna().any().any():
            continue
        se_o = np.sqrt(np.clip(j.v * (1 - j.v), 1e-12, None) / j.n)
        se_a = np.sqrt(np.clip(j.v_a * (1 - j.v_a), 1e-12, None) / (j.n_a * int(m.group(1))))
        ex = explain_aggregate(j.index.to_numpy(float), j.v.to_numpy(), se_o.to_numpy(), j.v_a.to_numpy(),
                               se_a.to_numpy(), int(m.group(1)), metric=str(row.metric),
                               ingredient_name=f"{ing} (aggregate)", n=j.n.to_numpy(float))
        out[(row.family, row.task, row.subtask, row.shots if not pd.isna(row.shots) else None, row.metric)] = ex
    return out


def _verdicts(table: pd.DataFrame, explanations: Mapping[tuple, Explanation] | None = None) -> list[str]:
    """Results-only curves: the verdict rules of :mod:`emergence_lens.emergence.verdict` with the
    tests that aggregates allow (no paired sharpness; explained-by-the-metric where the ingredient
    curve is reported too, approximate)."""
    explanations = explanations or {}
    index = {k: st for k, st in zip(map(tuple, table[KEYS].astype(str).to_numpy()), table.metric_state, strict=True)}
    out = []
    for raw, row, state, wei in zip(table[KEYS].itertuples(index=False), table[KEYS].astype(str).to_numpy(),
                                    table.metric_state, table.wei_emergent, strict=True):
        base = row[-1].split("[", 1)[0]
        key = (raw.family, raw.task, raw.subtask, raw.shots if not pd.isna(raw.shots) else None, raw.metric)
        ex = explanations.get(key)
        explained = None if ex is None else ex.explained
        partner_states = [(p, index.get((*row[:-1], p))) for p in AUDIT_PARTNERS.get(base, ())]
        partner_states = [(p, s) for p, s in partner_states if s]
        if partner_states:
            p, ps = partner_states[0]
            verdict = decide(state, ps, bool(wei), None, explained)
            out.append(f"{verdict} ({p} {ps})")
        else:
            out.append(decide(state, None, bool(wei), None, explained))
    return out


@dataclass
class Rescored:
    """What the per-example records of some (family, task) groups give the audit: their rows of
    ``audit.csv`` and ``verdicts.csv``, the re-scored curves and the predictions.  The records are
    grouped by (family, task) and every curve is seeded by its own key, so the parts of disjoint
    groups, concatenated in (family, task) order, equal the part of their union
    (:meth:`concat`; the partitioned engines rely on it)."""

    audit_rows: pd.DataFrame
    verdicts: pd.DataFrame
    curves: pd.DataFrame
    predictions: pd.DataFrame

    @staticmethod
    def concat(parts: Sequence[Rescored]) -> Rescored | None:
        if not parts:
            return None
        return Rescored(*(_concat([getattr(p, f) for p in parts])
                          for f in ("audit_rows", "verdicts", "curves", "predictions")))


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate with the dtypes one frame of all the rows would have had: empty parts add nothing,
    and a column that is all-missing in some parts (object there) stays numeric where the others are."""
    full = [f for f in frames if len(f)] or list(frames[:1])
    out = pd.concat(full, ignore_index=True) if len(full) > 1 else full[0].reset_index(drop=True)
    for col in out.columns:
        if out[col].dtype != object:
            continue
        kinds = {f[col].dtype for f in full if f[col].notna().any()}
        if kinds and all(pd.api.types.is_numeric_dtype(k) and not pd.api.types.is_bool_dtype(k) for k in kinds):
            out[col] = pd.to_numeric(out[col])
    return out


def rescore(records: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, threshold: float = DEFAULT_THRESHOLD,
            x_axis: str = "params", chance: Mapping[str, float] | None = None) -> Rescored:
    """Curves, emergence scores and full verdicts of per-example ``records`` (the audit's
    re-scored part)."""
    rc = compute_curves(records, n_boot=n_boot, seed=seed, keep_scores=True)
    em = emergence_table(rc.table, rc.replicates, x=x_column(x_axis))
    vr = verdict_table(records, rc, em, x_axis=x_axis, chance=chance, threshold=threshold, n_boot=n_boot, seed=seed)
    v = vr.verdicts
    first = v.drop_duplicates(["family", "task", "metric"], keep="first").set_index(["family", "task", "metric"])
    em = em.assign(subtask=em["task"], shots=np.nan, source=RESCORED_SOURCE, aggregate=False,
                   ci_method="per-example bootstrap", resolution=np.nan, noise_floor=np.nan)
    key = pd.MultiIndex.from_frame(em[["family", "task", "metric"]])
    for col in ("metric_state", "chance", "emerges_at", "wei_emergent", "verdict"):
        em[col] = first[col].reindex(key).to_numpy()
    rows = em[KEYS + ["source", "aggregate", "n_scales", "scale_min", "scale_max", "emergence_score", "ci_low",
                      "ci_high", "ci_method", "resolution", "noise_floor", "status", "metric_state", "chance",
                      "emerges_at", "wei_emergent", "verdict"]]
    return Rescored(rows, v.assign(approximate=False), rc.table, vr.predictions)


def audit(bundle: SourceBundle, out: str | Path, *, n_boot: int = 1000, seed: int = 0,
          threshold: float = DEFAULT_THRESHOLD, high: float | None = None, x_axis: str = "params",
          chance: Mapping[str, float] | None = None, rescored_parts: Rescored | None = None,
          executor: Executor | None = None, pending: list[Future[None]] | None = None) -> pd.DataFrame:
    """Write ``audit.csv``, ``verdicts.csv``, ``fig5_scores_by_metric.png``, ``fig6_mcg_vs_brier.png``
    (when a family has both), ``issues.csv``, ``unresolved.csv`` and ``summary.md`` into ``out``.

    Curves re-scored from per-sample logs get the full verdicts
    (:func:`~emergence_lens.emergence.verdict_table`: paired sharpness, explained by the metric);
    results-only curves get those their aggregates allow (sharpness, resolution, Wei's criterion,
    the partner's state), marked ``source`` accordingly.  ``high``: emergence score counted as
    "high" in the Figure 5 summary (default: the sharpness threshold times (n_scales - 1)).
    ``rescored_parts``: the re-scored part already computed (by partitions,
    :mod:`emergence_lens.engine`); default: :func:`rescore` of ``bundle.records``.  ``executor``:
    worker processes to draw the figures on (the same files either way); ``pending``: a list that
    gets the figures' futures instead of waiting for them (the caller waits, e.g. the report, which
    draws its panels meanwhile).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    rescored = None
    verdict_rows = []
    if len(bundle.curves):
        cs = curve_scores(bundle.curves, x_axis=x_axis, chance=chance, n_boot=n_boot, seed=seed)
        cs["metric_state"] = _states(cs, threshold)
        agg_ex = _aggregate_explanations(bundle.curves, cs, x_axis)
        cs["verdict"] = _verdicts(cs, agg_ex)
        ex_of = [agg_ex.get((r.family, r.task, r.subtask, r.shots if not pd.isna(r.shots) else None, r.metric))
                 for r in cs[KEYS].itertuples(index=False)]
        parts.append(cs)
        verdict_rows.append(pd.DataFrame({
            "family": cs["family"], "task": cs["subtask"], "metric": cs["metric"], "partner": "",
            "x_axis": x_axis, "n_scales": cs["n_scales"], "metric_score": cs["emergence_score"],
            "metric_ci_low": cs["ci_low"], "metric_ci_high": cs["ci_high"], "metric_state": cs["metric_state"],
            "partner_score": np.nan, "partner_state": "", "paired_diff": np.nan, "paired_diff_low": np.nan,
            "paired_diff_high": np.nan,
            "explained": ["" if e is None else ("explained" if e.explained else "beyond") for e in ex_of],
            "ingredient": ["" if e is None else e.ingredient for e in ex_of], "approximate": True,
            "max_departure": [np.nan if e is None else e.max_departure for e in ex_of],
            "departs_at": ["" if e is None else ";".join(f"{x:.6g}" for x, _, _ in sorted(e.departures)) for e in ex_of],
            "emerges_at": cs["emerges_at"],
            "wei_emergent": cs["wei_emergent"], "chance": cs["chance"], "verdict": cs["verdict"],
            "explanation": "results only (no per-example data): " + cs["verdict"].astype(str)
            + np.where(cs["measurable_reason"].astype(str) != "", "; " + cs["measurable_reason"].astype(str), "")
            + np.array(["" if e is None else "; " + e.text() for e in ex_of], dtype=object)}))
    if rescored_parts is None and bundle.records is not None and len(bundle.records):
        rescored_parts = rescore(bundle.records, n_boot=n_boot, seed=seed, threshold=threshold, x_axis=x_axis,
                                 chance=chance)
    if rescored_parts is not None:
        parts.append(rescored_parts.audit_rows)
        verdict_rows.append(rescored_parts.verdicts)
        rescored = rescored_parts.curves
        write_csv(rescored, out / "rescored_curves.csv")
        write_csv(rescored_parts.predictions, out / "predictions.csv")
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=AUDIT_COLUMNS + ["status"])
    for col in ("emergence_score", "ci_low", "ci_high", "n_scales", "scale_min", "scale_max", "chance", "emerges_at",
                "resolution", "noise_floor"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    table["wei_emergent"] = table["wei_emergent"].astype(object).where(table["wei_emergent"].notna(), False).astype(bool)
    table["metric_kind"] = table["metric"].map(metric_kind)
    table["aggregate"] = table["aggregate"].fillna(False).astype(bool) if "aggregate" in table else False
    if len(table):
        table.loc[table["status"] != "ok", "verdict"] = "not scored: " + table["status"]
    result = table[AUDIT_COLUMNS].sort_values(["family", "task", "subtask", "metric"], kind="stable")
    write_csv(result, out / "audit.csv")
    verdicts = (pd.concat(verdict_rows, ignore_index=True)[VERDICT_COLUMNS] if verdict_rows
                else pd.DataFrame(columns=VERDICT_COLUMNS))
    write_csv(verdicts, out / "verdicts.csv")
    write_csv(bundle.issues.frame(), out / "issues.csv")
    write_csv(bundle.unresolved, out / "unresolved.csv")
    write_csv(bundle.inputs, out / "inputs.csv")
    write_csv(bundle.models, out / "models.csv")
    if len(bundle.curves):
        write_csv(bundle.curves, out / "curves.csv")
    _figures(result, bundle, rescored, out, threshold, executor, pending)
    _summary(result, bundle, out, threshold)
    return result


def _is_high(t: pd.DataFrame, threshold: float) -> pd.Series:
    return (t["emergence_score"] / (t["n_scales"] - 1)) >= threshold


def _figures(t: pd.DataFrame, bundle: SourceBundle, rescored: pd.DataFrame | None, out: Path,
             threshold: float, executor: Executor | None = None, pending: list[Future[None]] | None = None) -> None:
    """Figures 5 and 6 (cf. the paper's), each drawn by ``executor``'s workers when given (then
    waited for here, or their futures appended to ``pending``)."""
    jobs: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
    # a group's aggregate re-counts its subtasks' examples: it is never in the meta-analysis
    scored = t[np.isfinite(t["emergence_score"]) & ~t["aggregate"].astype(bool)]
    if scored.empty:
        return
    jobs.append((_fig5, (scored[["metric", "emergence_score", "n_scales"]], threshold,
                         out / "fig5_scores_by_metric.png")))
    # Figure 6 analog: multiple-choice grade vs Brier for one family, same tasks.
    cur = bundle.curves
    pairs = [("multiple_choice_grade", "calibration_multiple_choice_brier_score"), ("acc", "brier_score")]
    src = cur
    if rescored is not None:
        rescored = rescored.assign(subtask=rescored.task, shots=np.nan)
        src = pd.concat([cur, rescored[cur.columns.intersection(rescored.columns)]], ignore_index=True)
        pairs.insert(0, ("multiple_choice_grade", "brier_score"))
    for a, b in pairs:
        fam = src[src.metric.isin([a, b])].groupby("family")["metric"].nunique()
        fam = fam[fam == 2]
        if fam.empty:
            continue
        family = fam.index[0]
        d = src[(src.family == family) & src.metric.isin([a, b])]
        tasks = sorted(set(d[d.metric == a].subtask) & set(d[d.metric == b].subtask))[:8]
        if not tasks:
            continue
        d = d[d.subtask.isin(tasks)][["metric", "subtask", "scale_params", "value"]]
        jobs.append((_fig6, (d, tasks, a, b, str(family), out / "fig6_mcg_vs_brier.png")))
        break
    if executor is None or (len(jobs) < 2 and pending is None):
        for fn, args in jobs:
            fn(*args)
        return
    futures = [executor.submit(fn, *args) for fn, args in jobs]
    if pending is not None:
        pending.extend(futures)
    else:
        for fut in futures:
            fut.result()


def _fig5(scored: pd.DataFrame, threshold: float, path: Path) -> None:
    import matplotlib.pyplot as plt

    from emergence_lens.report.figures import STYLE, save_figure

    metrics = scored.groupby("metric")["emergence_score"].median().sort_values().index.tolist()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(metrics) + 1.8), constrained_layout=True)
        rng = np.random.default_rng(0)
        for i, m in enumerate(metrics):
            d = scored[scored.metric == m]
            high = _is_high(d, threshold)
            ax.scatter(d.emergence_score, i + rng.uniform(-0.15, 0.15, len(d)), s=14,
                       c=np.where(high, "tab:red", "tab:blue"), alpha=0.7)
        ax.set_yticks(range(len(metrics)), [f"{m} ({metric_kind(m)})" for m in metrics])
        ax.set_xscale("symlog", linthresh=1.0)
        lo, hi = float(scored.emergence_score.min()), float(scored.emergence_score.max())
        ax.set_xlim(min(-1.0, lo * 1.6), max(1.0, hi * 1.6))
        ax.set_xlabel("emergence score (oriented: higher = improves with scale; symlog scale)")
        ax.set_title(f"Emergence score of every curve, by metric (cf. Fig. 5); red: sharpness >= {threshold:g}")
        save_figure(fig, path)


def _fig6(d: pd.DataFrame, tasks: list[str], a: str, b: str, family: str, path: Path) -> None:
    import matplotlib.pyplot as plt

    from emergence_lens.report.figures import STYLE, save_figure

    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
        cmap = plt.get_cmap("viridis")
        for ax, m in zip(axes, (a, b), strict=True):
            for i, task in enumerate(tasks):
                g = d[(d.metric == m) & (d.subtask == task)].groupby("scale_params")["value"].mean()
                ax.plot(g.index, g.values, marker="o", ms=3, color=cmap(i / max(len(tasks) - 1, 1)),
                        label=str(task))
            props = metric_properties(m)
            better = "" if props is None else (" (higher is better)" if props[2] else " (lower is better)")
            ax.set(xscale="log", xlabel="parameters (log scale)", ylabel=m.replace("_", " ") + better,
                   title=f"{family}: {m}")
            ax.legend(fontsize=6)
        fig.suptitle("Same outputs: multiple-choice grade vs Brier score (cf. Fig. 6)")
        save_figure(fig, path)


def _resolution_line(t: pd.DataFrame) -> str:
    words = t["verdict"].astype(str).str.split(" (", regex=False).str[0].str.split(":").str[0]
    counts = ", ".join(f"{k}: {int(c)}" for k, c in words.value_counts().items())
    return (f"Resolution and Wei's criterion: {int((t['metric_state'] == 'no measurable ability').sum())} curves "
            f"show no measurable ability (never clearly above chance, so never called sharp); "
            f"{int(t['wei_emergent'].fillna(False).astype(bool).sum())} are Wei-emergent (near chance at >= 2 "
            f"smaller scales, then above); {int(t['emerges_at'].notna().sum())} have an `emerges_at`. "
            f"Verdicts: {counts}.\n\n" + _uncertainty_line(t))


def _uncertainty_line(t: pd.DataFrame) -> str:
    agg = t[t["source"].astype(str) != RESCORED_SOURCE]
    if agg.empty:
        return ""
    method = agg["ci_method"].fillna("").astype(str)
    floor = pd.to_numeric(agg["noise_floor"], errors="coerce")
    res = pd.to_numeric(agg["resolution"], errors="coerce")
    return (f"Results-only curves: {int((method != '').sum())} of {len(agg)} have an emergence-score CI from a "
            f"parametric bootstrap ({int(method.str.contains('binomial').sum())} binomial from n, "
            f"{int(method.str.contains('stderr').sum())} normal from a stderr); of the {int(floor.notna().sum())} "
            f"accuracy curves held to the noise floor max(0.01, 2 x resolution), "
            f"{int((floor.notna() & res.isna()).sum())} have resolution unknown (no n or stderr: the 0.01 floor "
            f"alone; give `--n-examples TASK=N`).\n")


def _summary(t: pd.DataFrame, bundle: SourceBundle, out: Path, threshold: float) -> None:
    scored = t[np.isfinite(t["emergence_score"]) & ~t["aggregate"].astype(bool)]
    high = scored[_is_high(scored, threshold)]
    by_metric = scored.groupby("metric").agg(curves=("emergence_score", "size"),
                                             median_score=("emergence_score", "median"),
                                             high=("emergence_score", lambda s: int(_is_high(scored.loc[s.index],
                                                                                             threshold).sum())))
    share = (high["metric"].str.split("[").str[0].isin(
        ["multiple_choice_grade", "exact_str_match", "exact_match", "acc"]).mean() if len(high) else float("nan"))
    text = ["# audit\n", f"{len(bundle.files)} source files; {len(t)} curves "
            f"({len(scored)} scored); {t['family'].nunique()} famil(ies); {t['metric'].nunique()} metrics.\n",
            f"High emergence (sharpness >= {threshold:g}): {len(high)} curves from "
            f"{high['metric'].nunique()} of {scored['metric'].nunique()} metrics; share from multiple-choice "
            f"grade / exact match / accuracy: {share:.0%}.\n" if len(scored) else "No curve could be scored.\n",
            _resolution_line(t),
            "Families: " + "; ".join(f"{fam} ({', '.join(sorted(set(g['family_source'])))}, {len(g)} models)"
                                     for fam, g in bundle.models.groupby("family")) + ". Sizes: "
            + ", ".join(f"{k.split(':')[0]} {int(v)}" for k, v in bundle.models["size_source"].value_counts().items())
            + " (`models.csv`).\n" if len(bundle.models) else "",
            "## By metric\n", markdown_table(by_metric.reset_index()),
            "## Curves\n", markdown_table(t.drop(columns=["source"]).head(200))]
    if len(bundle.unresolved):
        text += ["## Models with unresolved scale (held out)\n", markdown_table(bundle.unresolved)]
    if len(bundle.issues):
        text += [f"## Input problems ({len(bundle.issues)})\n", markdown_table(bundle.issues.frame().head(100))]
    atomic_write_text(out / "summary.md", "\n".join(text))
