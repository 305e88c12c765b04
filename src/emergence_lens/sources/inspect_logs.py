"""Inspect AI evaluation logs: ``.eval`` archives and ``.json`` logs (inspect-ai >= 0.3).

One log is one (task, model) run.  What is read:

* ``eval.task``, ``eval.model`` (``hf/ladder-08``, ``openai/gpt-4o``: the model name as the log
  gives it) and ``eval.model_args.model_path`` (a local checkpoint: its size is read from it when
  it exists here);
* per sample (``samples/<id>_epoch_<n>.json`` in an archive, ``samples`` in a JSON log): ``id``,
  ``epoch``, ``target`` and the model's answer ``output.completion`` — the records that every
  emergence-lens metric re-scores (exact match, token edit distance, ...);
* per sample, each scorer's own ``value``: ``C``/``I``/``P``/``N`` (1, 0, 0.5, 0 as Inspect's
  ``value_to_float`` reads them), numbers and booleans; a dict value is one score per key
  (``scorer:key``).  Each scorer becomes a results-only curve (mean per model, with ``n`` and its
  stderr, so it gets a CI and the resolution test), named after the scorer;
* a log without samples (``log_samples=False``): the scorers' reported metrics (``accuracy`` or
  ``mean``, ``stderr``, ``scored_samples``) as results-only curves.

A sample with an ``error``, without an answer, or with a score that is not a number is reported
(file, sample, field) and skipped, never dropped silently.  Several epochs of one sample are one
example, counted once in ``n``: each scorer's values reduce per sample with the log's own epoch
reducer (``eval.config.epochs_reducer``; mean, median, mode, max, min; Inspect's default mean), and
the re-scored records read each sample's first epoch (the further epochs are reported as such).  A list target uses its first entry (reported once per file).

``.eval`` archives written by recent inspect-ai compress with zstd (Inspect's default): Python <
3.14 reads them with the ``zipfile-zstd`` package, a dependency of the core install (inspect-ai
itself depends on it), older deflate archives with the standard library alone.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from emergence_lens.sources.issues import IssueLog
from emergence_lens.sources.lmeval import _as_float
from emergence_lens.sources.location import as_location, reader_source

__all__ = ["read_inspect_log", "is_inspect_log", "is_inspect_archive", "InspectLogError", "MemberTooLarge",
           "MAX_MEMBER_BYTES", "MAX_MEMBER_ENV", "max_member_bytes"]

_SAMPLE_NAME = re.compile(r"^samples/(?P<id>.+)_epoch_(?P<epoch>\d+)\.json$")
_LETTER = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}


class InspectLogError(ValueError):
    """A log that cannot be read at all (named, with the reason)."""


def is_inspect_log(data: Any) -> bool:
    """A parsed JSON document (or an archive's header) of an Inspect log."""
    return (isinstance(data, dict) and isinstance(data.get("eval"), dict)
            and "task" in data["eval"] and "model" in data["eval"])


def is_inspect_archive(path: str | Path) -> str | None:
    """``None`` for an ``.eval`` archive, else why it is not one (a damaged zip, no header)."""
    try:
        with zipfile.ZipFile(reader_source(path)) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return f"damaged zip archive ({type(exc).__name__})"
    if "header.json" in names or "_journal/start.json" in names:
        return None
    return "a zip archive without header.json (not an Inspect log)"


#: The default cap on one archive member's decompressed size (``--max-member-mb`` / the environment
#: variable :data:`MAX_MEMBER_ENV` raise it): a sample or header is kilobytes, a log's largest member
#: a few megabytes; a member past this is reported, never expanded.
MAX_MEMBER_BYTES = 256 << 20
MAX_MEMBER_ENV = "EMERGENCE_LENS_MAX_MEMBER_MB"


class MemberTooLarge(ValueError):
    """An archive member whose decompressed size passes the cap (reported; the member is skipped)."""


def max_member_bytes() -> int:
    """The cap on one archive member's decompressed bytes: :data:`MAX_MEMBER_ENV` (MB) or the default."""
    raw = os.environ.get(MAX_MEMBER_ENV, "").strip()
    try:
        return max(1, int(float(raw) * (1 << 20))) if raw else MAX_MEMBER_BYTES
    except ValueError:
        return MAX_MEMBER_BYTES


def _read_capped(z: zipfile.ZipFile, name: str, cap: int) -> bytes:
    """A member's bytes, decompressed no further than ``cap`` (its declared size is not trusted)."""
    info = z.getinfo(name)
    if info.file_size > cap:
        raise MemberTooLarge(f"{name} expands to {info.file_size:,} bytes, over the {cap:,}-byte cap "
                             f"(raise it with --max-member-mb or {MAX_MEMBER_ENV})")
    with z.open(info) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise MemberTooLarge(f"{name} expands past the {cap:,}-byte cap (its header said {info.file_size:,}; "
                             f"raise the cap with --max-member-mb or {MAX_MEMBER_ENV})")
    return data


def _zip_read(z: zipfile.ZipFile, name: str, path: Path) -> bytes:
    cap = max_member_bytes()
    try:
        return _read_capped(z, name, cap)
    except NotImplementedError:
        try:
            import zipfile_zstd  # noqa: F401 - patches zipfile with zstd support
        except ImportError:
            raise InspectLogError(f"{path}: this .eval archive is zstd-compressed; reading it needs the "
                                  "zipfile-zstd package, a dependency of emergence-lens that is missing here: "
                                  "pip install 'zipfile-zstd>=0.0.4'") from None
        return _read_capped(z, name, cap)


def _load(path: Path, data: Any = None) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """``(header, [(where, sample), ...])``; ``where`` names the sample for issues; ``data``: the
    JSON log already parsed."""
    if zipfile.is_zipfile(reader_source(path)):
        with zipfile.ZipFile(reader_source(path)) as z:
            names = z.namelist()
            head = ("header.json" if "header.json" in names  # else a run that did not finish: its start record
                    else "_journal/start.json" if "_journal/start.json" in names else None)
            if head is None:
                raise InspectLogError(f"{path}: a zip archive without header.json: not an Inspect log")
            try:
                header = json.loads(_zip_read(z, head, path))
            except InspectLogError:
                raise
            except Exception as exc:  # noqa: BLE001 - any decompressor/JSON failure of the header
                raise InspectLogError(f"{path}: {head} not readable ({type(exc).__name__}: {str(exc)[:100]})") from exc
            samples = []
            for name in names:
                if _SAMPLE_NAME.match(name):
                    try:
                        samples.append((name, json.loads(_zip_read(z, name, path))))
                    except InspectLogError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - a damaged or oversized member is one sample
                        samples.append((name, exc))
            return header, samples
    if data is None:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    raw = data.get("samples") if isinstance(data, dict) else None
    samples = [(f"samples[{i}]", s) for i, s in enumerate(raw)] if isinstance(raw, list) else []
    return data, samples


def _score_value(value: Any) -> float | None:
    """A scorer's value: ``C``/``I``/``P``/``N``, a boolean, or a finite number (as lm-eval's are read)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.strip().upper() in _LETTER:
        return _LETTER[value.strip().upper()]
    return _as_float(value)


#: Inspect's epoch reducers that reduce one sample's values to one (``mean`` is Inspect's default).
_REDUCERS = {"mean": np.mean, "median": np.median, "max": np.max, "min": np.min,
             "mode": lambda v: float(_mode(v))}


def _mode(v: np.ndarray) -> float:
    values, counts = np.unique(v, return_counts=True)
    return float(values[np.argmax(counts)])


def _reducer(ev: dict[str, Any], path: Any, issues: IssueLog) -> str:
    """The log's epoch reducer (``eval.config.epochs_reducer``); one emergence-lens does not apply
    (``pass_at_k``, ...) is reported and the mean used."""
    config = ev.get("config") if isinstance(ev.get("config"), dict) else {}
    named = config.get("epochs_reducer")
    name = named[0] if isinstance(named, list) and named else named if isinstance(named, str) else "mean"
    if name not in _REDUCERS:
        issues.add(path, None, "eval.config.epochs_reducer", f"epoch reducer {str(name)[:40]!r} is not applied "
                   "here; each sample's epochs are averaged (mean)")
        return "mean"
    return str(name)


def _answer(sample: dict[str, Any]) -> str | None:
    out = sample.get("output")
    if not isinstance(out, dict):
        return None
    if isinstance(out.get("completion"), str):
        return out["completion"]
    choices = out.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        content = (choices[0].get("message") or {}).get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return None


def read_inspect_log(path: str | Path, issues: IssueLog, data: Any = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                                                     dict[str, Any], int]:
    """``(sample_rows, curve_rows, info, rows_read)`` of one log (see the module docstring).

    ``sample_rows`` have the samples-frame columns (``task, example_id, target, prediction,
    choice_logprobs, correct_choice, _line``); ``curve_rows`` the results-only curve columns, one per
    (task, scorer); ``info`` the model (``model``, ``scale_params``, ``checkpoint``).

    Raises:
        InspectLogError: the log cannot be read at all.
    """
    p = as_location(path)
    try:
        header, samples = _load(p, data)
    except (json.JSONDecodeError, UnicodeDecodeError, zipfile.BadZipFile, OSError, KeyError) as exc:
        raise InspectLogError(f"{p}: not a readable Inspect log ({type(exc).__name__}: {str(exc)[:120]})") from exc
    if not is_inspect_log(header):
        raise InspectLogError(f"{p}: no eval.task / eval.model: not an Inspect log")
    ev = header["eval"]
    task = str(ev.get("task") or p.stem)
    model = str(ev.get("model") or "")
    args = ev.get("model_args") if isinstance(ev.get("model_args"), dict) else {}
    ckpt = args.get("model_path")
    info = {"model": model or None, "scale_params": None,
            "checkpoint": ckpt if isinstance(ckpt, str) and Path(ckpt).exists() else None}
    if header.get("status") not in (None, "success"):
        issues.add(p, None, "status", f"the run ended with status {header.get('status')!r}; its logged samples "
                   "are read as they are")
    rows: list[dict[str, Any]] = []
    scores: dict[str, dict[str, list[float]]] = {}  # scorer -> sample id -> one value per epoch
    listed_target = False
    seen: set[str] = set()
    first_epoch: dict[str, int] = {}  # sample id -> the epoch its record comes from
    later: list[int] = []  # the further epochs of a sample (their scores reduce; no second record)
    reducer = _reducer(ev, p, issues)
    for i, (where, s) in enumerate(samples, start=1):
        if isinstance(s, MemberTooLarge):
            issues.add(p, i, where, f"{s}; sample skipped", "error", rows=1)
            continue
        if isinstance(s, Exception):
            issues.add(p, i, where, f"not readable ({type(s).__name__}); sample skipped", rows=1)
            continue
        if not isinstance(s, dict):
            issues.add(p, i, where, "not an object; sample skipped", rows=1)
            continue
        sid, epoch = s.get("id"), s.get("epoch", 1)
        if not isinstance(sid, (str, int)) or isinstance(sid, bool) or not isinstance(epoch, int):
            issues.add(p, i, f"{where}.id", f"unusable sample id {sid!r} / epoch {epoch!r}; sample skipped", rows=1)
            continue
        example_id = str(sid)
        if (example_id, epoch) in seen:
            issues.add(p, i, f"{where}.id", f"sample {example_id!r} epoch {epoch} twice; this one skipped", rows=1)
            continue
        if s.get("error"):
            err = s["error"].get("message") if isinstance(s["error"], dict) else s["error"]
            issues.add(p, i, f"{where}.error", f"the sample errored ({str(err)[:80]}); sample skipped", rows=1)
            continue
        target = s.get("target")
        if isinstance(target, list):
            if not listed_target and len(target) > 1:
                issues.add(p, i, f"{where}.target", f"targets are lists ({len(target)} here); the first is used")
                listed_target = True
            target = target[0] if target else None
        answer = _answer(s)
        if answer is None or not isinstance(target, str):
            what = "no answer (output.completion)" if answer is None else f"target {target!r} is not text"
            issues.add(p, i, f"{where}.output" if answer is None else f"{where}.target", f"{what}; sample skipped",
                       rows=1)
            continue
        values: dict[str, float] = {}
        bad = None
        for name, sc in (s.get("scores") or {}).items() if isinstance(s.get("scores"), dict) else ():
            v = sc.get("value") if isinstance(sc, dict) else None
            if isinstance(v, dict):
                for k, vv in v.items():
                    f = _score_value(vv)
                    if f is None:
                        bad = (f"{name}.{k}", vv)
                    else:
                        values[f"{name}:{k}"] = f
            else:
                f = _score_value(v)
                if f is None:
                    bad = (name, v)
                else:
                    values[str(name)] = f
        if bad is not None:
            issues.add(p, i, f"{where}.scores.{bad[0]}", f"score value {bad[1]!r} is not a number or C/I/P/N; "
                       "sample skipped", rows=1)
            continue
        seen.add((example_id, epoch))
        for k, f in values.items():
            scores.setdefault(k, {}).setdefault(example_id, []).append(f)
        row = {"task": task, "example_id": example_id, "target": target, "prediction": answer,
               "choice_logprobs": None, "correct_choice": None, "_line": i}
        if example_id not in first_epoch:
            first_epoch[example_id] = len(rows)
            rows.append((epoch, row))
        elif epoch < rows[first_epoch[example_id]][0]:  # the record is the sample's first epoch
            later.append(rows[first_epoch[example_id]][1]["_line"])
            rows[first_epoch[example_id]] = (epoch, row)
        else:
            later.append(i)
    if later:
        issues.add(p, min(later), "epoch", f"{len(later)} further epoch(s) of {len(first_epoch)} sample(s): "
                   "the re-scored metrics read each sample's first epoch, so n counts samples; the scorers' "
                   f"curves reduce every epoch per sample ({reducer})", rows=len(later))
    rows = [r for _, r in rows]
    curves = []
    for name, per_sample in scores.items():
        v = np.asarray([_REDUCERS[reducer](np.asarray(x, dtype=float)) for x in per_sample.values()], dtype=float)
        se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else None
        curves.append({"model": info["model"], "task": task, "metric": name, "value": float(v.mean()),
                       "n_examples": float(len(v)), "stderr": se, "source": str(p), "_cells": 0})
    if not samples:  # no samples logged: the scorers' reported metrics
        results = header.get("results") if isinstance(header.get("results"), dict) else {}
        for sc in results.get("scores") or []:
            if not isinstance(sc, dict):
                continue
            metrics = sc.get("metrics") if isinstance(sc.get("metrics"), dict) else {}
            main = next((metrics[k] for k in ("accuracy", "mean") if isinstance(metrics.get(k), dict)), None)
            value = _score_value(main.get("value")) if main else None
            if value is None:
                continue
            se = _score_value((metrics.get("stderr") or {}).get("value")) if isinstance(metrics.get("stderr"), dict) \
                else None
            n = sc.get("scored_samples")
            curves.append({"model": info["model"], "task": task, "metric": str(sc.get("name") or sc.get("scorer")),
                           "value": value, "n_examples": float(n) if isinstance(n, int) and n > 0 else None,
                           "stderr": se, "source": str(p), "_cells": 0})
    return rows, curves, info, len(samples)
