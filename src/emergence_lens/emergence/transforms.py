"""The metric's own transform: predict a sharp metric from the continuous quantity on the same outputs.

Schaeffer et al. (2023, Sec. 2 and Figs. 2-3, 7-9) explain apparent emergence as a smooth
per-token (per-item) quantity pushed through a nonlinear or discontinuous metric.  Each sharp
metric here has that transform, applied to a model-level *ingredient* measured on the very same
examples:

=====================  ===============================  ===========================================
sharp metric           ingredient (per model)           prediction
=====================  ===============================  ===========================================
exact_match (greedy)   per-token greedy accuracy        ``prod_j a_j``  (``target_token_greedy``)
                       ``a_j`` at each position ``j``
exact_match (sampled)  per-token target probability     ``prod_j a_j``  (``target_token_logprobs`` when
                       ``a_j = mean_i p_ij``            no greedy flags are recorded)
subset_accuracy        per-item accuracy ``a_j``        ``prod_j a_j``  (``L`` items per set)
multiple_choice_grade  margin ``m_i = log q_correct -   ``Phi(mu / sigma)``: a normal fit of the
                       max_k log q_distractor``         margins, ``P(m > 0)``
reconstruction_at[c]   ``log MSE_i``                    ``Phi((log c - mu) / sigma)``: a log-normal
                                                        fit of the per-example MSE
=====================  ===============================  ===========================================

``prod_j a_j`` (``a**L`` when every position is equally hard) assumes the tokens (items) of an
example are independent: where errors cluster in some examples, exact match is *higher* than the
prediction, and where they spread (one wrong digit in many answers), lower; the test says so.
The accuracy is taken per position because positions differ (the last digit of a sum is the
easiest): pooling them, ``(mean_j a_j)**L >= prod_j a_j``, would over-predict.  Targets of
different lengths are mixed by their shares (with more than 64 (length, position) slots in all,
positions are pooled per length).

Every transform works on a per-example **design matrix** (one row per example, column 0 the
sharp metric's own per-example score) so that a bootstrap resamples the observed metric and the
ingredient on the same examples (:func:`emergence_lens.emergence.bootstrap.bootstrap_column_means`);
its prediction is a function of the column means only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from emergence_lens.metrics import get_metric
from emergence_lens.metrics.ragged import as_ragged

__all__ = ["Transform", "Ingredient", "ingredients", "transform_for", "transform_from", "SOURCES", "SOURCE_COLUMNS",
           "Link", "LINKS", "AGGREGATE_INGREDIENTS"]

Kind = Literal["power", "normal"]


@dataclass(frozen=True)
class Link:
    """A scale on which an ingredient component is fitted linearly against the x position.

    ``name`` describes the fit in words ("linear in log-scale", "power law").
    """

    name: str
    forward: str  # "identity", "neglog" (log(-log a)), "log", "logit"

    def apply(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.forward == "identity":
                return v
            if self.forward == "neglog":
                return np.log(-np.log(np.clip(v, 1e-300, 1 - 1e-12)))
            if self.forward == "log":
                return np.log(np.clip(v, 1e-300, None))
            if self.forward == "logit":
                c = np.clip(v, 1e-12, 1 - 1e-12)
                return np.log(c) - np.log1p(-c)
        raise ValueError(f"unknown link {self.forward!r}")

    def invert(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        with np.errstate(over="ignore"):
            if self.forward == "identity":
                return z
            if self.forward == "neglog":
                return np.exp(-np.exp(z))
            if self.forward == "log":
                return np.exp(z)
            if self.forward == "logit":
                return special.expit(z)
        raise ValueError(f"unknown link {self.forward!r}")


LINKS = {
    "linear": Link("linear in log-scale", "identity"),
    "power law": Link("power law (per-token CE = C x^alpha)", "neglog"),
    "log-linear": Link("power law", "log"),
    "logit": Link("sigmoid in log-scale", "logit"),
}


#: Sharp metric -> the curve of its ``a**L`` ingredient, where only aggregates exist (results tables).
AGGREGATE_INGREDIENTS = {"exact_match": "per_token_accuracy", "subset_accuracy": "per_item_accuracy"}

#: Above this many (length, position) slots the power transform pools positions per length.
MAX_SLOTS = 64


@dataclass(frozen=True)
class Transform:
    """How one sharp metric follows from its ingredient.

    Attributes:
        metric: the sharp metric (registered name).
        kind: ``"power"`` (``mean over lengths of prod_j a_j``) or ``"normal"``
            (``Phi(sign * (mu - t0) / sigma)``).
        ingredient: what ``a`` (or ``mu, sigma``) is, in words.
        partner: the registered smooth metric whose curve shows the ingredient (may be ``None``).
        lengths: for ``power``: the distinct ``L`` values, in design-column order.
        pooled: for ``power``: one accuracy per length (all positions pooled) instead of one per
            position (used when there are more than :data:`MAX_SLOTS` positions in all).
        threshold, sign: for ``normal``: ``P(sign * (u - threshold) > 0)``.
        parametric: the prediction assumes a distribution for the ingredient (a normal fit)
            rather than only the metric's algebra.
    """

    metric: str
    kind: Kind
    ingredient: str
    partner: str | None
    lengths: tuple[int, ...] = ()
    threshold: float = 0.0
    sign: float = 1.0
    parametric: bool = False
    pooled: bool = False
    #: the :class:`Ingredient` source its design reads (``greedy``, ``logprobs``, ``items``, ``margin``, ``log_mse``)
    source: str = ""

    # -- model level ----------------------------------------------------------------------
    @property
    def slots(self) -> tuple[tuple[int, int], ...]:
        """``(L, position)`` of each ingredient component (position -1: all positions pooled)."""
        if self.pooled:
            return tuple((L, -1) for L in self.lengths)
        return tuple((L, j) for L in self.lengths for j in range(L))

    @property
    def theta_names(self) -> tuple[str, ...]:
        if self.kind == "normal":
            return ("mu", "sigma")
        if len(self.lengths) == 1 and not self.pooled:
            return tuple(f"a[{j + 1}]" for _, j in self.slots)
        return tuple(f"a[L={L}{'' if j < 0 else f',{j + 1}'}]" for L, j in self.slots)

    @property
    def links(self) -> tuple[tuple[Link, ...], ...]:
        """Candidate fit scales for each ingredient component (used by the backtest)."""
        if self.kind == "power":
            return tuple((LINKS["power law"], LINKS["linear"]) for _ in self.slots)
        return ((LINKS["linear"],), (LINKS["log-linear"], LINKS["linear"]))

    def theta(self, means: np.ndarray) -> np.ndarray:
        """Ingredient from design column means, shape ``(B, m) -> (B, k)``.

        ``power``: the accuracy at each (length, position) slot; ``normal``: ``(mu, sigma)``.
        """
        means = np.atleast_2d(means)
        if self.kind == "power":
            nL = len(self.lengths)
            shares = means[:, 1:1 + nL]
            flags = means[:, 1 + nL:]
            out = np.empty((means.shape[0], len(self.slots)))
            for k, (L, j) in enumerate(self.slots):
                denom = shares[:, self.lengths.index(L)] * (L if j < 0 else 1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[:, k] = np.where(denom > 0, flags[:, k] / np.where(denom > 0, denom, 1.0), 1.0)
            return np.clip(out, 0.0, 1.0)
        mu = means[:, 1]
        var = np.maximum(means[:, 2] - mu ** 2, 0.0)
        return np.column_stack([mu, np.sqrt(var)])

    def predict_theta(self, theta: np.ndarray, means: np.ndarray) -> np.ndarray:
        """Prediction from an ingredient ``(B, k)`` and design means (for the length mix)."""
        theta = np.atleast_2d(theta)
        if self.kind == "power":
            shares = np.atleast_2d(means)[:, 1:1 + len(self.lengths)]
            a = np.clip(theta, 0.0, 1.0)
            out = np.zeros(a.shape[0])
            for i, L in enumerate(self.lengths):
                cols = [k for k, (LL, _) in enumerate(self.slots) if LL == L]
                prod = a[:, cols[0]] ** L if self.pooled else np.prod(a[:, cols], axis=1)
                out = out + shares[:, i] * prod
            return out
        mu, sigma = theta[:, 0], theta[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = self.sign * (mu - self.threshold) / sigma
        z = np.where(sigma > 0, z, np.where(self.sign * (mu - self.threshold) > 0, np.inf, -np.inf))
        return special.ndtr(z)

    def predict(self, means: np.ndarray) -> np.ndarray:
        """Predicted metric from design column means, ``(B, m) -> (B,)``."""
        return self.predict_theta(self.theta(means), means)

    # -- example level --------------------------------------------------------------------
    def design(self, group: pd.DataFrame) -> np.ndarray:
        """Per-example design matrix for one model's records (rows in the records' order):
        ``power``: the observed score, one indicator per length, then per slot the example's
        success there (0 where the example has another length); ``normal``: score, ``u``, ``u**2``."""
        obs = get_metric(self.metric).score_records(group)
        return self.design_from(obs, ingredients(self.metric, group, only=self.source)[self.source])

    def design_from(self, obs: np.ndarray, ingredient: Ingredient) -> np.ndarray:
        """:meth:`design` from the observed per-example scores and the examples' :class:`Ingredient`
        (what survives the rows: the audit scores a file's rows, then frees them)."""
        if ingredient.error is not None:
            raise ingredient.error
        if self.kind == "power":
            length = ingredient.lengths
            onehot = (length[:, None] == np.asarray(self.lengths)[None, :]).astype(float)
            slots = np.zeros((len(length), len(self.slots)))
            starts = np.concatenate([[0], np.cumsum(length)[:-1]]).astype(np.int64)
            if self.pooled:
                index = {s: k for k, s in enumerate(self.slots)}
                for i, (a, L) in enumerate(zip(starts, length, strict=True)):
                    slots[i, index[(int(L), -1)]] = float(np.sum(ingredient.values[a:a + L]))
            else:
                for L in self.lengths:
                    rows = np.flatnonzero(length == L)
                    for j in range(L):
                        slots[rows, self.slots.index((L, j))] = ingredient.values[starts[rows] + j]
            return np.column_stack([obs, onehot, slots])
        u = ingredient.values
        return np.column_stack([obs, u, u ** 2])


@dataclass(frozen=True)
class Ingredient:
    """What a transform's design needs of one model's examples (rows in example order), computed
    once from their rows so the rows can be freed: ``power`` sources (``greedy``, ``logprobs``,
    ``items``): each example's per-token (per-item) successes, flat, and its length; ``normal``
    sources (``margin``, ``log_mse``): the per-example ``u``.  ``error``: why it could not be
    computed, raised when a design needs it."""

    source: str
    values: np.ndarray
    lengths: np.ndarray | None = None
    error: ValueError | None = None

    def take(self, order: np.ndarray) -> Ingredient:
        """The same examples in ``order`` (indices of examples)."""
        if self.error is not None or self.lengths is None:
            return Ingredient(self.source, self.values if self.error is not None else self.values[order],
                              None, self.error)
        starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        lengths = self.lengths[order]
        index = np.repeat(starts[order] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) \
            + np.arange(int(lengths.sum()))
        return Ingredient(self.source, self.values[index], lengths)

    @staticmethod
    def concat(parts: list[Ingredient]) -> Ingredient:
        """The examples of ``parts``, one after the other (the first error kept)."""
        err = next((p.error for p in parts if p.error is not None), None)
        if err is not None:
            return Ingredient(parts[0].source, np.zeros(0), None, err)
        lengths = None if parts[0].lengths is None else np.concatenate([p.lengths for p in parts])
        return Ingredient(parts[0].source, np.concatenate([p.values for p in parts]), lengths)


#: Where each ingredient source comes from, in the order a transform prefers them.
SOURCES = {"exact_match": ("greedy", "logprobs"), "subset_accuracy": ("items",),
           "multiple_choice_grade": ("margin",), "reconstruction_at": ("log_mse",)}
SOURCE_COLUMNS = {"greedy": ("target", "prediction", "target_token_greedy"),
                   "logprobs": ("target", "prediction", "target_token_logprobs"),
                   "items": ("target", "prediction"), "margin": ("choice_logprobs", "correct_choice"),
                   "log_mse": ("reconstruction_mse",)}


def ingredients(metric: str, group: pd.DataFrame, only: str | None = None) -> dict[str, Ingredient]:
    """The ingredients of ``metric``'s transform these rows (one model's, in example order) can
    give: a source whose columns are non-null on every row (``only``: that source alone)."""
    def has(col: str) -> bool:
        return col in group.columns and bool(group[col].notna().all())

    base = metric.split("[", 1)[0]
    if base == "reconstruction_at" and "[" not in metric:
        return {}
    out: dict[str, Ingredient] = {}
    for source in SOURCES.get(base, ()):
        if (only is not None and source != only) or not all(has(c) for c in SOURCE_COLUMNS[source]):
            continue
        try:
            out[source] = _ingredient(source, group)
        except ValueError as exc:
            out[source] = Ingredient(source, np.zeros(0), None, exc)
    return out


def _ingredient(source: str, group: pd.DataFrame) -> Ingredient:
    if source == "items":
        per = []
        for tg, pr in zip(group["target"], group["prediction"], strict=True):
            a, b = str(tg).split(), str(pr).split()
            per.append(np.array([float(i < len(b) and a[i] == b[i]) for i in range(len(a))]))
        lengths = np.fromiter((len(v) for v in per), dtype=np.int64, count=len(per))
        return Ingredient(source, np.concatenate(per) if per else np.zeros(0), lengths)
    if source == "greedy":
        flat, lengths = as_ragged(group["target_token_greedy"], "target_token_greedy")
        return Ingredient(source, np.asarray(flat, dtype=float), np.asarray(lengths, dtype=np.int64))
    if source == "logprobs":
        flat, lengths = as_ragged(group["target_token_logprobs"], "target_token_logprobs")
        return Ingredient(source, np.exp(flat), np.asarray(lengths, dtype=np.int64))
    if source == "margin":
        flat, k = as_ragged(group["choice_logprobs"], "choice_logprobs")
        if (k < 2).any():
            i = int(np.flatnonzero(k < 2)[0])
            raise ValueError(f"multiple_choice_grade margin needs >= 2 options, example "
                             f"{group['example_id'].iat[i]!r} has {k[i]}")
        starts = np.concatenate([[0], np.cumsum(k)[:-1]])
        correct_pos = starts + group["correct_choice"].to_numpy(dtype=np.int64)
        right = flat[correct_pos]
        masked = flat.copy()
        masked[correct_pos] = -np.inf
        best = np.maximum.reduceat(masked, starts)
        tie = np.isneginf(right) & np.isneginf(best)  # every option impossible: a tie, as the grade scores it
        out = np.where(tie, 0.0, right - np.where(tie, 0.0, best))
        out = np.where(np.isfinite(out), out, np.sign(out) * 1e6)  # -inf log-probs: a huge margin
        return Ingredient(source, out)
    mse = group["reconstruction_mse"].to_numpy(dtype=float)
    return Ingredient(source, np.log(np.maximum(mse, 1e-300)))


def transform_for(metric: str, records: pd.DataFrame) -> Transform | None:
    """The transform that predicts ``metric`` on these records, or ``None`` when the metric is
    not a sharp one with a known transform or the records lack its ingredient."""
    return transform_from(metric, [ingredients(metric, records)])


def transform_from(metric: str, available: Sequence[Mapping[str, Ingredient]]) -> Transform | None:
    """The transform of ``metric`` given the ingredients each part of a group's examples (a model's,
    a file's) gave: the first source every part has; ``None`` when none is shared."""
    base = metric.split("[", 1)[0]
    source = next((s for s in SOURCES.get(base, ()) if available and all(s in a for a in available)), None)
    if source is None:
        return None
    if source in ("greedy", "logprobs", "items"):  # power: every length any part has
        ls = tuple(sorted({int(v) for a in available if a[source].error is None for v in np.unique(a[source].lengths)}))
        ingredient, partner = {
            "greedy": ("per-token greedy accuracy a_j (teacher-forced argmax = target)", "per_token_accuracy"),
            "logprobs": ("per-token target probability a_j (sampled exact match)", "target_token_probability"),
            "items": ("per-item accuracy a_j", "per_item_accuracy")}[source]
        return Transform(metric, "power", ingredient, partner, ls, pooled=sum(ls) > MAX_SLOTS, source=source)
    if source == "margin":
        return Transform(metric, "normal", "margin log q_correct - max log q_distractor ~ Normal(mu, sigma)",
                         "correct_choice_probability", threshold=0.0, sign=1.0, parametric=True, source=source)
    c = float(metric.split("c=", 1)[1].rstrip("]"))
    return Transform(metric, "normal", "log per-example MSE ~ Normal(mu, sigma) (log-normal MSE)",
                     "mse", threshold=float(np.log(c)), sign=-1.0, parametric=True, source=source)
