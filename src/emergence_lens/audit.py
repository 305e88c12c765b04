"""The meta-analysis (paper Figs. 5-6): an emergence score for every curve of any source.

Curves are (family, task, subtask, shots, metric) across model scale.  Each gets the emergence
score (oriented so that higher is better where the metric's direction is known) and, where the
source has per-sample logs (lm-eval samples), a bootstrap CI from re-scoring them under our
metrics.  Each curve gets a verdict: its sharpness state, and where a smooth partner metric was
measured on the same outputs, the comparison (``metric artifact``, ``persists``, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emergence_lens._io import atomic_write_text
from emergence_lens.analysis import write_csv
from emergence_lens.curves import compute_curves
from emergence_lens.emergence import DEFAULT_THRESHOLD, classify_sharpness, emergence_scores, emergence_table
from emergence_lens.emergence.score import MIN_POINTS
from emergence_lens.report import markdown_table
from emergence_lens.sources import SourceBundle
from emergence_lens.sources.metric_kinds import AUDIT_PARTNERS, metric_kind, metric_properties

__all__ = ["curve_scores", "audit", "AUDIT_COLUMNS"]

AUDIT_COLUMNS = ["family", "task", "subtask", "shots", "metric", "metric_kind", "n_scales", "scale_min",
                 "scale_max", "emergence_score", "ci_low", "ci_high", "verdict", "source"]
KEYS = ["family", "task", "subtask", "shots", "metric"]


def curve_scores(curves: pd.DataFrame) -> pd.DataFrame:
    """Emergence score of every curve, vectorised by curve length (no Python loop over curves).

    Repeated scales within a curve are averaged (the same model reported twice); curves with
    fewer than 3 scales get NaN and a status saying so.
    """
    df = curves.copy()
    df["shots"] = df["shots"].fillna(-1)
    props = {m: metric_properties(m) for m in df["metric"].unique()}
    sign = df["metric"].map(lambda m: -1.0 if props[m] is not None and not props[m][2] else 1.0)
    hib_col = df["higher_is_better"] if "higher_is_better" in df else pd.Series(None, index=df.index)
    sign = np.where(hib_col.astype(object) == False, -1.0, np.where(hib_col.astype(object) == True, 1.0, sign))  # noqa: E712
    df["_y"] = df["value"].to_numpy(float) * sign
    g = df.groupby(KEYS + ["scale_params"], sort=True, dropna=False).agg(
        _y=("_y", "mean"), source=("source", "first")).reset_index()
    gid = g.groupby(KEYS, sort=False, dropna=False).ngroup().to_numpy()
    order = np.lexsort((g["scale_params"].to_numpy(), gid))
    g = g.iloc[order].reset_index(drop=True)
    gid = gid[order]
    starts = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]])
    lengths = np.diff(np.r_[starts, len(g)])
    y = g["_y"].to_numpy()
    scores = np.full(len(starts), np.nan)
    for n in np.unique(lengths):
        if n < MIN_POINTS:
            continue
        sel = np.flatnonzero(lengths == n)
        Y = y[starts[sel][:, None] + np.arange(n)[None, :]]
        scores[sel] = emergence_scores(Y)
    first = g.iloc[starts]
    out = first[KEYS + ["source"]].reset_index(drop=True)
    out["n_scales"] = lengths
    out["scale_min"] = g["scale_params"].to_numpy()[starts]
    out["scale_max"] = g["scale_params"].to_numpy()[starts + lengths - 1]
    out["emergence_score"] = scores
    out["status"] = np.where(lengths < MIN_POINTS, f"fewer than {MIN_POINTS} scales", "ok")
    out["shots"] = out["shots"].replace(-1, np.nan)
    return out


def _verdicts(table: pd.DataFrame, threshold: float) -> list[str]:
    states = [classify_sharpness(s, lo, hi, n, threshold) for s, lo, hi, n in
              zip(table.emergence_score, table.ci_low, table.ci_high, table.n_scales, strict=True)]
    index = {k: st for k, st in zip(map(tuple, table[KEYS].astype(str).to_numpy()), states, strict=True)}
    out = []
    for row, state in zip(table[KEYS].astype(str).to_numpy(), states, strict=True):
        base = row[-1].split("[", 1)[0]
        partner_states = [(p, index.get((*row[:-1], p))) for p in AUDIT_PARTNERS.get(base, ())]
        partner_states = [(p, s) for p, s in partner_states if s]
        if state == "not scored":
            out.append("not scored")
        elif partner_states:
            p, s = partner_states[0]
            if state == "sharp" and s == "smooth":
                out.append(f"metric artifact (smooth under {p})")
            elif state == "sharp" and s == "sharp":
                out.append(f"persists (sharp under {p} too)")
            else:
                out.append(f"{state}; {p} {s}")
        else:
            out.append(state)
    return out


def audit(bundle: SourceBundle, out: str | Path, *, n_boot: int = 1000, seed: int = 0,
          threshold: float = DEFAULT_THRESHOLD, high: float | None = None) -> pd.DataFrame:
    """Write ``audit.csv``, ``fig5_scores_by_metric.png``, ``fig6_mcg_vs_brier.png`` (when a family
    has both), ``issues.csv``, ``unresolved.csv`` and ``summary.md`` into ``out``.

    ``high``: emergence score counted as "high" in the Figure 5 summary (default: the sharpness
    threshold times (n_scales - 1) of each curve).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    rescored = None
    if len(bundle.curves):
        cs = curve_scores(bundle.curves)
        cs["ci_low"] = np.nan
        cs["ci_high"] = np.nan
        parts.append(cs)
    if bundle.records is not None and len(bundle.records):
        rc = compute_curves(bundle.records, n_boot=n_boot, seed=seed)
        em = emergence_table(rc.table, rc.replicates)
        em = em.assign(subtask=em["task"], shots=np.nan, source="lm-eval samples (re-scored)")
        parts.append(em[KEYS + ["source", "n_scales", "scale_min", "scale_max", "emergence_score", "ci_low",
                                "ci_high", "status"]])
        rescored = rc.table
        write_csv(rescored, out / "rescored_curves.csv")
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=AUDIT_COLUMNS)
    table["metric_kind"] = table["metric"].map(metric_kind)
    table["verdict"] = _verdicts(table, threshold) if len(table) else []
    table.loc[table["status"] != "ok", "verdict"] = "not scored: " + table["status"]
    result = table[AUDIT_COLUMNS].sort_values(["family", "task", "subtask", "metric"], kind="stable")
    write_csv(result, out / "audit.csv")
    write_csv(bundle.issues.frame(), out / "issues.csv")
    write_csv(bundle.unresolved, out / "unresolved.csv")
    _figures(result, bundle, rescored, out, threshold)
    _summary(result, bundle, out, threshold)
    return result


