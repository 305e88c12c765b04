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
import os
import re
from pathlib import Path
from typing import Any

from emergence_lens._io import iter_jsonl
from emergence_lens.sources.issues import IssueLog
from emergence_lens.sources.location import as_location, is_remote

__all__ = ["read_lmeval_results", "read_lmeval_samples", "read_lmeval_samples_fast", "lmeval_model_info",
           "results_rows_in",
           "is_samples_row", "SAMPLES_RE"]

SAMPLES_RE = re.compile(r"^samples_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.]+)\.(?:jsonl|parquet)$")


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


_NOT_METRICS = ("alias", "name", "sample_len", "samples", "sample_count")


def results_rows_in(data: Any) -> int:
    """Input rows of a results file: one per (task, metric[, filter]) value; a task that is not an
    object is one."""
    res = data.get("results") if isinstance(data, dict) else None
    if not isinstance(res, dict):
        return 0
    n = 0
    for metrics in res.values():
        if not isinstance(metrics, dict):
            n += 1
            continue
        n += sum(1 for k in metrics if str(k) not in _NOT_METRICS and "_stderr" not in str(k))
    return n


def read_lmeval_results(path: str | Path, issues: IssueLog,
                        data: Any = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Curve rows ``{model, task, metric, value, stderr, n_examples, shots, higher_is_better,
    aggregate}`` from one results file, and the model info.  ``data``: the parsed file.

    Groups (``group_subtasks``): the group's own row is marked ``aggregate`` (its examples are the
    subtasks'), each subtask is its own curve.
    """
    p = as_location(path)
    if data is None:
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
    groups = data.get("group_subtasks") if isinstance(data.get("group_subtasks"), dict) else {}
    aggregates = {str(g) for g, subs in groups.items() if isinstance(subs, list) and subs}
    rows = []
    for task, metrics in data["results"].items():
        if not isinstance(metrics, dict):
            issues.add(p, None, f"results.{task}", "not an object; task skipped", rows=1)
            continue
        n = n_samples.get(task, {}).get("effective") if isinstance(n_samples.get(task), dict) else None
        if n is None and isinstance(metrics.get("sample_len"), int) and metrics["sample_len"] > 0:
            n = metrics["sample_len"]  # lm-eval 0.4 writes the task's number of documents here too
        for key, raw in metrics.items():
            key = str(key)
            if key in _NOT_METRICS or "_stderr" in key:
                continue
            metric, _, filt = key.partition(",")
            value = _as_float(raw)
            if value is None:
                issues.add(p, None, f"results.{task}.{key}", f"value {raw!r} is not a finite number; not scored",
                           rows=1)
                continue
            stderr_key = f"{metric}_stderr,{filt}" if filt else f"{metric}_stderr"
            name = metric if filt in ("", "none") else f"{metric}[{filt}]"
            better = hib.get(task, {}).get(metric) if isinstance(hib.get(task), dict) else None
            rows.append({"model": info["model"], "task": str(task), "metric": name, "value": value,
                         "stderr": _as_float(metrics.get(stderr_key)), "n_examples": _as_float(n),
                         "shots": _as_float(n_shot.get(task, old_shots)),
                         "higher_is_better": better if isinstance(better, bool) else None,
                         "aggregate": str(task) in aggregates, "source": str(p)})
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


def is_samples_row(obj: Any) -> bool:
    """An lm-eval per-sample log line: ``doc_id`` and ``resps`` / ``filtered_resps``."""
    return isinstance(obj, dict) and "doc_id" in obj and ("filtered_resps" in obj or "resps" in obj)


def read_lmeval_samples(path: str | Path, model: dict[str, Any], issues: IssueLog,
                        task: str | None = None, lines: Any = None, counter: list[int] | None = None
                        ) -> list[dict[str, Any]]:
    """Record rows (without family/scale) from a samples file; bad lines are reported and skipped.

    One row per document per filter, as lm-eval writes them: a row whose ``filter`` is not
    ``none`` goes to task ``"<task>,<filter>"`` (lm-eval's own key style), so each (metric, filter)
    is its own curve.  A repeated (document, filter) is a genuine duplicate: reported with its
    line and dropped, the rest of the file loads.  ``lines``: an iterator of ``(line, object)``
    (default: the file read as UTF-8 JSON lines); ``counter[0]`` counts the lines read.
    """
    p = as_location(path)
    m = SAMPLES_RE.match(p.name)
    task = task or (m.group("task") if m else p.stem)
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for lineno, obj in (lines if lines is not None else iter_jsonl(p)):
        if counter is not None:
            counter[0] += 1
        if isinstance(obj, json.JSONDecodeError):
            issues.add(p, lineno, None, f"not valid JSON ({obj.msg}); line skipped", rows=1)
            continue
        if not isinstance(obj, dict):
            issues.add(p, lineno, None, "not a JSON object; line skipped", rows=1)
            continue
        resps = obj.get("filtered_resps", obj.get("resps"))
        if resps is None:
            issues.add(p, lineno, "filtered_resps", "missing; line skipped", rows=1)
            continue
        doc_id = obj.get("doc_id", lineno - 1)
        if not isinstance(doc_id, (str, int, float)) or isinstance(doc_id, bool):
            issues.add(p, lineno, "doc_id", f"unusable document id {doc_id!r}; line skipped", rows=1)
            continue
        filt = obj.get("filter")
        filt = str(filt) if isinstance(filt, (str, int, float)) and str(filt) not in ("", "none") else ""
        key = (str(doc_id), filt)
        if key in seen:
            issues.add(p, lineno, "doc_id", f"duplicate of line {seen[key]} (document {doc_id!r}"
                       f"{', filter ' + repr(filt) if filt else ''}); this line dropped", rows=1)
            continue
        target = obj.get("target")
        row: dict[str, Any] = {"model": model.get("model"), "task": f"{task},{filt}" if filt else task,
                               "example_id": str(doc_id)}
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
                               "options; line skipped", rows=1)
                    continue
                correct = match[0]
            row.update(choice_logprobs=[lp for lp, _ in pairs], correct_choice=int(correct),
                       target=None, prediction=None)
        elif isinstance(resps, list) and resps and isinstance(resps[0], str):
            tgt = target[0] if isinstance(target, list) and target else target
            if not isinstance(tgt, (str, int, float)):
                issues.add(p, lineno, "target", f"unusable target {target!r}; line skipped", rows=1)
                continue
            row.update(target=str(tgt), prediction=resps[0], choice_logprobs=None, correct_choice=None)
        elif isinstance(resps, list) and resps and isinstance(resps[0], list) and resps[0] \
                and all(isinstance(r, str) for r in resps[0]):
            # generate_until `resps` nest the generation one level deeper: [["text"]]
            tgt = target[0] if isinstance(target, list) and target else target
            if not isinstance(tgt, (str, int, float)):
                issues.add(p, lineno, "target", f"unusable target {target!r}; line skipped", rows=1)
                continue
            row.update(target=str(tgt), prediction=resps[0][0], choice_logprobs=None, correct_choice=None)
        elif len(pairs) == 1 and pairs[0] is not None:
            issues.add(p, lineno, "filtered_resps", "single-continuation log-likelihood: no per-token "
                       "log-probs to re-score; kept only in the results file's values", rows=1)
            continue
        else:
            issues.add(p, lineno, "filtered_resps", f"unrecognised response {str(resps)[:80]!r}; line skipped", rows=1)
            continue
        seen[key] = lineno
        row["_line"] = lineno
        rows.append(row)
    return rows



def _fast_schemas():
    import pyarrow as pa

    base = [("doc_id", pa.int64()), ("target", pa.string()), ("filter", pa.string())]
    return {"choice": pa.schema([*base, ("filtered_resps", pa.list_(pa.list_(pa.string())))]),
            "generation": pa.schema([*base, ("filtered_resps", pa.list_(pa.string()))])}


#: The fields the fast path reads, as DuckDB types, per layout (every other field is skipped).
_DUCK_COLUMNS = {kind: {"doc_id": "BIGINT", "target": "VARCHAR", "filter": "VARCHAR", "filtered_resps": resps}
                 for kind, resps in (("choice", "VARCHAR[][]"), ("generation", "VARCHAR[]"))}
_duck: dict[int, Any] = {}


def _duck_connection() -> Any:
    """This process's DuckDB connection (in memory), as many threads as Arrow is given."""
    import duckdb
    import pyarrow as pa

    con = _duck.get(os.getpid())
    if con is None:
        _duck.clear()
        con = _duck[os.getpid()] = duckdb.connect(":memory:", config={"threads": max(1, pa.cpu_count())})
    return con


#: What DuckDB would not read as a plain local path: glob patterns, URLs, a home directory.
_NOT_PLAIN = re.compile(r"[*?\[\]{}]|://|^~")


def plain_local_path(path: Any) -> bool:
    """A local path DuckDB may read itself: not remote, no glob characters, URL scheme or ``~``
    (DuckDB would expand them: a folder ``ladder[1]`` would match ``ladder1``), valid UTF-8."""
    if is_remote(path):
        return False
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return _NOT_PLAIN.search(text) is None


def _parse_fast(source: Path | bytes, kind: str):
    """The four fields of every line of a samples file (its path, or its bytes) as an Arrow table:
    DuckDB's JSON reader with the fields projected — 1.2-1.4x Arrow's JSON reader here, since the
    prompt and document fields are skipped, not built; raises on any line it cannot read that way.
    From a path DuckDB reads the file itself (bytes go through a Python file object, ~11 ms more per
    20k-row multiple-choice file); only a plain path (:func:`plain_local_path`) is given to it."""
    import io

    src = str(source) if isinstance(source, Path) else io.BytesIO(source)
    rel = _duck_connection().read_json(src, columns=_DUCK_COLUMNS[kind], format="newline_delimited")
    t = rel.select("doc_id, target, filter, filtered_resps").to_arrow_table()
    return t.cast(_fast_schemas()[kind]) if t.schema != _fast_schemas()[kind] else t


def _unchanged(before: os.stat_result, path: Path, size: int) -> bool:
    """The file at ``path`` is the one ``before`` describes and ``size`` bytes long: what DuckDB
    read from the path is what was read (and hashed) before."""
    try:
        now = os.stat(path)
    except OSError:
        return False
    return (now.st_size == before.st_size == size and now.st_mtime_ns == before.st_mtime_ns
            and now.st_ctime_ns == before.st_ctime_ns and now.st_ino == before.st_ino and now.st_dev == before.st_dev)


def _likely_kind(data: bytes) -> str:
    """``choice`` or ``generation``, from the first line's ``filtered_resps`` (a list of lists, or of
    strings): the layout tried first, so a generation file is not half-parsed as choices before."""
    try:
        first = json.loads(data[:data.find(b"\n") if b"\n" in data else len(data)])
        fr = first.get("filtered_resps") if isinstance(first, dict) else None
        return "choice" if isinstance(fr, list) and fr and isinstance(fr[0], list) else "generation"
    except ValueError:
        return "choice"


class FileChanged(OSError):
    """The file changed after it was hashed: its rows are to be read from bytes read again."""


def read_lmeval_samples_fast(path: str | Path, model: dict[str, Any], task: str, data: bytes | None = None,
                             stat: os.stat_result | None = None):
    """The fast path for clean samples files: DuckDB's JSON reader parses only ``doc_id``,
    ``target``, ``filter`` and ``filtered_resps`` into Arrow (:func:`_parse_fast`); the columns
    are converted with vectorised kernels and stay columnar.  Returns ``(arrow table, rows_read)`` (no model columns),
    or ``None`` whenever anything is unusual
    (a malformed line, another layout, a gold option out of range, a duplicate document) — the
    caller then reads the file line by line with :func:`read_lmeval_samples`, which reports every
    problem with its line.  Both paths give the same rows (a test checks it).  ``data``: the file's
    bytes when the caller already read them (to hash them), ``stat`` its ``os.stat`` from before
    that read; read here otherwise.  The rows are those of these bytes: DuckDB reads a plain path
    itself only when the file is unchanged since (else, or for any other path, it parses the bytes).
    ``stat`` without ``data``: the caller hashed the file as it streamed it, never holding its bytes
    (a plain local path, :func:`plain_local_path`); DuckDB reads the path, and :class:`FileChanged`
    is raised when the file is no longer the one ``stat`` describes (the caller then reads and hashes
    its bytes and calls again with them)."""
    import duckdb
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    p = as_location(path)
    streamed = data is None and stat is not None
    if streamed:
        if not plain_local_path(p):
            raise ValueError(f"{p}: only a plain local path is read without its bytes")
        with open(p, "rb") as fh:
            first = fh.readline(1 << 20)
        size = stat.st_size
    else:
        if data is None:
            stat = None if is_remote(p) else os.stat(p)
            data = p.read_bytes()
        first, size = data, len(data)
    by_path = stat is not None and plain_local_path(p)
    kinds = ["choice", "generation"]
    if _likely_kind(first) == "generation":
        kinds.reverse()
    for kind in kinds:
        try:
            t = _parse_fast(p if by_path else data, kind)
            if by_path and not _unchanged(stat, p, size):
                if streamed:
                    raise FileChanged(f"{p} changed while it was read")
                t = _parse_fast(data, kind)  # the file changed after it was read: parse what was read
        except FileChanged:
            raise
        except (duckdb.Error, pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
            continue
        if t.num_rows == 0 or any(t.column(c).null_count for c in ("doc_id", "target", "filtered_resps")):
            return None
        n = t.num_rows
        filters = t.column("filter").fill_null("none")
        doc = t.column("doc_id").to_numpy()
        only = pc.unique(filters)
        if len(only) == 1:  # one filter (most files): a document may appear once; one task name
            if not pd.Index(doc).is_unique:
                return None
            v = only[0].as_py()
            names = pa.repeat(pa.scalar(task if v in ("none", "") else f"{task},{v}", pa.string()), n)
        else:
            filt = filters.to_numpy(zero_copy_only=False).astype(str)
            if pd.DataFrame({"d": doc, "f": filt}).duplicated().any():
                return None
            names = pa.array(np.where((filt == "none") | (filt == ""), task, np.char.add(f"{task},", filt)),
                             pa.string())
        out = {"task": names, "example_id": pc.cast(t.column("doc_id"), pa.string())}
        fr = t.column("filtered_resps").combine_chunks()
        if kind == "choice":
            k = pc.list_value_length(fr).to_numpy(zero_copy_only=False)
            inner = pc.list_flatten(fr)
            if (pc.list_value_length(inner).to_numpy(zero_copy_only=False) != 2).any() or (k < 2).any():
                return None
            try:
                lp = pc.cast(pc.list_element(inner, 0), pa.float64()).to_numpy(zero_copy_only=False)
                target = pc.cast(t.column("target"), pa.int64()).to_numpy()
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
            if np.isnan(lp).any() or (lp > 1e-6).any() or (target < 0).any() or (target >= k).any():
                return None
            offsets = np.concatenate([[0], np.cumsum(k)])
            out.update(target=pa.nulls(n, pa.string()), prediction=pa.nulls(n, pa.string()),
                       choice_logprobs=pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(lp)),
                       correct_choice=pa.array(target, pa.int64()))
        else:
            if (pc.list_value_length(fr).to_numpy(zero_copy_only=False) < 1).any():
                return None
            out.update(target=t.column("target").combine_chunks(), prediction=pc.list_element(fr, 0),
                       choice_logprobs=pa.nulls(n, pa.list_(pa.float64())), correct_choice=pa.nulls(n, pa.int64()))
        out["_line"] = pa.array(np.arange(1, n + 1), pa.int64())
        return pa.table(out), n
    return None
