"""Per-example scores: what the statistics keep of one model's rows of one (family, task).

``records -> metrics -> curves`` goes through here: a model's rows (texts, log-probs) are scored
once, and only numbers survive them — the example ids in order, each metric's per-example scores
(and weights), the ingredients of each sharp metric's transform
(:class:`~emergence_lens.emergence.transforms.Ingredient`) and how many options the examples had
(for chance levels).  The curves, their bootstrap, the verdicts and the explanations read these,
never the rows, so the audit scores each samples file as it is read and frees its text
(:func:`score_examples` on the file's records), and the parts of one model's examples merge
(:func:`merge_examples`): scoring files one by one equals scoring their records at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from emergence_lens.codes import combine_codes, one_value
from emergence_lens.emergence.transforms import SOURCE_COLUMNS, SOURCES, Ingredient, ingredients
from emergence_lens.metrics import MetricSpec
from emergence_lens.metrics.ragged import list_lengths
from emergence_lens.records import REQUIRED_COLUMNS, records_to_pandas

__all__ = ["ModelScores", "score_examples", "score_table", "SLICE_ROWS", "merge_examples", "applicability"]


@dataclass
class ModelScores:
    """One model's examples of one (family, task), in example-id order, as numbers.

    Attributes:
        scale_params, scale_flops, pretrain_loss: the model's (first non-missing value of its rows).
        example_ids: the examples' ids, sorted (Arrow strings: a few bytes each).
        scores: metric -> per-example scores, for each metric whose inputs every row has.
        weights: metric -> per-example weights (metrics that pool examples with weights).
        present: metric -> rows with every input of the metric (``requires``) and the first id
            (in order) of a row lacking one (``None`` when every row has them).
        ingredients: sharp metric -> its transform's ingredients these rows give, by source.
        obs: sharp metric -> its per-example scores under default options, where the curve's
            were scored with other options (a transform's design reads the default ones).
        choices: ``(K, count)``: how many examples had ``K`` options (those with options).
    """

    family: str
    task: str
    model: str
    scale_params: float
    scale_flops: float
    pretrain_loss: float
    example_ids: pa.Array
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    present: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    ingredients: dict[str, dict[str, Ingredient]] = field(default_factory=dict)
    obs: dict[str, np.ndarray] = field(default_factory=dict)
    choices: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))

    @property
    def n(self) -> int:
        return len(self.example_ids)

    @property
    def nbytes(self) -> int:
        """Bytes its examples hold: ids, scores, weights, transform ingredients, option counts."""
        arrays = [*self.scores.values(), *self.weights.values(), *self.obs.values(), *self.choices]
        for by_source in self.ingredients.values():
            for i in by_source.values():
                arrays += [i.values] + ([i.lengths] if i.lengths is not None else [])
        return self.example_ids.nbytes + sum(a.nbytes for a in arrays)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.family, self.task, self.model)

    def observed(self, metric: str) -> np.ndarray:
        """The per-example scores a transform's design of ``metric`` starts from."""
        return self.obs.get(metric, self.scores[metric])


def _first_valid(values: np.ndarray) -> float:
    ok = np.flatnonzero(~np.isnan(values))
    return float(values[ok[0]]) if ok.size else float("nan")


def score_examples(records: pd.DataFrame, specs: Sequence[MetricSpec],
                   options: Mapping[str, Mapping[str, Any]] | None = None) -> list[ModelScores]:
    """Score ``records`` under ``specs``: one :class:`ModelScores` per (family, task, model), in the
    order the records first name them.  A metric is scored on a model's rows only when every row has
    its inputs (:func:`applicability` decides for the whole group); each row is scored on its own,
    so any partition of a model's rows scores the same (:func:`merge_examples`).

    Args:
        records: records (the columns of :data:`~emergence_lens.records.RECORD_SCHEMA` that are
            present; a missing optional one counts as null everywhere).
        options: per-metric keyword options of the scorers.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in records.columns]
    if missing:
        raise KeyError(f"records lack required column(s) {missing}")
    options = dict(options or {})
    if not len(records):
        return []
    # one code per (family, task, model), in order of first row
    one = [_one_text(records[name]) for name in ("family", "task", "model")]
    factorized = [] if all(v is not None for v in one) else [pd.factorize(records[name])
                                                            for name in ("family", "task", "model")]
    if not factorized or all(len(u) == 1 and (c == 0).all() for c, u in factorized):
        # one model's rows (a file's): one group
        order, bounds = np.arange(len(records)), np.zeros(0, dtype=np.intp)
        uniques = [tuple(one) if not factorized else tuple(u[0] for _, u in factorized)]
    else:
        combined = combine_codes(((c, len(u) + 1) for c, u in factorized), len(records))
        codes = pd.factorize(combined)[0]
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        starts = order[np.r_[0, bounds]]
        uniques = list(zip(*(records[name].iloc[starts].to_numpy() for name in ("family", "task", "model")),
                           strict=True))
    text_ids = _arrow_text(records["example_id"])
    needed = dict.fromkeys(["model", "example_id", *(c for s in specs for c in s.requires),
                            *(c for s in specs for src in SOURCES.get(s.name.split("[", 1)[0], ())
                              for c in SOURCE_COLUMNS[src])])
    used = [c for c in needed if c in records.columns]
    sharp = [s for s in specs if s.sharp and s.name.split("[", 1)[0] in SOURCES]
    out = []
    for (family, task, model), rows in zip(uniques, np.split(order, bounds), strict=True):
        if text_ids is not None:  # Arrow text (a records frame's): sorted by Arrow, no Python string per id
            ids = text_ids.take(rows) if len(rows) != len(records) else text_ids
            by_id = pc.sort_indices(ids).to_numpy()  # stable; UTF-8 byte order is code point order
            rows = rows[by_id]
            example_ids = ids.take(by_id).cast(pa.string())
        else:
            ids = records["example_id"].to_numpy()[rows]
            by_id = np.argsort(ids.astype(str) if ids.dtype != object else ids, kind="stable")
            rows = rows[by_id]
            example_ids = None
        group = records[used].iloc[rows]
        if example_ids is None:
            example_ids = pa.array(group["example_id"].astype(str).to_numpy(dtype=object), pa.string())
        piece = ModelScores(
            str(family), str(task), str(model),
            scale_params=_first_valid(records["scale_params"].to_numpy(dtype=float)[rows]),
            scale_flops=_first_valid(_column(records, "scale_flops", rows)),
            pretrain_loss=_first_valid(_column(records, "pretrain_loss", rows)),
            example_ids=example_ids)
        notna: dict[str, np.ndarray] = {}  # each column's non-null rows, read once for every metric
        joint: dict[Any, Any] = {}  # the passes metrics share (one softmax for the multiple-choice ones)
        for spec in specs:
            mask = _present(group, spec.requires, notna)
            n_present = int(mask.sum())
            first = None if n_present == len(group) else str(group["example_id"].iat[int(np.flatnonzero(~mask)[0])])
            piece.present[spec.name] = (n_present, first)
            if first is not None:
                continue
            opts = options.get(spec.name, {})
            piece.scores[spec.name] = spec.score_records(group, **opts) if opts else spec.score_jointly(group, joint)
            if spec.weights is not None:
                piece.weights[spec.name] = np.asarray(spec.weights(group), dtype=float)
        for spec in sharp:
            if spec.name not in piece.scores:
                continue
            got = ingredients(spec.name, group)
            if got:
                piece.ingredients[spec.name] = got
                if options.get(spec.name):
                    piece.obs[spec.name] = np.asarray(spec.score_records(group), dtype=float)
        if "choice_logprobs" in group.columns:
            k = list_lengths(group["choice_logprobs"], "choice_logprobs")
            values, counts = np.unique(k[k >= 0], return_counts=True)
            piece.choices = (values.astype(np.int64), counts.astype(np.int64))
        out.append(piece)
    return out


#: Rows of a records table converted and scored at a time (:func:`score_table`).
SLICE_ROWS = 1 << 16


def score_table(table: pa.Table, specs: Sequence[MetricSpec], rows: int = SLICE_ROWS) -> list[ModelScores]:
    """:func:`score_examples` of an Arrow records table (one file's, say), ``rows`` rows at a time:
    only a slice's rows are ever Python objects and its scorers' temporaries as large, and the
    slices' scores merge into what scoring the whole would give (:func:`merge_examples`)."""
    pieces: list[ModelScores] = []
    for start in range(0, table.num_rows, rows):
        part = table.slice(start, rows)
        # an optional column null on every row scores as one that is absent (no metric reads it):
        # not converted, not copied with the rows
        empty = [c for c in part.column_names if c not in REQUIRED_COLUMNS and part.column(c).null_count == len(part)]
        pieces += score_examples(records_to_pandas(part.drop_columns(empty) if len(part) else part), specs)
    return merge_examples(pieces)


def _one_text(values: pd.Series) -> str | None:
    """The one value of an Arrow-backed text column whose rows all hold it (:func:`one_value`);
    ``None`` otherwise (then factorized)."""
    text = _arrow_text(values)
    return None if text is None else one_value(text)


def _arrow_text(values: pd.Series) -> pa.Array | None:
    """An Arrow-backed text column without nulls (a records frame's) as one Arrow array (string or
    large string), or ``None`` for any other column (read as Python objects, as before)."""
    dtype = values.dtype
    text = (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow") or (
        isinstance(dtype, pd.ArrowDtype) and (pa.types.is_string(dtype.pyarrow_dtype)
                                              or pa.types.is_large_string(dtype.pyarrow_dtype)))
    if not text or values.hasnans:
        return None
    arr = pa.array(values.array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _column(records: pd.DataFrame, name: str, rows: np.ndarray) -> np.ndarray:
    if name not in records.columns:
        return np.full(len(rows), np.nan)
    return pd.to_numeric(records[name].iloc[rows], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _present(group: pd.DataFrame, requires: tuple[str, ...], notna: dict[str, np.ndarray]) -> np.ndarray:
    """The rows of ``group`` with every column of ``requires`` non-null (none when a column is
    absent); ``notna``: each column's non-null rows, filled as they are first read."""
    present = np.ones(len(group), dtype=bool)
    for col in requires:
        if col not in group.columns:
            return np.zeros(len(group), dtype=bool)
        if col not in notna:
            notna[col] = group[col].notna().to_numpy()
        present &= notna[col]
    return present


def merge_examples(pieces: Sequence[ModelScores]) -> list[ModelScores]:
    """One :class:`ModelScores` per (family, task, model) of ``pieces`` (parts of its examples, say
    one per file), in the order the pieces first name them: the examples of its parts in id order,
    as if their rows had been scored at once."""
    parts: dict[tuple[str, str, str], list[ModelScores]] = {}
    for p in pieces:
        parts.setdefault(p.key, []).append(p)
    return [ps[0] if len(ps) == 1 else _merge(ps) for ps in parts.values()]


def _merge(ps: list[ModelScores]) -> ModelScores:
    ids = pa.concat_arrays([p.example_ids for p in ps])
    order = pc.sort_indices(ids).to_numpy() if len(ids) else np.zeros(0, np.int64)
    # sort_indices is stable: equal ids keep the parts' order, as the rows' order would
    out = ModelScores(ps[0].family, ps[0].task, ps[0].model,
                      _first_valid(np.array([p.scale_params for p in ps])),
                      _first_valid(np.array([p.scale_flops for p in ps])),
                      _first_valid(np.array([p.pretrain_loss for p in ps])), ids.take(pa.array(order)))
    for metric in ps[0].present:
        counts = [p.present[metric] for p in ps]
        firsts = [f for _, f in counts if f is not None]
        out.present[metric] = (sum(c for c, _ in counts), min(firsts) if firsts else None)
    for name in ("scores", "weights", "obs"):
        got: dict[str, np.ndarray] = getattr(out, name)
        for metric in getattr(ps[0], name):
            if all(metric in getattr(p, name) for p in ps):
                got[metric] = np.concatenate([getattr(p, name)[metric] for p in ps])[order]
    for metric in ps[0].ingredients:
        shared = [s for s in ps[0].ingredients[metric] if all(s in p.ingredients.get(metric, {}) for p in ps)]
        if shared:
            out.ingredients[metric] = {s: Ingredient.concat([p.ingredients[metric][s] for p in ps]).take(order)
                                       for s in shared}
    values = np.concatenate([p.choices[0] for p in ps])
    counts = np.concatenate([p.choices[1] for p in ps])
    k, inverse = np.unique(values, return_inverse=True)
    out.choices = (k.astype(np.int64), np.bincount(inverse, weights=counts, minlength=k.size).astype(np.int64))
    return out


def applicability(models: Sequence[ModelScores], metric: str, requires: tuple[str, ...]) -> str | None:
    """``None`` when every row of the group (``models``, in curve order) has ``metric``'s inputs,
    ``""`` when none has, else why it is skipped (how many rows have them, the first that lacks)."""
    present = sum(m.present[metric][0] for m in models)
    total = sum(m.n for m in models)
    if present == total:
        return None
    if present == 0:
        return ""
    m = next(m for m in models if m.present[metric][1] is not None)
    return (f"inputs {list(requires)} present on {present} of {total} rows; first missing at model "
            f"{m.model!r}, example {m.present[metric][1]!r}")