def _is_high(t: pd.DataFrame, threshold: float) -> pd.Series:
    return (t["emergence_score"] / (t["n_scales"] - 1)) >= threshold


def _figures(t: pd.DataFrame, bundle: SourceBundle, rescored: pd.DataFrame | None, out: Path,
             threshold: float) -> None:
    import matplotlib.pyplot as plt

    from emergence_lens.report.figures import _STYLE, save_figure

    scored = t[np.isfinite(t["emergence_score"])]
    if scored.empty:
        return
    metrics = scored.groupby("metric")["emergence_score"].median().sort_values().index.tolist()
    with plt.rc_context(_STYLE):
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
        save_figure(fig, out / "fig5_scores_by_metric.png")
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
        with plt.rc_context(_STYLE):
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
            save_figure(fig, out / "fig6_mcg_vs_brier.png")
        break


def _summary(t: pd.DataFrame, bundle: SourceBundle, out: Path, threshold: float) -> None:
    scored = t[np.isfinite(t["emergence_score"])]
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
            "## By metric\n", markdown_table(by_metric.reset_index()),
            "## Curves\n", markdown_table(t.drop(columns=["source"]).head(200))]
    if len(bundle.unresolved):
        text += ["## Models with unresolved scale (held out)\n", markdown_table(bundle.unresolved)]
    if len(bundle.issues):
        text += [f"## Input problems ({len(bundle.issues)})\n", markdown_table(bundle.issues.frame().head(100))]
    atomic_write_text(out / "summary.md", "\n".join(text))
