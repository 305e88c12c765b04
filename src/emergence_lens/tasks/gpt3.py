"""GPT-3 arithmetic test sets: JSON Lines of ``{"context": ..., "completion": ...}``.

These are the sets of Brown et al. (2020) that Schaeffer et al. (2023, Fig. 3-4) re-scored,
e.g. ``{"context": "\\n\\nQ: What is 95 times 45?\\n\\nA:", "completion": " 4275"}``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from emergence_lens._io import iter_jsonl
from emergence_lens.tasks.example import TaskExample, TaskFormatError

__all__ = ["load_gpt3_arithmetic"]


def load_gpt3_arithmetic(path: str | os.PathLike[str], task: str | None = None,
                         limit: int | None = None) -> list[TaskExample]:
    """Read a GPT-3 arithmetic JSONL file.

    Args:
        path: the ``.jsonl`` file.
        task: task name (default: the file stem, e.g. ``two_digit_multiplication``).
        limit: read at most this many examples (in file order).

    Returns:
        one :class:`TaskExample` per non-blank line; ``example_id`` is the 1-based line number,
        ``target`` the completion without surrounding whitespace.

    Raises:
        TaskFormatError: naming file, line and key, for a line that is not a JSON object or
            lacks a string ``context`` / ``completion``.
    """
    p = Path(path)
    name = task or p.stem
    out: list[TaskExample] = []
    for lineno, obj in iter_jsonl(p):
        if isinstance(obj, json.JSONDecodeError):
            raise TaskFormatError(f"{p}, line {lineno}: not valid JSON ({obj.msg})")
        if not isinstance(obj, dict):
            raise TaskFormatError(f"{p}, line {lineno}: expected a JSON object")
        for key in ("context", "completion"):
            if key not in obj:
                raise TaskFormatError(f"{p}, line {lineno}: missing key {key!r}")
            if not isinstance(obj[key], str):
                raise TaskFormatError(f"{p}, line {lineno}, key {key!r}: expected a string, "
                                      f"got {type(obj[key]).__name__}")
        out.append(TaskExample(name, str(lineno), obj["context"], obj["completion"].strip()))
        if limit is not None and len(out) >= limit:
            break
    return out
