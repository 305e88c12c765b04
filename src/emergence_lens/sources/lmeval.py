"""lm-evaluation-harness outputs: ``results_*.json`` (old and current formats) and
``samples_<task>_<date>.jsonl`` per-sample logs.

* Old results: ``results: {task: {"acc": .., "acc_stderr": ..}}``, ``config.model_args`` a string
  such as ``"pretrained=EleutherAI/pythia-1.4b,revision=step143000"``.
* Current results: ``results: {task: {"acc,none": .., "acc_stderr,none": ..}}`` (metric, then
  filter), ``config.model_name`` / ``model_args`` (a dict), ``config.model_num_parameters``,
  ``n-samples: {task: {original, effective}}``, ``n-shot``.
* Samples: multiple-choice ``filtered_resps`` hold *stringified* ``[log_prob, is_greedy]`` pairs
  per option (parsed, never trusted); generation tasks hold text.  Re-scored here into records:
  choice log-likelihoods (-> multiple-choice grade, Brier score) or completions (-> exact match,
  token edit distance).
"""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path
from typing import Any

from emergence_lens._io import iter_jsonl
from emergence_lens.sources.issues import IssueLog

__all__ = ["read_lmeval_results", "read_lmeval_samples", "lmeval_model_info", "SAMPLES_RE"]

SAMPLES_RE = re.compile(r"^samples_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.]+)\.jsonl$")


