"""The audit's statistics for results-only curves (paper Figs. 5-6): curves read from results files
and tables — one value per model, with ``n`` or a stderr where the source gives one — have no
per-example data to resample.  Each gets its emergence score with a parametric-bootstrap CI
(binomial from ``n``, normal from a stderr), the resolution of its points, a noise floor, Wei's
criterion against chance, its sharpness state and a verdict; where the same family reports an
aggregate ingredient (per-token accuracy beside exact match), the sharp curve is tested against the
metric's transform of it (flagged ``approximate``).

Curves with per-example records are scored by :mod:`emergence_lens.scoring` instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from emergence_lens.emergence import (
    DEFAULT_THRESHOLD,
    Explanation,
    classify_sharpness,
    clopper_pearson,
    emergence_scores,
    explain_aggregate,
    x_column,
    x_position,
)
from emergence_lens.emergence.paired import orient
from emergence_lens.emergence.parametric import curve_score_ci, parametric_replicates
from emergence_lens.emergence.resolution import MIN_EFFECT, resolution_limit
from emergence_lens.emergence.score import MIN_POINTS
from emergence_lens.emergence.transforms import AGGREGATE_INGREDIENTS
from emergence_lens.emergence.verdict import decide, verdict_frame
from emergence_lens.metrics.reported import (
    AUDIT_PARTNERS,
    CHOICE_ACCURACY,
    GENERATION_ACCURACY,
    SCALED_SCORES,
    VALUE_RANGES,
    is_log_scale,
    metric_properties,
)
from emergence_lens.sources.sample_size import BINOMIAL_METRICS

__all__ = ["curve_scores", "results_only", "AUDIT_COLUMNS", "KEYS", "RESCORED_SOURCE"]


AUDIT_COLUMNS = ["family", "task", "subtask", "shots", "metric", "metric_kind", "n_scales", "scale_min",
                 "scale_max", "emergence_score", "ci_low", "ci_high", "ci_method", "resolution", "noise_floor",
                 "metric_state", "chance", "emerges_at", "wei_emergent", "aggregate", "verdict", "source"]
KEYS = ["family", "task", "subtask", "shots", "metric"]
#: ``source`` of the curves re-scored from per-sample logs (lm-eval samples, Inspect logs).
RESCORED_SOURCE = "per-sample logs (re-scored)"


def _orientation(metric: pd.Series, hib_col: pd.Series | None) -> tuple[np.ndarray, np.ndarray]:
    """Per row: whether higher is better (the file's own ``higher_is_better`` first, else the
    metric's properties) and whether the metric is scored on log10."""
    props = {m: metric_properties(m) for m in metric.unique()}
    logs = {m: is_log_scale(m) for m in metric.unique()}
    hib = metric.map(lambda m: props[m] is None or bool(props[m].higher_is_better)).to_numpy(dtype=bool)
    if hib_col is not None:
        h = hib_col.astype(object)
        hib = np.where(h == False, False, np.where(h == True, True, hib))  # noqa: E712
    return hib.astype(bool), metric.map(logs).to_numpy(dtype=bool)


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
    hib, log = _orientation(df["metric"], df["higher_is_better"] if "higher_is_better" in df else None)
    df["_hib"] = hib
    df["_log"] = log
    df["_y"] = orient(df["value"].to_numpy(float), hib, log)
    df["_v"] = df["value"].to_numpy(float)
    df["_n"] = pd.to_numeric(df["n_examples"], errors="coerce") if "n_examples" in df else np.nan
    df["_se"] = pd.to_numeric(df["stderr"], errors="coerce") if "stderr" in df else np.nan
    missing_x = df["_pos"].isna()
    if "aggregate" not in df:
        df["aggregate"] = False
    df["aggregate"] = df["aggregate"].fillna(False).astype(bool)
    g = df[~missing_x].groupby(KEYS + ["_pos"], sort=True, dropna=False).agg(
        _y=("_y", "mean"), _v=("_v", "mean"), _n=("_n", "min"), _se=("_se", "mean"), _x=(xcol, "first"),
        _hib=("_hib", "first"), _log=("_log", "first"),
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
    hib = g["_hib"].to_numpy(dtype=bool)
    log = g["_log"].to_numpy(dtype=bool)
    rng = np.random.default_rng(seed)
    for k in np.unique(lengths[every]):
        sel = np.flatnonzero(every & (lengths == k))
        per_chunk = max(1, _CHUNK_VALUES // (n_boot * int(k)))
        for c0 in range(0, len(sel), per_chunk):
            chunk = sel[c0:c0 + per_chunk]
            idx = (starts[chunk][:, None] + np.arange(k)[None, :]).ravel()
            reps = parametric_replicates(v[idx], n[idx], se[idx], by_n[idx], n_boot, rng)
            y = orient(reps, hib[idx][None, :], log[idx][None, :]).reshape(n_boot * len(chunk), int(k))
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
    # BLEU, ROUGE, chrF, F1: a point of their own scale (1 on 0-100, 0.01 on 0-1) is the floor
    scaled = np.isin(base, list(SCALED_SCORES)) & ~acc_curve
    top = np.maximum.reduceat(np.where(np.isfinite(v), v, -np.inf), starts)
    floor = np.where(scaled, np.where(top > 1.0, 1.0, MIN_EFFECT), floor)
    below_floor = (acc_curve | scaled) & (rise < floor)
    unresolved = applies & ~any_above & ~below_floor
    measurable = ~(below_floor | unresolved)
    reason = np.full(n_curves, "", dtype=object)
    for i in np.flatnonzero(below_floor):
        how = (("1 point on its 0-100 scale" if floor[i] == 1.0 else f"{MIN_EFFECT:g} on its 0-1 scale")
               if scaled[i] else
               f"max of {MIN_EFFECT:g} and 2x the resolution limit {resolution[i]:.3g} of {int(n_min[i])} examples"
               if known[i] else f"{MIN_EFFECT:g}; resolution unknown: no n or stderr")
        above_what = f"chance {c[i]:.3g}" if np.isfinite(c[i]) else "0 (chance unknown)"
        reason[i] = (f"never above the noise floor: largest rise above {above_what} is {rise[i]:.3g}, below "
                     f"{floor[i]:.3g} ({how})")
    reason[unresolved] = f"no point's {confidence:.0%} CI lower bound is above chance"
    return {"chance": c, "emerges_at": emerges, "wei_emergent": wei, "measurable": measurable,
            "measurable_reason": reason, "resolution": resolution,
            "noise_floor": np.where(acc_curve | scaled, floor, np.nan)}


def _states(table: pd.DataFrame, threshold: float) -> list[str]:
    states = []
    for s, lo, hi, n, meas in zip(table.emergence_score, table.ci_low, table.ci_high, table.n_scales,
                                  table.measurable, strict=True):
        st = classify_sharpness(s, lo, hi, n, threshold)
        if st != "not scored" and not bool(meas):
            st = "no measurable ability"
        states.append(st)
    return states


def _aggregate_explanations(curves: pd.DataFrame, table: pd.DataFrame, x_axis: str,
                            confidence: float = 0.95) -> dict[tuple, Explanation]:
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
                               ingredient_name=f"{ing} (aggregate)", n=j.n.to_numpy(float), confidence=confidence)
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



def results_only(curves: pd.DataFrame, *, x_axis: str = "params", chance: Mapping[str, float] | None = None,
                 n_boot: int = 1000, seed: int = 0, threshold: float = DEFAULT_THRESHOLD, confidence: float = 0.95
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The audit of results-only curves (no per-example data): their rows of ``audit.csv`` (emergence
    score with a parametric CI, resolution, noise floor, Wei's criterion, state, verdict) and their
    rows of ``verdicts.csv`` (``approximate``: what their aggregates allow, the explanation by the
    metric's transform of an aggregate ingredient where one was measured)."""
    cs = curve_scores(curves, x_axis=x_axis, chance=chance, n_boot=n_boot, seed=seed, confidence=confidence)
    cs["metric_state"] = _states(cs, threshold)
    agg_ex = _aggregate_explanations(curves, cs, x_axis, confidence)
    cs["verdict"] = _verdicts(cs, agg_ex)
    ex_of = [agg_ex.get((r.family, r.task, r.subtask, r.shots if not pd.isna(r.shots) else None, r.metric))
             for r in cs[KEYS].itertuples(index=False)]
    verdicts = verdict_frame({
        "family": cs["family"], "task": cs["subtask"], "metric": cs["metric"],
        "x_axis": x_axis, "n_scales": cs["n_scales"], "metric_score": cs["emergence_score"],
        "metric_ci_low": cs["ci_low"], "metric_ci_high": cs["ci_high"], "metric_state": cs["metric_state"],
        "explained": ["" if e is None else ("explained" if e.explained else "beyond") for e in ex_of],
        "ingredient": ["" if e is None else e.ingredient for e in ex_of], "approximate": True,
        "max_departure": [np.nan if e is None else e.max_departure for e in ex_of],
        "departs_at": ["" if e is None else ";".join(f"{x:.6g}" for x, _, _ in sorted(e.departures)) for e in ex_of],
        "emerges_at": cs["emerges_at"],
        "wei_emergent": cs["wei_emergent"], "chance": cs["chance"], "verdict": cs["verdict"],
        "explanation": "results only (no per-example data): " + cs["verdict"].astype(str)
        + np.where(cs["measurable_reason"].astype(str) != "", "; " + cs["measurable_reason"].astype(str), "")
        + np.array(["" if e is None else "; " + e.text() for e in ex_of], dtype=object)})
    return cs, verdicts
