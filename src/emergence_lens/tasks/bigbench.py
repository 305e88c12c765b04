"""BIG-bench JSON tasks: ``task.json`` with ``examples[].input / target / target_scores``.

A task directory may hold subtasks (``arithmetic/2_digit_multiplication/task.json``);
:func:`load_bigbench_task` reads one file, :func:`load_bigbench_dir` every ``task.json`` with
examples below a directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from emergence_lens.tasks.example import TaskExample, TaskFormatError

__all__ = ["load_bigbench_task", "load_bigbench_dir"]


def _target(ex: dict[str, Any], where: str) -> str:
    target = ex.get("target")
    if isinstance(target, list):
        if not target or not all(isinstance(t, str) for t in target):
            raise TaskFormatError(f"{where}, key 'target': expected a non-empty list of strings")
        return target[0]
    if isinstance(target, str):
        return target
    scores = ex.get("target_scores")
    if isinstance(scores, dict) and scores:
        return max(scores, key=lambda k: scores[k])
    raise TaskFormatError(f"{where}: needs 'target' (string or list) or 'target_scores'")


def load_bigbench_task(path: str | os.PathLike[str], task: str | None = None) -> list[TaskExample]:
    """Read one BIG-bench ``task.json``.

    Multiple-choice ``target_scores`` become ``choices`` (file order) with ``correct_choice`` the
    option of highest score.  Raises :class:`TaskFormatError` naming file, example index and key.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TaskFormatError(f"{p}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("examples"), list):
        raise TaskFormatError(f"{p}: missing list key 'examples'")
    name = task or str(data.get("name") or p.parent.name)
    prefix = data.get("example_input_prefix", "")
    out = []
    for i, ex in enumerate(data["examples"]):
        where = f"{p}, example {i}"
        if not isinstance(ex, dict) or not isinstance(ex.get("input"), str):
            raise TaskFormatError(f"{where}: missing string key 'input'")
        target = _target(ex, where)
        choices = correct = None
        scores = ex.get("target_scores")
        if scores is not None:
            if not isinstance(scores, dict) or not scores:
                raise TaskFormatError(f"{where}, key 'target_scores': expected a non-empty object")
            bad = [k for k, v in scores.items() if not isinstance(v, (int, float)) or isinstance(v, bool)]
            if bad:
                raise TaskFormatError(f"{where}, key 'target_scores': non-numeric score for {bad[0]!r}")
            choices = tuple(scores)
            correct = max(range(len(choices)), key=lambda j: scores[choices[j]])
        out.append(TaskExample(name, str(i), prefix + ex["input"], target, choices, correct))
    return out


def load_bigbench_dir(root: str | os.PathLike[str]) -> dict[str, list[TaskExample]]:
    """Every ``task.json`` below ``root`` that has examples, keyed by task name (sorted)."""
    result: dict[str, list[TaskExample]] = {}
    for path in sorted(Path(root).rglob("task.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "examples" in data:
            examples = load_bigbench_task(path)
            result[examples[0].task if examples else path.parent.name] = examples
    return result
