"""Load any mix of result files (files or folders) into one tidy curve table plus, where per-sample
logs exist, records for bootstrap CIs — recognising each file by its content.

Every file under the given paths is accounted for (:attr:`SourceBundle.inputs`, written as
``inputs.csv``): its format, the input rows read, loaded and reported, and a status; for every
file ``rows_loaded + rows_reported = rows_read``.  Anything not loaded is in the issue log with
file, line and key.  Nothing here raises on bad input: a file that cannot be read is a reported
file, and the others load.

**Sizes** come, in order, from the file (lm-eval's ``model_num_parameters``, BIG-bench's
parameter counts, a table's ``scale_params``), a local checkpoint named in the run's config
(``pretrained=/path``: safetensors headers, :mod:`.checkpoint`), the model name (``1.4b``), a
metadata table (``--models``), a scale map (``--scale-map``), and the built-in catalogue of public
families (:mod:`.catalogue`).  Training FLOPs ``6ND`` where the tokens are known.  Names are
read as published (:mod:`.model_names`: hub cache paths, revisions, version/dtype/format suffixes,
fine-tunes of a catalogued base), and the rule used is written into ``models.csv``.

**Families**: ``--family``; else the metadata / scale map; else the file's own (BIG-bench
``model_family``, a table's ``family``); else the catalogue; else the name without its size
token when the name has one (``pythia-1.4b`` -> ``pythia``); else the models read from one input
path (folder or table) form one family named after it.  ``models.csv`` says where each came from.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from emergence_lens._io import iter_jsonl, sha256_and_lines, sha256_file
from emergence_lens.records import RECORD_SCHEMA, RecordsError, records_to_pandas, validate_across, validate_records
from emergence_lens.sources.bigbench_scores import bigbench_rows_in, read_bigbench_scores
from emergence_lens.sources.checkpoint import checkpoint_params
from emergence_lens.sources.issues import IssueLog, SourceIssue
from emergence_lens.sources.lmeval import (
    SAMPLES_RE,
    lmeval_model_info,
    read_lmeval_results,
    read_lmeval_samples,
    FileChanged,
    plain_local_path,
    read_lmeval_samples_fast,
    results_rows_in,
)
from emergence_lens.sources.inspect_logs import InspectLogError, read_inspect_log
from emergence_lens.sources.location import LocationError, UnopenedURL, as_location, is_remote, reader_source
from emergence_lens.sources.model_names import is_size_token, parse_model_name, resolve_catalogue
from emergence_lens.sources.sample_size import fill_sample_sizes
from emergence_lens.sources.scale import infer_family, model_basename, parse_scale
from emergence_lens.sources.sniff import DATA_SUFFIXES, read_text, sniff
from emergence_lens.sources.tables import WideSpec, count_rows, is_metadata_table, read_metadata, read_table

__all__ = ["SourceBundle", "load_sources", "CURVE_ROW_COLUMNS", "INPUT_COLUMNS", "MODEL_COLUMNS"]

CURVE_ROW_COLUMNS = ["family", "model", "scale_params", "scale_source", "scale_flops", "task", "subtask",
                     "shots", "metric", "value", "n_examples", "n_source", "stderr", "higher_is_better", "aggregate",
                     "replicates", "replicate_low", "replicate_high", "source"]
INPUT_COLUMNS = ["file", "format", "rows_read", "rows_loaded", "rows_reported", "status"]
MODEL_COLUMNS = ["model", "family", "family_source", "scale_params", "scale_flops", "size_source"]


@dataclass
class SourceBundle:
    """Attributes:
        curves: one row per (model, task, subtask, shots, metric) value, :data:`CURVE_ROW_COLUMNS`.
        records: per-example records re-scored from lm-eval samples (``None`` if there were none).
        issues: every problem met, with file, line and key.
        unresolved: models whose scale could not be resolved (their rows are held out, listed here).
        files: the data files read.
        inputs: every file under the paths, :data:`INPUT_COLUMNS`.
        models: where each model's family and size came from, :data:`MODEL_COLUMNS`.
    """

    curves: pd.DataFrame
    records: pd.DataFrame | None
    issues: IssueLog
    unresolved: pd.DataFrame
    files: list[str] = field(default_factory=list)
    inputs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INPUT_COLUMNS))
    models: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MODEL_COLUMNS))
    deferred: DeferredSamples | None = None


@dataclass
class SampleJob:
    """One samples file left to read (``load_sources(defer_samples=True)``): an lm-eval samples file
    or an Inspect log's samples; the file, its task, its results information (an lm-eval folder's
    results file, the log's header), whether there was none, and its model's resolved ``(scale,
    flops, family, source)``."""

    file: _File
    task: str
    info: dict[str, Any]
    no_results: bool
    resolved: tuple[float | None, float | None, str, str]

    @property
    def key(self) -> tuple[str, str]:
        """The partition: (family, task) — the records of one key are one group of curves."""
        return (self.resolved[2], self.task)


@dataclass
class FileOutcome:
    """What reading one deferred samples file gave: rows read, status, the issues of reading it and
    of forming its records (in that order of the whole audit), rows loaded, unresolved rows."""

    path: str
    rows_read: int
    status: str
    read_issues: list[SourceIssue]
    record_issues: list[SourceIssue]
    loaded: int
    unresolved: list[dict[str, Any]]
    sha256: str = ""  # of the bytes read (for run.json), computed where they were read


@dataclass
class DeferredSamples:
    """The samples files ``load_sources(defer_samples=True)`` did not read, and what it needs to
    finish the bundle once they are (:func:`complete_bundle`)."""

    jobs: list[SampleJob]
    files: list[_File]
    loaded_count: dict[str, int]
    mark: int  # issues before this index come before the samples' reading issues


@dataclass
class _File:
    path: Path
    root: str
    format: str = ""
    status: str = "ok"
    rows_read: int = 0
    encoding: str = "utf-8"


def _expand(paths: Iterable[str | Path], issues: IssueLog) -> list[_File]:
    out: list[_File] = []
    for raw in paths:
        try:
            p = as_location(raw)
        except LocationError as exc:
            issues.add(str(raw), None, None, str(exc), "error")
            out.append(_File(UnopenedURL(raw), str(raw), status="skipped: no filesystem for this URL"))
            continue
        if not p.exists():
            issues.add(p, None, None, "path does not exist", "error")
            out.append(_File(p, p.name, status="skipped: path does not exist"))
            continue
        root = p.name if p.is_dir() else p.stem
        candidates = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for q in candidates:
            out.append(_File(q, root))
    return out


def _pretrained_path(data: Any) -> str | None:
    config = data.get("config") if isinstance(data, dict) and isinstance(data.get("config"), dict) else {}
    args = config.get("model_args")
    if isinstance(args, dict):
        return str(args.get("pretrained")) if args.get("pretrained") else None
    if isinstance(args, str):
        for part in args.split(","):
            k, _, v = part.partition("=")
            if k.strip() == "pretrained" and v.strip():
                return v.strip()
    return None


class _Resolver:
    """Scale and family of each model, in the documented order; remembers where each came from."""

    def __init__(self, scale_map: Mapping[str, Mapping[str, Any]], metadata: Mapping[str, Mapping[str, Any]],
                 family: str | None) -> None:
        self.scale_map = scale_map
        self.metadata = metadata
        self.family = family
        self.models: dict[str, dict[str, Any]] = {}

    def _entry(self, table: Mapping[str, Mapping[str, Any]], model: str) -> Mapping[str, Any]:
        if not table:
            return {}
        parsed = parse_model_name(model)
        for key in (model, model_basename(model), model_basename(model).lower(), parsed.hub_id,
                    model_basename(parsed.hub_id), parsed.core, parsed.core.lower()):
            if key in table:
                return table[key]
        return {}

    def resolve(self, model: str, file_scale: float | None, file_family: str | None, root: str,
                checkpoint: str | None = None, file_flops: float | None = None) -> tuple[float | None, float | None,
                                                                                        str, str]:
        key = (model, root)
        if key in self.models:
            m = self.models[key]
            return m["scale_params"], m["scale_flops"], m["family"], m["size_source"]
        meta = self._entry(self.metadata, model)
        smap = self._entry(self.scale_map, model)
        parsed = parse_model_name(model)
        match = resolve_catalogue(parsed)
        cat = match.entry if match is not None else None
        named = f"name ({parsed.how})" if parsed.how else "name"
        name_scale = parse_scale(parsed.core)
        scale, source = None, "unresolved"
        if file_scale and file_scale > 0:
            scale, source = float(file_scale), "file"
        elif checkpoint and (n := checkpoint_params(checkpoint)):
            scale, source = float(n), f"checkpoint {checkpoint}"
        elif name_scale is not None:
            scale, source = name_scale, named
        elif meta.get("scale_params"):
            scale, source = float(meta["scale_params"]), "metadata table"
        elif smap.get("scale_params"):
            scale, source = float(smap["scale_params"]), "scale map"
        elif match is not None:
            scale, source = match.entry.params, f"{match.how}: {match.entry.source}" + (
                f" ({parsed.how})" if parsed.how else "")
        flops = file_flops if file_flops and file_flops > 0 else meta.get("scale_flops")
        if flops is None and cat is not None and scale is not None and cat.train_tokens:
            flops = 6.0 * scale * cat.train_tokens
        if self.family:
            fam, fsrc = self.family, "--family"
        elif meta.get("family") or smap.get("family"):
            fam, fsrc = str(meta.get("family") or smap.get("family")), "metadata table / scale map"
        elif file_family:
            fam, fsrc = file_family, "file"
        elif match is not None:
            fam, fsrc = match.family, match.how + (f" ({parsed.how})" if parsed.how else "")
        elif name_scale is not None:
            fam, fsrc = infer_family(parsed.core), named
        else:
            fam, fsrc = root, f"input path {root!r} (names carry no family)"
        if is_size_token(fam) or not fam.strip("-_ "):  # a family is never a size token
            fam, fsrc = root, f"input path {root!r} (the name's family part was only a size)"
        self.models[key] = {"model": model, "family": fam, "family_source": fsrc, "scale_params": scale,
                            "scale_flops": flops, "size_source": source}
        return scale, flops, fam, source

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.models.values()), columns=MODEL_COLUMNS).sort_values(
            ["family", "scale_params", "model"], kind="stable", na_position="last").reset_index(drop=True)


def load_sources(paths: Iterable[str | Path], *, scale_map: Mapping[str, Mapping[str, Any]] | None = None,
                 family: str | None = None, bigbench_scale: str = "non_embedding_params",
                 metadata: Mapping[str, Mapping[str, Any]] | None = None, table_spec: WideSpec | None = None,
                 progress: Callable[[str], None] | None = None,
                 n_examples: Mapping[str, int] | None = None, defer_samples: bool = False) -> SourceBundle:
    """Read every file under ``paths`` (see the module docstring).

    Args:
        scale_map: ``{model: {"scale_params": .., "family": ..}}`` (see :func:`load_scale_map`).
        family: force one family name for every model.
        bigbench_scale: which BIG-bench parameter count is the scale.
        metadata: ``{model: {"scale_params", "scale_flops", "family"}}`` from a metadata table
            (:func:`emergence_lens.sources.tables.read_metadata`).
        table_spec: column choices for wide tables.
        progress: called with each file's name as it is read.
        n_examples: ``{task: N}`` test-set sizes for results-only values that do not carry one
            (:func:`emergence_lens.sources.sample_size.fill_sample_sizes`, which also derives ``n``
            from a binomial metric's stderr).
        defer_samples: leave lm-eval samples files unread (``bundle.deferred``: one job per file,
            with its model resolved) for a partitioned engine (:mod:`emergence_lens.engine`) to read
            per (family, task) and :func:`complete_bundle` to account; only when the paths hold no
            other per-example source (Inspect logs with samples, records files), else read as usual.
    """
    issues = IssueLog()
    files = _expand(paths, issues)
    resolver = _Resolver(dict(scale_map or {}), dict(metadata or {}), family)
    curve_rows: list[dict[str, Any]] = []
    dir_info: dict[Path, dict[str, Any]] = {}
    folder_models: dict[Path, list[str]] = {}
    metadata_rows: dict[str, int] = {}
    inspect_frames: list[tuple[_File, pd.DataFrame, dict[str, Any]]] = []
    inspect_logs: list[tuple[_File, str, dict[str, Any]]] = []  # deferred: (file, task, model info)
    record_tables: list[tuple[str, pa.Table]] = []
    samples: list[_File] = []
    for f in files:
        if f.status != "ok":
            continue
        if progress:
            progress(f.path.name)
        if f.path.suffix.lower() not in DATA_SUFFIXES or f.path.name.startswith("."):
            f.status = f"skipped: not a data file ({f.path.suffix or 'no suffix'})"
            continue
        s = sniff(f.path)
        f.encoding = s.encoding
        if s.format is None:
            f.status = f"skipped: {s.reason}"
            issues.add(f.path, None, None, f"{s.reason}; file skipped", "error")
            continue
        f.format = s.format
        try:
            if s.format == "lmeval_results":
                f.rows_read = results_rows_in(s.data)
                rows, info = read_lmeval_results(f.path, issues, data=s.data)
                info["checkpoint"] = _pretrained_path(s.data)
                for r in rows:
                    r.update(_file=str(f.path), _root=f.root, _file_scale=info.get("scale_params"),
                             _checkpoint=info["checkpoint"])
                curve_rows += rows
                if info.get("model"):
                    folder_models.setdefault(f.path.parent, [])
                    if info["model"] not in folder_models[f.path.parent]:
                        folder_models[f.path.parent].append(info["model"])
                    dir_info[f.path.parent] = info  # sorted order: the latest results file wins
            elif s.format == "bigbench_scores":
                f.rows_read = bigbench_rows_in(s.data)
                rows = read_bigbench_scores(f.path, issues, bigbench_scale, data=s.data)
                for r in rows:
                    r.update(_file=str(f.path), _root=f.root, _file_scale=r.get("scale_params"))
                curve_rows += rows
            elif s.format == "table" and is_metadata_table(f.path, s.encoding):
                f.format = "metadata"
                f.rows_read = count_rows(f.path, s.encoding)
                found = read_metadata(f.path, s.encoding, issues)
                for name, entry in found.items():  # the user's --models wins over a table found beside results
                    resolver.metadata.setdefault(name, entry)
                metadata_rows[str(f.path)] = len(found)
            elif s.format == "table":
                rows, f.rows_read = read_table(f.path, issues, spec=table_spec, encoding=s.encoding)
                for r in rows:
                    r.update(_file=str(f.path), _root=f.root, _file_scale=r.get("scale_params"))
                curve_rows += rows
            elif s.format == "lmeval_samples":
                samples.append(f)
            elif s.format == "records":
                got = _records_file(f, issues)
                if got is not None:
                    record_tables.append(got)
            elif s.format == "inspect_log":
                try:
                    rows, scorer_curves, info, f.rows_read = read_inspect_log(f.path, issues, data=s.data)
                except InspectLogError as exc:
                    f.status = f"skipped: {exc}"
                    issues.add(f.path, None, None, f"{exc}; file skipped", "error")
                    continue
                for r in scorer_curves:
                    r.update(_file=str(f.path), _root=f.root, _file_scale=None, _checkpoint=info["checkpoint"])
                curve_rows += scorer_curves
                if rows and defer_samples:  # its samples are read again by the partition's worker
                    inspect_logs.append((f, str(rows[0]["task"]), {**info, "_sample_rows": len(rows)}))
                elif rows:
                    inspect_frames.append((f, pd.DataFrame(rows), info))
        except Exception as exc:  # noqa: BLE001 - one unreadable file never ends the audit
            f.status = f"error: {type(exc).__name__}: {str(exc)[:160]}"
            issues.add(f.path, None, None, f"could not be read ({type(exc).__name__}: {str(exc)[:160]}); file "
                       "skipped", "error", rows=f.rows_read)
            curve_rows = [r for r in curve_rows if r.get("_file") != str(f.path)]

    # several models' results in one folder matter only to samples files in that folder: one issue
    # per such folder, none where there are no samples
    sample_dirs = {f.path.parent for f in samples}
    for folder, names in folder_models.items():
        if len(names) > 1 and folder in sample_dirs:
            issues.add(folder, None, "model", f"results files of {len(names)} models in one folder "
                       f"({', '.join(repr(n) for n in names[:4])}{', ...' if len(names) > 4 else ''}): its samples "
                       f"files are attributed to the latest, {names[-1]!r}")
    deferred = bool(defer_samples and (samples or inspect_logs) and not record_tables)
    if not deferred:  # records files need the whole table in memory: the logs' samples are read here after all
        for f, _task, info in inspect_logs:
            frame = _inspect_frame(f, info, issues, None)
            if frame is not None:
                inspect_frames.append((f, frame, info))
    if deferred:
        jobs = _sample_jobs(samples, issues)
        mark = len(issues)
        sample_frames: list[tuple[_File, Any, dict[str, Any]]] = []
    else:
        sample_frames = _read_samples(samples, dir_info, issues) + inspect_frames

    # -- curves: resolve every model ---------------------------------------------------------------
    unresolved: list[dict[str, Any]] = []
    curves = pd.DataFrame(curve_rows)
    if len(curves):
        for col in CURVE_ROW_COLUMNS + ["_checkpoint", "_file_scale", "scale_flops"]:
            if col not in curves:
                curves[col] = None
        curves["model"] = curves["model"].map(lambda m: str(m) if isinstance(m, str) and m.strip() else None)
        res = [resolver.resolve(m, s if pd.notna(s) else None, f if isinstance(f, str) else None, root,
                                ck if isinstance(ck, str) else None, fl if pd.notna(fl) else None)
               if isinstance(m, str) else (None, None, "", "unresolved")
               for m, s, f, root, ck, fl in zip(curves["model"], curves["_file_scale"], curves["family"],
                                                curves["_root"], curves["_checkpoint"], curves["scale_flops"],
                                                strict=True)]
        curves["scale_params"] = [r[0] for r in res]
        curves["scale_flops"] = [r[1] for r in res]
        curves["family"] = [r[2] for r in res]
        curves["scale_source"] = [r[3] for r in res]
        curves["subtask"] = curves["subtask"].where(curves["subtask"].notna(), curves["task"])
        curves["shots"] = pd.to_numeric(curves["shots"], errors="coerce")
        curves["aggregate"] = curves["aggregate"].fillna(False).astype(bool)
        curves["model"] = curves["model"].map(lambda m: m if isinstance(m, str) else None)
        bad = curves["scale_params"].isna() | curves["model"].isna()
        weight = pd.to_numeric(curves["_cells"], errors="coerce").fillna(1).astype(int) if "_cells" in curves \
            else pd.Series(1, index=curves.index)
        for (model, file), g in curves[bad].groupby([curves["model"].fillna("<none>"), "_file"]):
            reason = ("no model name" if model == "<none>" else
                      "no parameter count in the file, checkpoint, name, metadata, scale map or catalogue")
            n_rows = int(weight[g.index].sum())
            unresolved.append({"model": model, "source": file, "rows": n_rows, "reason": reason})
            issues.add(file, None, "model", f"model {model!r}: {reason}; {n_rows} row(s) held out (give --models "
                       "or --scale-map)", rows=n_rows)
        loaded_curves = fill_sample_sizes(curves[~bad], n_examples)
    else:
        loaded_curves = pd.DataFrame(columns=CURVE_ROW_COLUMNS + ["_file"])

    # -- records from samples --------------------------------------------------------------------
    if deferred:
        plan = []
        for f, task in jobs:
            info, none = _sample_info(f, dir_info)
            model = str(info.get("model") or f.path.parent.name)
            plan.append(SampleJob(f, task, info, none, resolver.resolve(model, info.get("scale_params"), None, f.root,
                                                                      info.get("checkpoint"))))
        for f, task, info in inspect_logs:  # after the lm-eval files, as the in-memory path forms records
            model = str(info.get("model") or f.path.parent.name)
            plan.append(SampleJob(f, task, info, False, resolver.resolve(model, info.get("scale_params"), None,
                                                                         f.root, info.get("checkpoint"))))
        records, loaded_samples = None, {}
    else:
        records, loaded_samples = _records(sample_frames, resolver, issues, unresolved, record_tables)

    # -- accounting --------------------------------------------------------------------------------
    loaded_count: dict[str, int] = {}
    if len(loaded_curves):  # a wide table's replicate cells load as one averaged point
        cells = pd.to_numeric(loaded_curves["_cells"], errors="coerce").fillna(1) if "_cells" in loaded_curves \
            else pd.Series(1, index=loaded_curves.index)
        loaded_count.update(cells.groupby(loaded_curves["_file"]).sum().astype(int).to_dict())
    for file, n in [*loaded_samples.items(), *metadata_rows.items()]:
        loaded_count[file] = loaded_count.get(file, 0) + n
    if deferred:
        inputs = pd.DataFrame(columns=INPUT_COLUMNS)
    else:
        inputs = _inputs(files, loaded_count, issues)
    out_curves = (loaded_curves.reset_index(drop=True)[CURVE_ROW_COLUMNS] if len(loaded_curves)
                  else pd.DataFrame(columns=CURVE_ROW_COLUMNS))
    return SourceBundle(out_curves, records, issues,
                        pd.DataFrame(unresolved, columns=["model", "source", "rows", "reason"]),
                        [str(f.path) for f in files if f.format], inputs, resolver.frame(),
                        DeferredSamples(plan, files, loaded_count, mark) if deferred else None)


def _inputs(files: list[_File], loaded_count: Mapping[str, int], issues: IssueLog) -> pd.DataFrame:
    """``inputs.csv``: every file, rows read / loaded / reported; a mismatch is itself an issue."""
    inputs = []
    for f in files:
        key = str(f.path)
        loaded = int(loaded_count.get(key, 0))
        reported = issues.rows_reported(key)
        status = f.status
        if loaded + reported != f.rows_read:
            issues.add(key, None, None, f"accounting: {f.rows_read} rows read, {loaded} loaded, {reported} reported "
                       "(please report this as a bug)", "error")
            status = "error: row accounting mismatch"
        elif status == "ok" and reported:
            status = f"ok, {reported} row(s) reported"
        inputs.append({"file": key, "format": f.format, "rows_read": f.rows_read, "rows_loaded": loaded,
                       "rows_reported": reported, "status": status})
    return pd.DataFrame(inputs, columns=INPUT_COLUMNS)


def complete_bundle(bundle: SourceBundle, outcomes: Mapping[str, FileOutcome],
                    across: Sequence[SourceIssue] = ()) -> SourceBundle:
    """The bundle of ``load_sources(defer_samples=True)`` once its samples files are read
    (``outcomes`` by path, every job's; ``across``: issues of checks that span files): the issues in
    the order the in-memory path gives them, unresolved models, ``inputs.csv``."""
    d = bundle.deferred
    if d is None:
        return bundle
    old = list(bundle.issues)
    issues = IssueLog(old[:d.mark])
    unresolved = bundle.unresolved.to_dict("records")
    loaded = dict(d.loaded_count)
    order = [outcomes[str(j.file.path)] for j in d.jobs]
    for j, o in zip(d.jobs, order, strict=True):
        j.file.rows_read, j.file.status = o.rows_read, o.status
        issues.extend(o.read_issues)
    issues.extend(old[d.mark:])
    for o in order:
        issues.extend(o.record_issues)
        unresolved.extend(o.unresolved)
        if o.loaded:
            loaded[o.path] = loaded.get(o.path, 0) + o.loaded
    issues.extend(across)
    inputs = _inputs(d.files, loaded, issues)
    return SourceBundle(bundle.curves, None, issues, pd.DataFrame(unresolved, columns=["model", "source", "rows",
                                                                                       "reason"]),
                        bundle.files, inputs, bundle.models, None)


def _parquet_rows(path: Path, issues: IssueLog) -> Iterator[tuple[int, Any]]:
    """``(row_number, row)`` of a Parquet file of lm-eval samples (1-based, as lines are), one row
    group at a time.  Each column is decoded on its own: a column that cannot be (a damaged page,
    bytes that are not UTF-8) is reported once per row group and the rows are read without it, so
    the fields they then lack are reported row by row, never lost silently."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(reader_source(path))
    names = pf.schema_arrow.names
    n = 0
    for rg in range(pf.num_row_groups):
        n_rows = pf.metadata.row_group(rg).num_rows
        cols: dict[str, list[Any]] = {}
        for name in names:
            try:
                values = pf.read_row_group(rg, columns=[name]).column(0).to_pylist()
                if len(values) != n_rows:
                    raise ValueError(f"{len(values)} values for {n_rows} rows")
                cols[name] = values
            except Exception as exc:  # noqa: BLE001 - one damaged column never ends the file
                issues.add(path, None, name, f"column not readable in rows {n + 1}-{n + n_rows} "
                           f"({type(exc).__name__}: {str(exc)[:100]}); those rows read without it")
        for i in range(n_rows):
            n += 1
            yield n, {k: v[i] for k, v in cols.items()}


def _sample_jobs(samples: list[_File], issues: IssueLog) -> list[tuple[_File, str]]:
    """The samples files to read, in path order, with their task; older files of the same (folder,
    task) are superseded and reported."""
    latest: dict[tuple[Path, str], _File] = {}
    for f in samples:
        m = SAMPLES_RE.match(f.path.name)
        task = m.group("task") if m else f.path.stem
        key = (f.path.parent, task)
        if key in latest:
            old = latest[key]
            old.status = f"skipped: superseded by the later {f.path.name}"
            issues.add(old.path, None, None, f"superseded by the later {f.path.name}; not used")
        latest[key] = f
    return [(f, task) for (_, task), f in sorted(latest.items(), key=lambda kv: str(kv[1].path))]


def _sample_info(f: _File, dir_info: Mapping[Path, dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """The results-file information of the folder of ``f`` (model, scale, checkpoint), and whether
    there was none (the model name is then the folder's)."""
    info = dir_info.get(f.path.parent)
    if info is None:
        return {"model": f.path.parent.name, "scale_params": None, "checkpoint": None}, True
    return info, False


def read_sample_file(f: _File, info: dict[str, Any], task: str, no_results: bool, issues: IssueLog,
                     digest: list[str] | None = None) -> Any:
    """One samples file as a compact frame (Arrow table or pandas frame; ``None`` when it has no
    usable row or cannot be read, reported); sets ``f.rows_read`` and ``f.status``.  ``digest``: a
    list that gets the SHA-256 of the bytes parsed (so run.json need not read the file again)."""
    if f.format == "inspect_log":
        return _inspect_frame(f, info, issues, digest)
    if no_results:
        issues.add(f.path, None, None, f"no lm-eval results file beside it; model name taken from the folder "
                   f"{f.path.parent.name!r}")
    counter = [0]
    try:
        fast, tried = None, False
        if f.encoding == "utf-8" and plain_local_path(f.path):
            # hashed as it streams (its bytes never held whole: ~15 ms less per 29 MB file than
            # reading them, then hashing), then DuckDB reads the path; the bytes only if it changed
            before = os.stat(f.path)
            try:
                hexdigest, n_lines = sha256_and_lines(f.path) if digest is not None else ("", None)
                fast = read_lmeval_samples_fast(f.path, info, task, None, before, n_lines)
                tried = True
                if digest is not None:
                    digest.append(hexdigest)
            except FileChanged:
                pass
        if not tried and (digest is not None or f.encoding == "utf-8"):  # other encodings: the line reader reads them
            before = None if is_remote(f.path) else os.stat(f.path)
            data = f.path.read_bytes()
            if digest is not None:
                digest.append(hashlib.sha256(data).hexdigest())
            if f.encoding == "utf-8":
                fast = read_lmeval_samples_fast(f.path, info, task, data, before)
            del data
        if fast is not None:
            frame, f.rows_read = fast
            pa.default_memory_pool().release_unused()  # the parser's blocks, back to the OS per file
            return frame
        lines = _parquet_rows(f.path, issues) if f.encoding == "parquet" else iter_jsonl(f.path, f.encoding)
        rows = read_lmeval_samples(f.path, info, issues, task=task, lines=lines, counter=counter)
    except Exception as exc:  # noqa: BLE001 - one unreadable file never ends the audit
        f.rows_read = counter[0]
        f.status = f"error: {type(exc).__name__}: {str(exc)[:160]}"
        issues.add(f.path, None, None, f"could not be read ({type(exc).__name__}); file skipped", "error",
                   rows=counter[0] - issues.rows_reported(f.path))
        return None
    f.rows_read = counter[0]
    return pd.DataFrame(rows) if rows else None


def _inspect_samples(f: _File) -> list[dict[str, Any]]:
    """The sample rows of an Inspect log read before (its issues, rows and scorer curves were taken
    then: a second reading reports nothing again); a JSON log decoded as it was then (UTF-16 too)."""
    data = None if f.encoding in ("zip", "utf-8") else json.loads(read_text(f.path, f.encoding))
    rows, _curves, _info, _n = read_inspect_log(f.path, IssueLog(), data=data)
    return rows


def _inspect_frame(f: _File, info: dict[str, Any], issues: IssueLog,
                   digest: list[str] | None) -> pd.DataFrame | None:
    """A deferred Inspect log's sample rows (in a partition's worker), hashed for ``run.json``; a log
    that can no longer be read (changed or removed since) is reported with the rows it had."""
    try:
        if digest is not None:
            digest.append(sha256_file(f.path))
        rows = _inspect_samples(f)
    except Exception as exc:  # noqa: BLE001 - reported, the partition goes on
        n = int(info.get("_sample_rows", 0))
        issues.add(f.path, None, None, f"could not be read again for its samples ({type(exc).__name__}: "
                   f"{str(exc)[:120]}); {n} sample row(s) skipped", "error", rows=n)
        return None
    return pd.DataFrame(rows) if rows else None


def _read_samples(samples: list[_File], dir_info: Mapping[Path, dict[str, Any]],
                  issues: IssueLog) -> list[tuple[_File, pd.DataFrame, dict[str, Any]]]:
    """Stream every samples file into a compact frame (one per file); older files of the same
    (folder, task) are superseded and reported."""
    out = []
    for f, task in _sample_jobs(samples, issues):
        info, none = _sample_info(f, dir_info)
        frame = read_sample_file(f, info, task, none, issues)
        if frame is not None:
            out.append((f, frame, info))
    return out


_SAMPLE_EXTRAS = ("_file", "_line")


_SAMPLE_SCHEMA = pa.schema([("task", pa.string()), ("example_id", pa.string()), ("target", pa.string()),
                            ("prediction", pa.string()), ("choice_logprobs", pa.list_(pa.float64())),
                            ("correct_choice", pa.int64()), ("_line", pa.int64())])


def _as_arrow(frame: Any) -> pa.Table:
    """A samples file's rows (a frame from the line-by-line reader, or the fast path's table)."""
    if isinstance(frame, pa.Table):
        return frame
    return pa.Table.from_pandas(frame[_SAMPLE_SCHEMA.names], schema=_SAMPLE_SCHEMA, preserve_index=False)


def _records_file(f: _File, issues: IssueLog) -> tuple[str, pa.Table] | None:
    """A records file (Parquet with the records schema's required columns, as ``evaluate`` writes
    them) validated as it is: its own family and scale; ``None`` (reported) when it is not valid."""
    import pyarrow.parquet as pq

    t = pq.read_table(reader_source(f.path))
    f.rows_read = t.num_rows
    try:
        t = validate_records(t, source=str(f.path))
    except RecordsError as exc:
        issues.add(f.path, None if exc.row is None else exc.row + 1, exc.column,
                   f"not valid records ({exc}); this file's {f.rows_read} row(s) dropped", "error", rows=f.rows_read)
        return None
    n = t.num_rows
    t = (t.append_column("_file", pa.repeat(pa.scalar(str(f.path), pa.string()), n))
          .append_column("_line", pa.array(np.arange(1, n + 1), pa.int64())))
    return str(f.path), t.select([*RECORD_SCHEMA.names, *_SAMPLE_EXTRAS])


def sample_table(f: _File, frame: Any, info: dict[str, Any],
                 resolved: tuple[float | None, float | None, str, str], issues: IssueLog,
                 unresolved: list[dict[str, Any]]) -> tuple[str, pa.Table] | None:
    """One samples file's rows as validated records (Arrow, with ``_file``/``_line``), given its
    model's resolved ``(scale, flops, family, source)``; ``None`` when the model has no size or the
    rows cannot form records (reported, rows accounted)."""
    model = str(info.get("model") or f.path.parent.name)
    n = frame.num_rows if isinstance(frame, pa.Table) else len(frame)
    scale, flops, fam, _src = resolved
    if scale is None:
        unresolved.append({"model": model, "source": str(f.path), "rows": n,
                           "reason": "no parameter count in the results file, checkpoint, name, metadata, scale "
                                     "map or catalogue"})
        issues.add(f.path, None, "model", f"model {model!r} has no known size; {n} sample row(s) held "
                   "out (give --models or --scale-map)", rows=n)
        return None
    t = _as_arrow(frame)
    no_flops = flops is None or bool(np.isnan(flops))  # a missing count is null, as pandas' NaN would be

    def same(value: Any, kind: pa.DataType) -> pa.Array:  # one value n times (~80x np.full of objects)
        return pa.repeat(pa.scalar(value, kind), n)

    t = (t.append_column("family", same(fam, pa.string()))
          .append_column("model", same(model, pa.string()))
          .append_column("scale_params", same(float(scale), pa.float64()))
          .append_column("scale_flops", same(None if no_flops else float(flops), pa.float64()))
          .append_column("_file", same(str(f.path), pa.string())))
    lines = t.column("_line").to_numpy()
    try:
        t = validate_records(t, source=str(f.path))
    except RecordsError as exc:
        line = int(lines[exc.row]) if exc.row is not None and exc.row < len(lines) else None
        issues.add(f.path, line, exc.column, f"samples could not form records ({exc}); this file's {n} row(s) "
                   "dropped", "error", rows=n)
        return None
    return str(f.path), t.select([*RECORD_SCHEMA.names, *_SAMPLE_EXTRAS])


def records_across(kept: list[tuple[str, pa.Table]], issues: IssueLog) -> tuple[pd.DataFrame | None, dict[str, int]]:
    """The one records table from every file's validated records, checked for what spans files (a
    document twice, two sizes for one model): a file that breaks it is reported and dropped."""
    while kept:
        table = pa.concat_tables([t for _, t in kept])

        def at(i: int, table: pa.Table = table) -> str:  # a row by its file and line, however grouped
            return f"{table.column('_file')[i].as_py()} line {table.column('_line')[i].as_py()}"

        try:
            validate_across(table, source="lm-eval samples", describe=at)
        except RecordsError as exc:
            row = exc.row if exc.row is not None else 0
            bad_file = table.column("_file")[row].as_py() if row < table.num_rows else kept[0][0]
            line = table.column("_line")[row].as_py() if exc.row is not None and row < table.num_rows else None
            n_bad = next(t.num_rows for name, t in kept if name == bad_file)
            issues.add(bad_file, line, exc.column, f"samples could not form records with the other files "
                       f"({exc.message}); this file's {n_bad} row(s) dropped", "error", rows=n_bad)
            kept = [(name, t) for name, t in kept if name != bad_file]
            continue
        counts = pc.value_counts(table.column("_file")).to_pylist()
        loaded = {c["values"]: int(c["counts"]) for c in counts}
        kept.clear()
        records = records_to_pandas(table.drop_columns(list(_SAMPLE_EXTRAS)))
        del table
        pa.default_memory_pool().release_unused()
        return records, loaded
    return None, {}


def _records(frames: list[tuple[_File, Any, dict[str, Any]]], resolver: _Resolver, issues: IssueLog,
             unresolved: list[dict[str, Any]],
             ready: list[tuple[str, pa.Table]] | None = None) -> tuple[pd.DataFrame | None, dict[str, int]]:
    """Validated records from the samples files, kept columnar (Arrow) until the one final table: each
    file is validated on its own (a file whose rows cannot form records is reported with the first
    problem and dropped, the others kept), then the whole for what spans files (a document twice,
    two sizes for one model)."""
    kept: list[tuple[str, pa.Table]] = list(ready or [])
    frames.reverse()
    while frames:  # each file's raw rows are released as soon as its records are built
        f, frame, info = frames.pop()
        model = str(info.get("model") or f.path.parent.name)
        resolved = resolver.resolve(model, info.get("scale_params"), None, f.root, info.get("checkpoint"))
        got = sample_table(f, frame, info, resolved, issues, unresolved)
        if got is not None:
            kept.append(got)
    return records_across(kept, issues)
