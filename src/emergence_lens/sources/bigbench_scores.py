"""BIG-bench per-model score files: ``results/scores_<family>_<model>.json``.

They are not in the PyPI release; get them from a clone of google/BIG-bench::

    git clone --depth 1 https://github.com/google/BIG-bench
    emergence-lens audit BIG-bench/bigbench/benchmark_tasks --out audit/

Schema: ``model: {model_family, model_name, total_params, non_embedding_params,
flop_matched_non_embedding_params, ...}``, ``scores: [{score_dict, preferred_score,
number_of_shots, subtask_description, low_score, high_score}]``.  The task is the directory
above ``results/``; the subtask is ``subtask_description``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from emergence_lens.sources.issues import IssueLog
from emergence_lens.sources.location import as_location

__all__ = ["read_bigbench_scores", "bigbench_rows_in", "BIGBENCH_SCALE_KEYS"]

BIGBENCH_SCALE_KEYS = ("non_embedding_params", "total_params", "flop_matched_non_embedding_params")


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)) and math.isfinite(v):
        return float(v)
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def bigbench_rows_in(data: Any) -> int:
    """Input rows of a score file: one per (entry, metric); an entry without a score dict is one."""
    scores = data.get("scores") if isinstance(data, dict) else None
    if not isinstance(scores, list):
        return 0
    return sum(len(e["score_dict"]) if isinstance(e, dict) and isinstance(e.get("score_dict"), dict) else 1
               for e in scores)


def _text(value: Any, path: Any, field: str, issues: IssueLog, instead: str) -> str | None:
    """A text field as text; a value of another type is reported (expected vs found) and ``None``
    returned, so the caller falls back to ``instead`` — never ``str(True)`` as a family."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        issues.add(path, None, field, f"expected text, found the number {value!r}; read as the name '{value}'")
        return str(value)
    issues.add(path, None, field, f"expected text, found {str(value)[:40]!r}; {instead}")
    return None


def read_bigbench_scores(path: str | Path, issues: IssueLog,
                         scale_key: str = "non_embedding_params", data: Any = None) -> list[dict[str, Any]]:
    """Curve rows from one score file (one per score entry x metric in its ``score_dict``);
    ``data``: the parsed file, when the caller has read it already."""
    if scale_key not in BIGBENCH_SCALE_KEYS:
        raise ValueError(f"scale_key must be one of {BIGBENCH_SCALE_KEYS}")
    p = as_location(path)
    if data is None:
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            issues.add(p, exc.lineno, None, f"not valid JSON ({exc.msg}); file skipped", "error")
            return []
    model = data.get("model") if isinstance(data, dict) else None
    scores = data.get("scores") if isinstance(data, dict) else None
    if not isinstance(model, dict) or not isinstance(scores, list):
        issues.add(p, None, "model" if not isinstance(model, dict) else "scores", "missing; file skipped", "error",
                   rows=bigbench_rows_in(data))
        return []
    name = _text(model.get("model_name"), p, "model.model_name", issues, "treated as missing")
    family = _text(model.get("model_family"), p, "model.model_family", issues, "the family comes from the name or the "
                   "input folder")
    scale = _num(model.get(scale_key))
    if scale is None:
        issues.add(p, None, f"model.{scale_key}", f"{model.get(scale_key)!r} is not a number; scale from name/map")
    task = p.parent.parent.name if p.parent.name == "results" else p.parent.name
    rows = []
    for i, entry in enumerate(scores):
        if not isinstance(entry, dict) or not isinstance(entry.get("score_dict"), dict):
            issues.add(p, None, f"scores[{i}].score_dict", "missing; entry skipped", rows=1)
            continue
        sub = _text(entry.get("subtask_description"), p, f"scores[{i}].subtask_description", issues,
                    f"the task {task!r} used") or task
        raw_shots = entry.get("number_of_shots")
        shots = _num(raw_shots)
        if raw_shots is not None and shots is None:
            issues.add(p, None, f"scores[{i}].number_of_shots", f"expected a number, found {str(raw_shots)[:40]!r}; "
                       "shots unknown")
        for metric, raw in entry["score_dict"].items():
            value = _num(raw)
            if value is None:
                issues.add(p, None, f"scores[{i}].score_dict.{metric}", f"{raw!r} is not a finite number; skipped",
                           rows=1)
                continue
            rows.append({"model": str(name) if name else None, "family": str(family) if family else None,
                         "scale_params": scale, "scale_flops": None, "task": task, "subtask": str(sub),
                         "shots": shots, "metric": str(metric), "value": value,
                         "preferred": metric == entry.get("preferred_score"), "source": str(p)})
    return rows