def _as_float(value: Any) -> float | None:
    """A number from lm-eval's JSON: floats, ints, or numeric strings; None for "N/A"/NaN/other."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, str):
        try:
            v = float(value.strip())
        except ValueError:
            return None
        return v if math.isfinite(v) else None
    return None


def _model_args(config: dict[str, Any]) -> dict[str, str]:
    args = config.get("model_args")
    if isinstance(args, dict):
        return {str(k): str(v) for k, v in args.items()}
    if isinstance(args, str):
        out = {}
        for part in args.split(","):
            if "=" in part:
                k, v = part.split("=", 1)
                out[k.strip()] = v.strip()
        return out
    return {}


def lmeval_model_info(data: dict[str, Any]) -> dict[str, Any]:
    """Model name (with revision), parameter count if the file has it."""
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    args = _model_args(config)
    name = data.get("model_name") or config.get("model_name") or args.get("pretrained") or config.get("model")
    name = str(name) if name else None
    revision = args.get("revision")
    if name and revision and revision not in ("main", "None"):
        name = f"{name}@{revision}"
    params = _as_float(config.get("model_num_parameters"))
    return {"model": name, "scale_params": params if params and params > 0 else None}


def read_lmeval_results(path: str | Path, issues: IssueLog) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Curve rows ``{model, task, metric, value, stderr, n_examples, shots, higher_is_better}``
    from one results file, and the model info."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        issues.add(p, exc.lineno, None, f"not valid JSON ({exc.msg}); file skipped", "error")
        return [], {"model": None, "scale_params": None}
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        issues.add(p, None, "results", "missing or not an object; file skipped", "error")
        return [], {"model": None, "scale_params": None}
    info = lmeval_model_info(data)
    if info["model"] is None:
        issues.add(p, None, "config.model_name", "no model name (config.model_name / model_args pretrained=)")
    n_samples = data.get("n-samples") if isinstance(data.get("n-samples"), dict) else {}
    n_shot = data.get("n-shot") if isinstance(data.get("n-shot"), dict) else {}
    hib = data.get("higher_is_better") if isinstance(data.get("higher_is_better"), dict) else {}
    old_shots = (data.get("config") or {}).get("num_fewshot") if isinstance(data.get("config"), dict) else None
    rows = []
    for task, metrics in data["results"].items():
        if not isinstance(metrics, dict):
            issues.add(p, None, f"results.{task}", "not an object; task skipped")
            continue
        n = n_samples.get(task, {}).get("effective") if isinstance(n_samples.get(task), dict) else None
        for key, raw in metrics.items():
            if key in ("alias", "name", "sample_len", "samples") or "_stderr" in key:
                continue
            metric, _, filt = key.partition(",")
            value = _as_float(raw)
            if value is None:
                if raw not in ("N/A", None):
                    issues.add(p, None, f"results.{task}.{key}", f"value {raw!r} is not a finite number; skipped")
                continue
            stderr_key = f"{metric}_stderr,{filt}" if filt else f"{metric}_stderr"
            name = metric if filt in ("", "none") else f"{metric}[{filt}]"
            better = hib.get(task, {}).get(metric) if isinstance(hib.get(task), dict) else None
            rows.append({"model": info["model"], "task": str(task), "metric": name, "value": value,
                         "stderr": _as_float(metrics.get(stderr_key)), "n_examples": _as_float(n),
                         "shots": _as_float(n_shot.get(task, old_shots)),
                         "higher_is_better": better if isinstance(better, bool) else None,
                         "source": str(p)})
    return rows, info


def _pair(item: Any) -> tuple[float, bool] | None:
    """``["-1.23", "False"]`` / ``[-1.23, false]`` / ``"(-1.23, False)"`` -> (-1.23, False)."""
    if isinstance(item, str):
        try:
            item = ast.literal_eval(item)
        except (ValueError, SyntaxError):
            return None
    if isinstance(item, (list, tuple)) and len(item) == 2:
        lp = _as_float(item[0])
        greedy = item[1]
        if isinstance(greedy, str):
            greedy = greedy.strip() == "True"
        if lp is not None or (isinstance(item[0], str) and item[0].strip() == "-inf"):
            return (lp if lp is not None else -math.inf, bool(greedy))
    return None


def read_lmeval_samples(path: str | Path, model: dict[str, Any], issues: IssueLog,
                        task: str | None = None) -> list[dict[str, Any]]:
    """Record rows (without family/scale) from a samples file; bad lines are reported and skipped."""
    p = Path(path)
    m = SAMPLES_RE.match(p.name)
    task = task or (m.group("task") if m else p.stem)
    rows: list[dict[str, Any]] = []
    for lineno, obj in iter_jsonl(p):
        if isinstance(obj, json.JSONDecodeError):
            issues.add(p, lineno, None, f"not valid JSON ({obj.msg}); line skipped")
            continue
        if not isinstance(obj, dict):
            issues.add(p, lineno, None, "not a JSON object; line skipped")
            continue
        resps = obj.get("filtered_resps", obj.get("resps"))
        if resps is None:
            issues.add(p, lineno, "filtered_resps", "missing; line skipped")
            continue
        doc_id = obj.get("doc_id", lineno - 1)
        target = obj.get("target")
        row: dict[str, Any] = {"model": model.get("model"), "task": task, "example_id": str(doc_id)}
        # `resps` nests each option's pair one level deeper ([[[lp, greedy]], ...]) than `filtered_resps`
        pairs = [_pair(r[0] if isinstance(r, list) and len(r) == 1 and isinstance(r[0], list) else r)
                 for r in resps] if isinstance(resps, list) else []
        if len(pairs) >= 2 and all(x is not None for x in pairs):
            correct = _as_float(target)
            if correct is None or int(correct) != correct or not 0 <= correct < len(pairs):
                # target given as the gold text: find it among the continuations
                conts = [a.get("arg_1") for a in (obj.get("arguments") or {}).values() if isinstance(a, dict)]
                tgt = target[0] if isinstance(target, list) and target else target
                match = [i for i, c in enumerate(conts) if isinstance(c, str) and isinstance(tgt, str)
                         and c.strip() == tgt.strip()]
                if len(match) != 1:
                    issues.add(p, lineno, "target", f"gold option {target!r} not found among {len(pairs)} "
                               "options; line skipped")
                    continue
                correct = match[0]
            row.update(choice_logprobs=[lp for lp, _ in pairs], correct_choice=int(correct),
                       target=None, prediction=None)
        elif isinstance(resps, list) and resps and isinstance(resps[0], str):
            tgt = target[0] if isinstance(target, list) and target else target
            if not isinstance(tgt, (str, int, float)):
                issues.add(p, lineno, "target", f"unusable target {target!r}; line skipped")
                continue
            row.update(target=str(tgt), prediction=resps[0], choice_logprobs=None, correct_choice=None)
        elif len(pairs) == 1 and pairs[0] is not None:
            issues.add(p, lineno, "filtered_resps", "single-continuation log-likelihood: no per-token "
                       "log-probs to re-score; kept only in the results file's values")
            continue
        else:
            issues.add(p, lineno, "filtered_resps", f"unrecognised response {str(resps)[:80]!r}; line skipped")
            continue
        rows.append(row)
    return rows
