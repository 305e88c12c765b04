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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emergence_lens._io import count_lines, iter_jsonl
from emergence_lens.sources.issues import IssueLog
from emergence_lens.sources.location import as_location, is_remote

__all__ = ["read_lmeval_results", "read_lmeval_samples", "LinesRead", "read_lmeval_samples_fast", "close_reader",
           "lmeval_model_info",
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


#: The longest string read as a stringified pair ("(-1.2345678901234567, False)" is 31 characters).
_PAIR_CHARS = 200


def _pair(item: Any) -> tuple[float, bool] | None:
    """``["-1.23", "False"]`` / ``[-1.23, false]`` / ``"(-1.23, False)"`` -> (-1.23, False)."""
    if isinstance(item, str):
        if len(item) > _PAIR_CHARS:  # a pair is short; a long text is never evaluated (no deep recursion)
            return None
        try:
            item = ast.literal_eval(item)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
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


#: What each kind of samples row holds in ``filtered_resps`` (for the issue of a row of the other kind).
_KIND_SHAPE = {"choice": "a list of [log_prob, is_greedy] pairs, one per option",
               "generation": "a list holding the generated text"}


@dataclass
class _Sample:
    """One samples line read: a record row of one kind (``choice``/``generation``), or the issue
    that skips it (a ``message``, about ``field``)."""

    line: int
    kind: str = ""
    row: dict[str, Any] | None = None
    key: tuple[str, str] = ("", "")
    doc_id: Any = None
    filt: str = ""
    found: str = ""
    field: str | None = None
    message: str = ""


def _gold_text(target: Any) -> Any:
    return target[0] if isinstance(target, list) and target else target


def _read_sample(lineno: int, obj: Any, task: str, model: Any) -> _Sample:
    """Classify and read one samples line (no file-level decision: see :func:`read_lmeval_samples`)."""
    if isinstance(obj, json.JSONDecodeError):
        return _Sample(lineno, field=None, message=f"not valid JSON ({obj.msg}); line skipped")
    if not isinstance(obj, dict):
        return _Sample(lineno, message="not a JSON object; line skipped")
    resps = obj.get("filtered_resps", obj.get("resps"))
    if resps is None:
        return _Sample(lineno, field="filtered_resps", message="missing; line skipped")
    doc_id = obj.get("doc_id", lineno - 1)
    if not isinstance(doc_id, (str, int, float)) or isinstance(doc_id, bool):
        return _Sample(lineno, field="doc_id", message=f"unusable document id {_short(doc_id)}; line skipped")
    filt = obj.get("filter")
    filt = str(filt) if isinstance(filt, (str, int, float)) and not isinstance(filt, bool) \
        and str(filt) not in ("", "none") else ""
    target = obj.get("target")
    row: dict[str, Any] = {"model": model, "task": f"{task},{filt}" if filt else task, "example_id": str(doc_id)}
    s = _Sample(lineno, row=row, key=(str(doc_id), filt), doc_id=doc_id, filt=filt, found=_short(resps))
    # `resps` nests each option's pair one level deeper ([[[lp, greedy]], ...]) than `filtered_resps`
    pairs = [_pair(r[0] if isinstance(r, list) and len(r) == 1 and isinstance(r[0], list) else r)
             for r in resps] if isinstance(resps, list) else []
    if len(pairs) >= 2 and all(x is not None for x in pairs):
        s.kind = "choice"
        correct = _as_float(target)
        if correct is None or int(correct) != correct or not 0 <= correct < len(pairs):
            # target given as the gold text: find it among the continuations
            args = obj.get("arguments")
            conts = [a.get("arg_1") for a in args.values() if isinstance(a, dict)] if isinstance(args, dict) else []
            tgt = _gold_text(target)
            match = [i for i, c in enumerate(conts) if isinstance(c, str) and isinstance(tgt, str)
                     and c.strip() == tgt.strip()]
            if len(match) != 1:
                s.field, s.message = "target", (f"gold option {_short(target)} not found among {len(pairs)} "
                                                "options; line skipped")
                return s
            correct = match[0]
        row.update(choice_logprobs=[lp for lp, _ in pairs], correct_choice=int(correct), target=None,
                   prediction=None)
        return s
    if isinstance(resps, list) and resps and isinstance(resps[0], str):
        prediction = resps[0]
    elif isinstance(resps, list) and resps and isinstance(resps[0], list) and resps[0] \
            and all(isinstance(r, str) for r in resps[0]):
        prediction = resps[0][0]  # generate_until `resps` nest the generation one level deeper: [["text"]]
    elif len(pairs) == 1 and pairs[0] is not None:
        s.field, s.message = "filtered_resps", ("single-continuation log-likelihood: no per-token log-probs to "
                                                "re-score; kept only in the results file's values")
        return s
    else:
        s.field, s.message = "filtered_resps", f"unrecognised response {_short(resps)}; line skipped"
        return s
    s.kind = "generation"
    tgt = _gold_text(target)
    if not isinstance(tgt, (str, int, float)) or isinstance(tgt, bool):
        s.field, s.message = "target", f"unusable target {_short(target)}; line skipped"
        return s
    row.update(target=str(tgt), prediction=prediction, choice_logprobs=None, correct_choice=None)
    return s


def _short(value: Any, limit: int = 80) -> str:
    """A value as an issue quotes it: its repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


@dataclass
class LinesRead:
    """How many lines a reader has read so far (kept when it stops on an error midway)."""

    lines: int = 0


def read_lmeval_samples(path: str | Path, model: dict[str, Any], issues: IssueLog,
                        task: str | None = None, lines: Any = None, counter: LinesRead | None = None
                        ) -> list[dict[str, Any]]:
    """Record rows (without family/scale) from a samples file; bad lines are reported and skipped.

    One row per document per filter, as lm-eval writes them: a row whose ``filter`` is not
    ``none`` goes to task ``"<task>,<filter>"`` (lm-eval's own key style), so each (metric, filter)
    is its own curve.  A file is of one kind — multiple-choice (log-likelihood pairs per option) or
    generation (text) — as lm-eval writes one task's requests: the kind most of its usable lines
    have.  A line of the other kind (a wrong-typed value: a pair replaced by a string, a list by a
    text) is reported with what it held and skipped; it never turns the file into the other kind.
    A repeated (document, filter) is a genuine duplicate: reported with its line and dropped, the
    rest of the file loads.  ``lines``: an iterator of ``(line, object)`` (default: the file read as
    UTF-8 JSON lines); ``counter.lines`` counts the lines read.
    """
    p = as_location(path)
    m = SAMPLES_RE.match(p.name)
    task = task or (m.group("task") if m else p.stem)
    read: list[_Sample] = []
    for lineno, obj in (lines if lines is not None else iter_jsonl(p)):
        if counter is not None:
            counter.lines += 1
        read.append(_read_sample(lineno, obj, task, model.get("model")))
    kinds = Counter(s.kind for s in read if s.kind and not s.message)
    kind = max(kinds, key=lambda k: (kinds[k], k == "choice")) if kinds else ""
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for s in read:
        if not s.message and s.kind != kind:
            issues.add(p, s.line, "filtered_resps", f"expected {_KIND_SHAPE[kind]} (as this file's other "
                       f"{kinds[kind]} line(s) of {kind} requests), found {s.found}; line skipped", rows=1)
            continue
        if s.message or s.row is None:
            issues.add(p, s.line, s.field, s.message, rows=1)
            continue
        if s.key in seen:
            issues.add(p, s.line, "doc_id", f"duplicate of line {seen[s.key]} (document {s.doc_id!r}"
                       f"{', filter ' + repr(s.filt) if s.filt else ''}); this line dropped", rows=1)
            continue
        seen[s.key] = s.line
        s.row["_line"] = s.line
        rows.append(s.row)
    return rows


#: The fields the fast path reads, as DuckDB types, per layout (every other field is skipped).  The
#: scalars come as their raw JSON text, so their JSON types are checked (:func:`_plain_scalars`):
#: DuckDB would otherwise cast a number, a list or a boolean to text, or ``5.0`` to the integer 5.
#: A generation's ``filtered_resps`` is read as a list of raw JSON values, each checked to be a string
#: (:func:`_generation_predictions`): a typed ``VARCHAR[]`` would turn a number into text silently.
_DUCK_COLUMNS = {kind: {"doc_id": "JSON", "target": "JSON", "filter": "JSON", "filtered_resps": resps}
                 for kind, resps in (("choice", "VARCHAR[][]"), ("generation", "JSON[]"))}
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


def close_reader() -> None:
    """Close this process's DuckDB connection, if open: DuckDB keeps the memory its parses used
    (~100 MB after one 170 MB samples file) until then.  The next read opens a new one."""
    con = _duck.pop(os.getpid(), None)
    _duck.clear()
    if con is not None:
        con.close()


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


#: Rows of a samples file the fast path converts at a time: DuckDB streams the parse in batches of
#: this many rows, each turned into its compact columns at once, so the raw parse (every log-prob
#: as text) is never held for a whole file.  16,384 rows: a 250,000-row multiple-choice file's read
#: peaks ~30 MB lower than with 65,536 (``bench_partition_steps.py --rows 250000``), no slower.
FAST_BATCH_ROWS = 1 << 14


def _parse_fast(source: Path | bytes, kind: str):
    """The four fields of every line of a samples file (its path, or its bytes), streamed as Arrow
    record batches of :data:`FAST_BATCH_ROWS` rows: ``doc_id``, ``target`` and ``filter`` as raw JSON
    text, ``filtered_resps`` as lists of pairs (``choice``) or, for ``generation``, a list of raw JSON
    values (:func:`_generation_predictions`).  DuckDB's JSON reader with the fields projected — the
    prompt and document fields are skipped, not built; raises (while the batches are read) on any
    line it cannot read that way.  From a path DuckDB reads the file itself; only a plain path
    (:func:`plain_local_path`) is given to it."""
    import io

    src = str(source) if isinstance(source, Path) else io.BytesIO(source)
    rel = _duck_connection().read_json(src, columns=_DUCK_COLUMNS[kind], format="newline_delimited")
    return rel.to_arrow_reader(FAST_BATCH_ROWS)


def _generation_predictions(filtered_resps: Any) -> Any:
    """Each row's prediction from a generation's ``filtered_resps`` read as raw JSON values: the
    one string of a list of exactly one JSON string (its escapes decoded as the line reader decodes
    them); ``None`` when any row holds something else (the line reader reports that row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    fr = filtered_resps.combine_chunks() if isinstance(filtered_resps, pa.ChunkedArray) else filtered_resps
    if fr.null_count or not pc.all(pc.equal(pc.list_value_length(fr), 1)).as_py():
        return None
    raw = pc.list_flatten(fr)
    if raw.null_count or not (pc.all(pc.starts_with(raw, '"')).as_py() and pc.all(pc.ends_with(raw, '"')).as_py()
                              and pc.all(pc.greater_equal(pc.binary_length(raw), 2)).as_py()):
        return None
    text = pc.utf8_slice_codeunits(raw, 1, -1)
    escaped = pc.match_substring(raw, "\\")
    if pc.any(escaped).as_py():  # escapes (a newline, a quote, \uXXXX): decoded one by one, as JSON
        values = text.to_pylist()
        for i in pc.indices_nonzero(escaped).to_numpy():
            try:
                values[i] = json.loads(raw[int(i)].as_py())
            except ValueError:
                return None
            if not isinstance(values[i], str):
                return None
        text = pa.array(values, pa.string())
    return text


def _json_strings(raw: Any) -> Any:
    """Raw JSON text that must be strings without escapes (``"abc"``) as their text; ``None`` when any
    value is another JSON type or holds an escape (the line reader decodes those)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = raw.combine_chunks() if isinstance(raw, pa.ChunkedArray) else raw
    if len(raw) and not (pc.all(pc.starts_with(raw, '"')).as_py() and pc.all(pc.ends_with(raw, '"')).as_py()
                         and pc.all(pc.greater_equal(pc.binary_length(raw), 2)).as_py()  # not the lone '"'
                         and not pc.any(pc.match_substring(raw, "\\")).as_py()):
        return None
    return pc.utf8_slice_codeunits(raw, 1, -1)


def _plain_scalars(t: Any, kind: str) -> tuple[Any, Any, Any] | None:
    """``(doc_id as int64, filter text with nulls, target)`` from the raw JSON columns — target as
    int64 (``choice``: a JSON integer or a string of digits) or text (``generation``: a JSON string) —
    or ``None`` when any row is not of that plain shape."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if t.column("doc_id").null_count or t.column("target").null_count:
        return None
    try:
        doc = pc.cast(t.column("doc_id"), pa.int64())  # a JSON integer's text, strictly (not 5.0, not "5")
        filt = t.column("filter").combine_chunks()
        present = filt.filter(pc.is_valid(filt))
        text = _json_strings(present)
        if text is None:
            return None
        filt = pc.replace_with_mask(filt, pc.is_valid(filt), text) if filt.null_count else text
        target = t.column("target").combine_chunks()
        if kind == "choice":
            quoted = pc.starts_with(target, '"')
            digits = pc.if_else(quoted, pc.utf8_slice_codeunits(target, 1, -1), target)
            target = pc.cast(digits, pa.int64())  # strict: "1.0", " 1", "1e2", "true" raise, not cast
        else:
            target = _json_strings(target)
            if target is None:
                return None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return doc, filt, target


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


def _read_compact(source: Path | bytes, kind: str) -> list[dict[str, Any]] | None:
    """Every batch of the parse (:func:`_parse_fast`) as its compact columns, in order: ``doc``
    (int64), ``filter`` (text, nulls kept) and, for ``choice``, each row's option count ``k``, its
    log-probabilities flat (``lp``) and its gold option (``target``); for ``generation``, ``target``
    and ``prediction`` text.  ``None`` when any row is not of the plain shape lm-eval writes (the
    checks of each row are made here, batch by batch; those across rows by the caller)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    parts: list[dict[str, Any]] = []
    for batch in _parse_fast(source, kind):
        if not batch.num_rows:
            continue
        t = pa.Table.from_batches([batch])
        plain = _plain_scalars(t, kind)
        if plain is None:
            return None
        doc_ids, filters, target = plain
        doc = doc_ids.combine_chunks() if isinstance(doc_ids, pa.ChunkedArray) else doc_ids
        part: dict[str, Any] = {"doc": doc, "filter": filters}
        if kind == "generation":
            predictions = _generation_predictions(t.column("filtered_resps"))
            if predictions is None:
                return None
            part.update(target=target, prediction=predictions)
        else:
            fr = t.column("filtered_resps").combine_chunks()
            if fr.null_count:
                return None
            k = pc.list_value_length(fr).to_numpy(zero_copy_only=False)
            inner = pc.list_flatten(fr)
            if inner.null_count or (pc.list_value_length(inner).to_numpy(zero_copy_only=False) != 2).any() \
                    or (k < 2).any():
                return None
            try:
                lp = pc.cast(pc.list_element(inner, 0), pa.float64()).to_numpy(zero_copy_only=False)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
            gold = target.to_numpy(zero_copy_only=False)
            # only finite log-probabilities (the line reader reads "-inf" and nothing else infinite)
            if not np.isfinite(lp).all() or (lp > 1e-6).any() or (gold < 0).any() or (gold >= k).any():
                return None
            part.update(k=k.astype(np.int64), lp=lp, target=gold)
        parts.append(part)
    return parts


class FileChanged(OSError):
    """The file changed after it was hashed: its rows are to be read from bytes read again."""


def read_lmeval_samples_fast(path: str | Path, model: dict[str, Any], task: str, data: bytes | None = None,
                             stat: os.stat_result | None = None,
                             n_lines: int | Callable[[], int] | None = None):
    """The fast path for clean samples files: DuckDB's JSON reader parses only ``doc_id``, ``target``,
    ``filter`` and ``filtered_resps`` into Arrow (:func:`_parse_fast`), streamed in batches, each
    converted to its compact columns with vectorised kernels (:func:`_read_compact`). Returns ``(arrow
    table, rows_read)`` (no model columns), or ``None`` whenever any line is not of the plain shape
    lm-eval writes (a malformed line, a blank one, a value of another JSON type, another layout, a gold
    option out of range, a duplicate document) — the caller then reads the file with
    :func:`read_lmeval_samples`, the one reader that defines what a samples file holds and reports every
    problem with its line. Whatever this accepts gives that reader's rows exactly: a differential test
    runs both over mutated files. ``data``: the file's bytes when the caller already read them (to hash
    them), ``stat`` its ``os.stat`` from before that read; read here otherwise. The rows are those of
    these bytes: DuckDB reads a plain path itself only when the file is unchanged since (else, or for
    any other path, it parses the bytes). ``stat`` without ``data``: the caller hashed the file as it
    streamed it, never holding its bytes (a plain local path, :func:`plain_local_path`), and counted its
    lines (``n_lines``, or a function that gives them once a count running beside the parse ends;
    counted here when not given); DuckDB reads the path, and :class:`FileChanged` is raised when the
    file is no longer the one ``stat`` describes (the caller then reads and hashes its bytes and calls
    again with them)."""
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
        if n_lines is None:
            n_lines = count_lines(p)
    else:
        if data is None:
            stat = None if is_remote(p) else os.stat(p)
            data = p.read_bytes()
        first, size, n_lines = data, len(data), count_lines(data)
    by_path = stat is not None and plain_local_path(p)
    kinds = ["choice", "generation"]
    if _likely_kind(first) == "generation":
        kinds.reverse()
    for kind in kinds:
        try:
            parts = _read_compact(p if by_path else data, kind)
            if by_path and not _unchanged(stat, p, size):
                if streamed:
                    raise FileChanged(f"{p} changed while it was read")
                parts = _read_compact(data, kind)  # the file changed after it was read: parse what was read
        except FileChanged:
            raise
        except (duckdb.Error, pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
            continue
        if parts is None:
            return None  # a row not of the plain shape: the line reader reports it
        n = sum(len(part["doc"]) for part in parts)
        if callable(n_lines):
            n_lines = n_lines()
        if n == 0 or n != n_lines:
            return None  # a blank line (or none at all): the line reader reports it
        doc_ids = pa.chunked_array([part["doc"] for part in parts], pa.int64()).combine_chunks()
        filters = pa.chunked_array([part["filter"] for part in parts], pa.string()).combine_chunks()
        filters = filters.fill_null("none")
        doc = doc_ids.to_numpy()
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
        out = {"task": names, "example_id": pc.cast(doc_ids, pa.string())}
        if kind == "choice":
            k = np.concatenate([part["k"] for part in parts])
            offsets = np.concatenate([[0], np.cumsum(k)])
            lp = np.concatenate([part["lp"] for part in parts])
            out.update(target=pa.nulls(n, pa.string()), prediction=pa.nulls(n, pa.string()),
                       choice_logprobs=pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(lp)),
                       correct_choice=pa.array(np.concatenate([part["target"] for part in parts]), pa.int64()))
        else:
            out.update(target=pa.chunked_array([part["target"] for part in parts], pa.string()).combine_chunks(),
                       prediction=pa.chunked_array([part["prediction"] for part in parts],
                                                   pa.string()).combine_chunks(),
                       choice_logprobs=pa.nulls(n, pa.list_(pa.float64())), correct_choice=pa.nulls(n, pa.int64()))
        out["_line"] = pa.array(np.arange(1, n + 1), pa.int64())
        return pa.table(out), n
    return None
