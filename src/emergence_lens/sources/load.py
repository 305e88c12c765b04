"""Load any mix of result files (files or folders) into one tidy curve table plus, where per-sample
logs exist, records for bootstrap CIs — recognising each file by its content and reading it with the
one reader of its format (:data:`READERS`).  The jobs are split by module: the input files and their
row accounting (:mod:`.files`), model identity (:mod:`.identity`), per-example sources
(:mod:`.samples`).

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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from emergence_lens.registry import Registry
from emergence_lens.sources.bigbench_scores import bigbench_rows_in, read_bigbench_scores
from emergence_lens.sources.files import INPUT_COLUMNS, InputFile, account_inputs, expand_paths
from emergence_lens.sources.identity import MODEL_COLUMNS, ModelResolver, ResolvedModel, pretrained_path
from emergence_lens.sources.inspect_logs import InspectLogError, read_inspect_log
from emergence_lens.sources.issues import IssueLog, SourceIssue
from emergence_lens.sources.lmeval import read_lmeval_results, results_rows_in
from emergence_lens.sources.sample_size import fill_sample_sizes
from emergence_lens.sources.samples import (
    DeferredSamples,
    FileOutcome,
    SampleJob,
    file_model,
    inspect_frame,
    read_samples,
    records_file,
    records_from_samples,
    sample_info,
    sample_jobs,
)
from emergence_lens.sources.sniff import DATA_SUFFIXES, Sniffed, sniff
from emergence_lens.sources.tables import WideSpec, count_rows, is_metadata_table, read_metadata, read_table

__all__ = ["SourceBundle", "load_sources", "complete_bundle", "READERS", "Loading", "CURVE_ROW_COLUMNS",
           "INPUT_COLUMNS", "MODEL_COLUMNS"]

CURVE_ROW_COLUMNS = ["family", "model", "scale_params", "scale_source", "scale_flops", "task", "subtask",
                     "shots", "metric", "value", "n_examples", "n_source", "stderr", "higher_is_better", "aggregate",
                     "replicates", "replicate_low", "replicate_high", "source"]


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
class Loading:
    """What one :func:`load_sources` call gathers as it reads its files: each reader of
    :data:`READERS` is ``reader(file, sniffed, loading)`` and adds to it (curve rows with
    :meth:`add_curves`, samples files, records tables, model sizes) and sets ``file.rows_read``."""

    issues: IssueLog
    resolver: ModelResolver
    table_spec: WideSpec | None
    bigbench_scale: str
    defer_samples: bool
    curve_rows: list[dict[str, Any]] = field(default_factory=list)
    dir_info: dict[Path, dict[str, Any]] = field(default_factory=dict)
    folder_models: dict[Path, list[str]] = field(default_factory=dict)
    metadata_rows: dict[str, int] = field(default_factory=dict)
    inspect_frames: list[tuple[InputFile, pd.DataFrame, dict[str, Any]]] = field(default_factory=list)
    inspect_logs: list[tuple[InputFile, str, dict[str, Any]]] = field(default_factory=list)  # deferred
    record_tables: list[tuple[str, pa.Table]] = field(default_factory=list)
    samples: list[InputFile] = field(default_factory=list)

    def add_curves(self, f: InputFile, rows: list[dict[str, Any]], **extra: Any) -> None:
        """Results-only curve rows of ``f`` (each knows its file and input root)."""
        for r in rows:
            r.update(_file=str(f.path), _root=f.root, **{k: (v(r) if callable(v) else v) for k, v in extra.items()})
        self.curve_rows += rows


def _read_results(f: InputFile, s: Sniffed, st: Loading) -> None:
    """An lm-eval results file: its curves, and its model for the samples files beside it."""
    f.rows_read = results_rows_in(s.data)
    rows, info = read_lmeval_results(f.path, st.issues, data=s.data)
    info["checkpoint"] = pretrained_path(s.data)
    st.add_curves(f, rows, _file_scale=info.get("scale_params"), _checkpoint=info["checkpoint"])
    if info.get("model"):
        st.folder_models.setdefault(f.path.parent, [])
        if info["model"] not in st.folder_models[f.path.parent]:
            st.folder_models[f.path.parent].append(info["model"])
        st.dir_info[f.path.parent] = info  # sorted order: the latest results file wins


def _read_bigbench(f: InputFile, s: Sniffed, st: Loading) -> None:
    """A BIG-bench score file: its curves."""
    f.rows_read = bigbench_rows_in(s.data)
    rows = read_bigbench_scores(f.path, st.issues, st.bigbench_scale, data=s.data)
    st.add_curves(f, rows, _file_scale=lambda r: r.get("scale_params"))


def _read_table(f: InputFile, s: Sniffed, st: Loading) -> None:
    """A table: model sizes (a metadata table, recognised by content) or results (tidy or wide)."""
    if is_metadata_table(f.path, s.encoding):
        f.format = "metadata"
        f.rows_read = count_rows(f.path, s.encoding)
        found = read_metadata(f.path, s.encoding, st.issues)
        for name, entry in found.items():  # the user's --models wins over a table found beside results
            st.resolver.metadata.setdefault(name, entry)
        st.metadata_rows[str(f.path)] = len(found)
        return
    rows, f.rows_read = read_table(f.path, st.issues, spec=st.table_spec, encoding=s.encoding)
    st.add_curves(f, rows, _file_scale=lambda r: r.get("scale_params"))


def _read_samples_later(f: InputFile, s: Sniffed, st: Loading) -> None:
    """An lm-eval samples file: read once every results file is known (:mod:`.samples`)."""
    st.samples.append(f)


def _read_records(f: InputFile, s: Sniffed, st: Loading) -> None:
    """A records file (``evaluate``/``score``'s Parquet), validated whole."""
    got = records_file(f, st.issues)
    if got is not None:
        st.record_tables.append(got)


def _read_inspect(f: InputFile, s: Sniffed, st: Loading) -> None:
    """An Inspect log: its scorers' curves now, its samples now or (deferred) in a partition."""
    try:
        rows, scorer_curves, info, f.rows_read = read_inspect_log(f.path, st.issues, data=s.data)
    except InspectLogError as exc:
        f.status = f"skipped: {exc}"
        st.issues.add(f.path, None, None, f"{exc}; file skipped", "error")
        return
    st.add_curves(f, scorer_curves, _file_scale=None, _checkpoint=info["checkpoint"])
    if rows and st.defer_samples:  # its samples are read again by the partition's worker
        st.inspect_logs.append((f, str(rows[0]["task"]), {**info, "_sample_rows": len(rows)}))
    elif rows:
        st.inspect_frames.append((f, pd.DataFrame(rows), info))


#: The reader of each format :func:`emergence_lens.sources.sniff.sniff` recognises: the one place a
#: format is dispatched (a new format is a sniff rule and a reader here).
READERS: Registry[Callable[[InputFile, Sniffed, Loading], None]] = Registry("input format")
for _format, _reader in (("lmeval_results", _read_results), ("bigbench_scores", _read_bigbench),
                         ("table", _read_table), ("lmeval_samples", _read_samples_later),
                         ("records", _read_records), ("inspect_log", _read_inspect)):
    READERS.register(_format, _reader)
del _format, _reader


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
    files = expand_paths(paths, issues)
    st = Loading(issues, ModelResolver(dict(scale_map or {}), dict(metadata or {}), family), table_spec,
                  bigbench_scale, defer_samples)
    for f in files:
        _read_file(f, st, progress)

    issues, resolver, curve_rows, dir_info = st.issues, st.resolver, st.curve_rows, st.dir_info
    folder_models, metadata_rows, samples = st.folder_models, st.metadata_rows, st.samples
    inspect_logs, inspect_frames, record_tables = st.inspect_logs, st.inspect_frames, st.record_tables

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
            frame = inspect_frame(f, info, issues).frame
            if frame is not None:
                inspect_frames.append((f, frame, info))
    if deferred:
        jobs = sample_jobs(samples, issues)
        mark = len(issues)
        sample_frames: list[tuple[InputFile, Any, dict[str, Any]]] = []
    else:
        sample_frames = read_samples(samples, dir_info, issues) + inspect_frames

    # -- curves: resolve every model ---------------------------------------------------------------
    unresolved: list[dict[str, Any]] = []
    loaded_curves = _resolve_curves(curve_rows, resolver, issues, unresolved, n_examples)

    # -- records from samples --------------------------------------------------------------------
    if deferred:
        plan = _sample_plan(jobs, inspect_logs, dir_info, resolver)
        records, loaded_samples = None, {}
    else:
        records, loaded_samples = records_from_samples(sample_frames, resolver, issues, unresolved, record_tables)

    # -- accounting --------------------------------------------------------------------------------
    loaded_count = _loaded_counts(loaded_curves, loaded_samples, metadata_rows)
    if deferred:
        inputs = pd.DataFrame(columns=INPUT_COLUMNS)
    else:
        inputs = account_inputs(files, loaded_count, issues)
    out_curves = (loaded_curves.reset_index(drop=True)[CURVE_ROW_COLUMNS] if len(loaded_curves)
                  else pd.DataFrame(columns=CURVE_ROW_COLUMNS))
    return SourceBundle(out_curves, records, issues,
                        pd.DataFrame(unresolved, columns=["model", "source", "rows", "reason"]),
                        [str(f.path) for f in files if f.format], inputs, resolver.frame(),
                        DeferredSamples(plan, files, loaded_count, mark) if deferred else None)


def _read_file(f: InputFile, st: Loading, progress: Callable[[str], None] | None) -> None:
    """Recognise one input file by content and read it with its format's reader (:data:`READERS`);
    a file that is not data, or that its reader cannot read, is skipped with an issue."""
    if f.status != "ok":
        return
    if progress:
        progress(f.path.name)
    if f.path.suffix.lower() not in DATA_SUFFIXES or f.path.name.startswith("."):
        f.status = f"skipped: not a data file ({f.path.suffix or 'no suffix'})"
        return
    s = sniff(f.path)
    f.encoding = s.encoding
    if s.format is None:
        f.status = f"skipped: {s.reason}"
        st.issues.add(f.path, None, None, f"{s.reason}; file skipped", "error")
        return
    f.format = s.format
    try:
        READERS[s.format](f, s, st)
    except Exception as exc:  # noqa: BLE001 - one unreadable file never ends the audit
        f.status = f"error: {type(exc).__name__}: {str(exc)[:160]}"
        st.issues.add(f.path, None, None, f"could not be read ({type(exc).__name__}: {str(exc)[:160]}); file "
                      "skipped", "error", rows=f.rows_read)
        st.curve_rows = [r for r in st.curve_rows if r.get("_file") != str(f.path)]


def _resolve_curves(curve_rows: list[dict[str, Any]], resolver: ModelResolver, issues: IssueLog,
                    unresolved: list[dict[str, Any]], n_examples: Mapping[str, int] | None) -> pd.DataFrame:
    """The results-only curve rows with every model's size and family resolved; rows whose model
    cannot be resolved are held out, each (model, file) once in ``unresolved`` and the issues."""
    curves = pd.DataFrame(curve_rows)
    if len(curves):
        for col in CURVE_ROW_COLUMNS + ["_checkpoint", "_file_scale", "scale_flops"]:
            if col not in curves:
                curves[col] = None
        curves["model"] = curves["model"].map(lambda m: str(m) if isinstance(m, str) and m.strip() else None)
        res = [resolver.resolve(m, s if pd.notna(s) else None, f if isinstance(f, str) else None, root,
                                ck if isinstance(ck, str) else None, fl if pd.notna(fl) else None)
               if isinstance(m, str) else ResolvedModel(None, None, "", "unresolved")
               for m, s, f, root, ck, fl in zip(curves["model"], curves["_file_scale"], curves["family"],
                                                curves["_root"], curves["_checkpoint"], curves["scale_flops"],
                                                strict=True)]
        curves["scale_params"] = [r.scale_params for r in res]
        curves["scale_flops"] = [r.scale_flops for r in res]
        curves["family"] = [r.family for r in res]
        curves["scale_source"] = [r.size_source for r in res]
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
        return fill_sample_sizes(curves[~bad], n_examples)
    return pd.DataFrame(columns=CURVE_ROW_COLUMNS + ["_file"])


def _sample_plan(jobs: list, inspect_logs: list, dir_info: Mapping[Any, Any],
                 resolver: ModelResolver) -> list[SampleJob]:
    """One job per deferred samples file and Inspect log, its model resolved (lm-eval files first, as
    the in-memory path forms records)."""
    plan = []
    for f, task in jobs:
        info, none = sample_info(f, dir_info)
        model = file_model(f, info)
        plan.append(SampleJob(f, task, info, none, resolver.resolve(model, info.get("scale_params"), None, f.root,
                                                                  info.get("checkpoint"))))
    for f, task, info in inspect_logs:
        model = file_model(f, info)
        plan.append(SampleJob(f, task, info, False, resolver.resolve(model, info.get("scale_params"), None,
                                                                     f.root, info.get("checkpoint"))))
    return plan


def _loaded_counts(loaded_curves: pd.DataFrame, loaded_samples: Mapping[str, int],
                   metadata_rows: Mapping[str, int]) -> dict[str, int]:
    """Rows loaded per input file: curve rows (a wide table's replicate cells load as one averaged
    point, counted per cell), sample rows and metadata rows."""
    loaded_count: dict[str, int] = {}
    if len(loaded_curves):
        cells = pd.to_numeric(loaded_curves["_cells"], errors="coerce").fillna(1) if "_cells" in loaded_curves \
            else pd.Series(1, index=loaded_curves.index)
        loaded_count.update(cells.groupby(loaded_curves["_file"]).sum().astype(int).to_dict())
    for file, n in [*loaded_samples.items(), *metadata_rows.items()]:
        loaded_count[file] = loaded_count.get(file, 0) + n
    return loaded_count


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
    inputs = account_inputs(d.files, loaded, issues)
    return SourceBundle(bundle.curves, None, issues, pd.DataFrame(unresolved, columns=["model", "source", "rows",
                                                                                       "reason"]),
                        bundle.files, inputs, bundle.models, None)
