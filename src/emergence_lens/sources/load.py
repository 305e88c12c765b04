"""Load any mix of supported sources (files or directories) into one tidy curve table plus,
where per-sample logs exist, records for bootstrap CIs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from emergence_lens.records import RecordsError, validate_records
from emergence_lens.sources.bigbench_scores import read_bigbench_scores
from emergence_lens.sources.issues import IssueLog
from emergence_lens.sources.lmeval import SAMPLES_RE, read_lmeval_results, read_lmeval_samples
from emergence_lens.sources.scale import infer_family, model_basename, parse_scale
from emergence_lens.sources.tables import read_table

__all__ = ["SourceBundle", "load_sources", "CURVE_ROW_COLUMNS"]

CURVE_ROW_COLUMNS = ["family", "model", "scale_params", "scale_source", "scale_flops", "task", "subtask",
                     "shots", "metric", "value", "n_examples", "higher_is_better", "source"]


@dataclass
class SourceBundle:
    """Attributes:
        curves: one row per (model, task, subtask, shots, metric) value, :data:`CURVE_ROW_COLUMNS`.
        records: per-example records re-scored from lm-eval samples (``None`` if there were none).
        issues: every problem met, with file, line and key.
        unresolved: models whose scale could not be resolved (their rows are held out, listed here).
    """

    curves: pd.DataFrame
    records: pd.DataFrame | None
    issues: IssueLog
    unresolved: pd.DataFrame
    files: list[str] = field(default_factory=list)


def _kind(p: Path) -> str | None:
    n = p.name
    if n.startswith("results") and n.endswith(".json"):
        return "lmeval_results"
    if SAMPLES_RE.match(n):
        return "lmeval_samples"
    if n.startswith("scores_") and n.endswith(".json"):
        return "bigbench_scores"
    if p.suffix in (".csv", ".parquet") and not n.startswith("."):
        return "table"
    return None


def _expand(paths: Iterable[str | Path], issues: IssueLog) -> list[tuple[Path, str]]:
    out = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            issues.add(p, None, None, "path does not exist", "error")
            continue
        candidates = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for q in candidates:
            k = _kind(q)
            if k:
                out.append((q, k))
            elif not p.is_dir():
                issues.add(q, None, None, "not a recognised source (results_*.json, samples_*.jsonl, "
                           "scores_*.json, .csv, .parquet); skipped", "error")
    return out


def load_sources(paths: Iterable[str | Path], *, scale_map: Mapping[str, Mapping[str, Any]] | None = None,
                 family: str | None = None, bigbench_scale: str = "non_embedding_params") -> SourceBundle:
    """Read every supported file under ``paths``.

    Args:
        scale_map: ``{model: {"scale_params": .., "family": ..}}`` (see :func:`load_scale_map`),
            consulted when neither the file nor the model name gives a scale.
        family: force one family name for every model.
        bigbench_scale: which BIG-bench parameter count is the scale.
    """
    issues = IssueLog()
    scale_map = dict(scale_map or {})
    files = _expand(paths, issues)
    rows: list[dict[str, Any]] = []
    sample_rows: list[dict[str, Any]] = []
    dir_info: dict[Path, dict[str, Any]] = {}
    for path, kind in files:
        if kind == "lmeval_results":
            r, info = read_lmeval_results(path, issues)
            rows += r
            if info.get("model"):
                dir_info[path.parent] = info  # sorted order: the latest results file wins
        elif kind == "bigbench_scores":
            rows += read_bigbench_scores(path, issues, bigbench_scale)
        elif kind == "table":
            rows += read_table(path, issues)
    latest: dict[tuple[Path, str], Path] = {}
    for path, kind in files:
        if kind == "lmeval_samples":
            task = SAMPLES_RE.match(path.name).group("task")  # type: ignore[union-attr]
            key = (path.parent, task)
            if key in latest:
                issues.add(latest[key], None, None, f"superseded by the later {path.name}; not used")
            latest[key] = path
    for (directory, _task), path in sorted(latest.items()):
        info = dir_info.get(directory)
        if info is None:
            info = {"model": directory.name, "scale_params": None}
            issues.add(path, None, None, f"no results_*.json beside it; model name taken from the folder "
                       f"{directory.name!r}")
        for r in read_lmeval_samples(path, info, issues):
            r["_file_scale"] = info.get("scale_params")
            sample_rows.append(r)

    def resolve(model: str | None, file_scale: float | None, fam: str | None) -> tuple[float | None, str, str]:
        entry = scale_map.get(model or "") or scale_map.get(model_basename(model or "")) or {}
        fam_out = family or entry.get("family") or fam or infer_family(model or "unknown")
        if file_scale and file_scale > 0:
            return file_scale, "file", str(fam_out)
        parsed = parse_scale(model or "")
        if parsed:
            return parsed, "name", str(fam_out)
        if "scale_params" in entry:
            return float(entry["scale_params"]), "map", str(fam_out)
        return None, "unresolved", str(fam_out)

    curves = pd.DataFrame(rows)
    unresolved: list[dict[str, Any]] = []
    if len(curves):
        for col in CURVE_ROW_COLUMNS:
            if col not in curves:
                curves[col] = None
        if "scale_params" not in curves or curves["scale_params"].isna().all():
            curves["scale_params"] = None
        # results files carry their scale in the model info; tables/BIG-bench in the row
        info_scale = {i["model"]: i["scale_params"] for i in dir_info.values() if i.get("model")}
        resolved = [resolve(m, s if pd.notna(s) else info_scale.get(m), f if isinstance(f, str) else None)
                    for m, s, f in zip(curves["model"], curves["scale_params"], curves["family"], strict=True)]
        curves["scale_params"] = [r[0] for r in resolved]
        curves["scale_source"] = [r[1] for r in resolved]
        curves["family"] = [r[2] for r in resolved]
        curves["subtask"] = curves["subtask"].where(curves["subtask"].notna(), curves["task"])
        curves["shots"] = curves["shots"].astype(float)
        bad = curves["scale_params"].isna() | curves["model"].isna()
        for (model, src), g in curves[bad].groupby([curves["model"].fillna("<none>"), "source"]):
            unresolved.append({"model": model, "source": src, "rows": len(g),
                               "reason": "no parameter count in the file, none in the name, not in the scale map"})
        curves = curves[~bad].reset_index(drop=True)[CURVE_ROW_COLUMNS]
    else:
        curves = pd.DataFrame(columns=CURVE_ROW_COLUMNS)

    records = None
    if sample_rows:
        sr = pd.DataFrame(sample_rows)
        res = [resolve(m, s, None) for m, s in zip(sr["model"], sr["_file_scale"], strict=True)]
        sr["scale_params"] = [r[0] for r in res]
        sr["family"] = [r[2] for r in res]
        bad = sr["scale_params"].isna()
        for model, g in sr[bad].groupby("model"):
            unresolved.append({"model": model, "source": "samples", "rows": len(g),
                               "reason": "no parameter count in the results file, name or scale map"})
        sr = sr[~bad].drop(columns=["_file_scale"])
        try:
            records = validate_records(sr, source="lm-eval samples").to_pandas()
            records["correct_choice"] = records["correct_choice"].astype("Int64")
        except RecordsError as exc:
            issues.add(exc.source, exc.row, exc.column, f"samples could not form records: {exc}", "error")
    return SourceBundle(curves, records, issues,
                        pd.DataFrame(unresolved, columns=["model", "source", "rows", "reason"]),
                        [str(p) for p, _ in files])
