"""A registry of metrics by name, with the properties the paper's argument turns on.

Schaeffer et al. (2023) sort metrics along two axes:

* **linear / nonlinear** in the per-token error rate: exact match over ``L`` tokens scales like
  ``p**L`` (nonlinear), token edit distance like ``L * (1 - p)`` (linear);
* **continuous / discontinuous** in the model's output distribution: multiple-choice grade is an
  argmax step (discontinuous), Brier score moves with every probability (continuous).

A *sharp* metric (nonlinear or discontinuous) is paired with *smooth* partners (linear or
continuous) computed on the same model outputs; :func:`emergence_lens.emergence.compare_metrics`
asks whether emergence under the first survives under the second.

New metrics plug in with :func:`register_metric`.  A metric with a parameter (the threshold ``c``
of ``reconstruction_at``) is named ``base[key=value,...]``: :func:`get_metric` builds and
registers it on first use from the factory given to :func:`register_metric_factory`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from emergence_lens.registry import Registry

__all__ = ["MetricSpec", "register_metric", "register_metric_factory", "get_metric", "list_metrics",
           "metric_name", "METRICS"]

RecordScorer = Callable[[pd.DataFrame, Mapping[str, Any]], np.ndarray]
#: ``f(records) -> {metric: per-row scores}``: several metrics of the same rows in one pass.
JointScorer = Callable[[pd.DataFrame], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric.

    Attributes:
        name: registry key.
        func: the vectorised per-example function.
        linear: linear in the per-token (per-item) error rate.
        continuous: a continuous function of the model's output probabilities.
        higher_is_better: direction of improvement.
        partners: smooth metrics to contrast with (for sharp metrics), best first.
        description: one line, with the formula.
        paper: figure of Schaeffer et al. (2023) the contrast reproduces.
        requires: record columns the record scorer (and ``weights``) read, all non-null within a
            task; with ``model`` and ``example_id`` the only columns they are given, row by row
            (one model's rows at a time: a scorer's scores are per row).
        record_scorer: ``f(records, options) -> per-row scores``, or ``None`` for array-only metrics.
        binary: per-example scores are 0/1 (Clopper-Pearson resolution applies).
        log_scale: a positive error that falls like a power law in scale (MSE): emergence scores
            use ``log10`` of its curve, as the paper plots it (Fig. 8).  On the raw scale the
            breakthroughness score calls any power-law decay "sharp", because its first steps
            dwarf the median step.
        default: scored when no metric list is given (off for metrics that only make sense on
            records built for them, e.g. per-item accuracy over space-separated label sequences).
        weights: ``f(records) -> per-row weights`` where the metric's reference pools examples with
            weights (BIG-bench's Brier score averages over (example, option) pairs: weight ``K_i``);
            a curve's value is then ``sum_i w_i s_i / sum_i w_i`` and its bootstrap resamples
            examples with their weights.  ``None``: the plain mean over examples.
        joint: ``f(records) -> {metric: per-row scores}`` scoring this metric and others that share
            its work in one pass (the multiple-choice metrics: one softmax; they share ``requires``),
            each exactly as its ``record_scorer`` does without options (:meth:`score_jointly`; a
            test holds them equal).
    """

    name: str
    func: Callable[..., np.ndarray]
    linear: bool
    continuous: bool
    higher_is_better: bool
    description: str
    partners: tuple[str, ...] = ()
    paper: str = ""
    requires: tuple[str, ...] = ()
    record_scorer: RecordScorer | None = field(default=None, compare=False)
    binary: bool = False
    log_scale: bool = False
    default: bool = True
    weights: Callable[[pd.DataFrame], np.ndarray] | None = field(default=None, compare=False)
    joint: JointScorer | None = field(default=None, compare=False)

    @property
    def sharp(self) -> bool:
        """Neither linear nor continuous: the kind of metric that can manufacture emergence.

        A metric that is linear in the per-token error (token edit distance, per-item accuracy)
        or continuous in the output probabilities (Brier score, MSE) tracks smooth per-token
        improvement smoothly; exact match, multiple-choice grade, subset accuracy and
        thresholded reconstruction are neither.
        """
        return not self.linear and not self.continuous

    @property
    def kind(self) -> str:
        """E.g. ``"nonlinear, discontinuous"``; ``"..., log scale"`` for :attr:`log_scale` metrics."""
        return (f"{'linear' if self.linear else 'nonlinear'}, "
                f"{'continuous' if self.continuous else 'discontinuous'}{', log scale' if self.log_scale else ''}")

    def score_records(self, records: pd.DataFrame, **options: Any) -> np.ndarray:
        """Per-row scores for a records DataFrame."""
        if self.record_scorer is None:
            raise TypeError(f"metric {self.name!r} has no record scorer; call it on arrays")
        self._check_requires(records)
        return np.asarray(self.record_scorer(records, options), dtype=float)

    def score_jointly(self, records: pd.DataFrame, done: dict[Any, Mapping[str, np.ndarray]]) -> np.ndarray:
        """:meth:`score_records` without options, through :attr:`joint` when the metric has one: its
        pass over ``records`` is made once and kept in ``done`` for the other metrics it scores
        (give each group of rows its own ``done``)."""
        if self.joint is None:
            return self.score_records(records)
        if self.joint not in done:
            self._check_requires(records)
            done[self.joint] = self.joint(records)
        return np.asarray(done[self.joint][self.name], dtype=float)

    def _check_requires(self, records: pd.DataFrame) -> None:
        missing = [c for c in self.requires if c not in records.columns]
        if missing:
            raise KeyError(f"metric {self.name!r} needs record column(s) {missing}")
        for col in self.requires:
            isnull = records[col].isna().to_numpy()
            if isnull.any():
                i = int(np.flatnonzero(isnull)[0])
                raise ValueError(
                    f"metric {self.name!r} needs column {col!r}, which is null at row "
                    f"{records.index[i]!r} (example {records['example_id'].iat[i]!r})")


METRICS: Registry[MetricSpec] = Registry("metric")


def register_metric(spec: MetricSpec, *, overwrite: bool = False) -> MetricSpec:
    """Add ``spec`` to the registry (error on a duplicate name unless ``overwrite``)."""
    if spec.name in METRICS and not overwrite:
        raise ValueError(f"metric {spec.name!r} is already registered")
    return METRICS.register(spec.name, spec, overwrite=True)


MetricFactory = Callable[[dict[str, float]], MetricSpec]
FACTORIES: dict[str, MetricFactory] = {}
_PARAMETRISED = re.compile(r"^(?P<base>[A-Za-z_][A-Za-z0-9_]*)\[(?P<params>[^\[\]]*)\]$")


def register_metric_factory(base: str, factory: MetricFactory) -> None:
    """Let ``get_metric("base[k=v,...]")`` build a metric from float parameters ``{k: v}``."""
    FACTORIES[base] = factory


def metric_name(base: str, **params: float) -> str:
    """The canonical name of a parametrised metric, e.g. ``reconstruction_at[c=0.01]``."""
    return f"{base}[{','.join(f'{k}={float(v):g}' for k, v in sorted(params.items()))}]"


def _parse_params(name: str, text: str) -> dict[str, float]:
    params: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        try:
            if not sep or not key.strip().isidentifier():
                raise ValueError
            params[key.strip()] = float(value)
        except ValueError:
            raise KeyError(f"metric {name!r}: parameter {part!r} is not of the form key=number") from None
    return params


def get_metric(name: str) -> MetricSpec:
    """Look a metric up by name; ``base[k=v]`` names are built by the base's factory."""
    if name in METRICS:
        return METRICS[name]
    m = _PARAMETRISED.match(name.strip())
    if m and m["base"] in FACTORIES:
        params = _parse_params(name, m["params"])
        spec = FACTORIES[m["base"]](params)
        canonical = metric_name(m["base"], **params)
        if spec.name != canonical:
            raise ValueError(f"factory for {m['base']!r} named its metric {spec.name!r}, expected {canonical!r}")
        return METRICS.setdefault(canonical, spec)
    hint = f"; parametrised: {', '.join(f'{b}[...]' for b in sorted(FACTORIES))}" if FACTORIES else ""
    raise KeyError(f"unknown metric {name!r}; registered: {sorted(n for n in METRICS if '[' not in n)}{hint}")


def list_metrics() -> list[MetricSpec]:
    """All registered metrics, sorted by name."""
    return [METRICS[k] for k in sorted(METRICS)]

# ---------------------------------------------------------------------------------------------
# Built-in metrics (Schaeffer et al. 2023): each with its record scorer and its smooth partners.
# ---------------------------------------------------------------------------------------------

from emergence_lens.metrics.edit_distance import token_edit_distance  # noqa: E402
from emergence_lens.metrics.exact_match import exact_match  # noqa: E402
from emergence_lens.metrics.likelihood import target_log_likelihood, target_token_probability  # noqa: E402
from emergence_lens.metrics.multiple_choice import (  # noqa: E402
    bigbench_brier_score,
    brier_score,
    choice_scores,
    correct_choice_probability,
    multiple_choice_grade,
)
from emergence_lens.metrics.reconstruction import mse, reconstruction_at  # noqa: E402
from emergence_lens.metrics.subset import label_sequence_scores, per_item_accuracy, subset_accuracy  # noqa: E402
from emergence_lens.metrics.token_accuracy import per_token_accuracy  # noqa: E402


def _text(records: pd.DataFrame, col: str) -> list[str]:
    return records[col].tolist()


def _lists(records: pd.DataFrame, col: str) -> pd.Series:
    """A list column as the metrics take it (they read an Arrow list column as flat buffers)."""
    return records[col]


def _exact_match_records(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    return exact_match(_text(records, "target"), _text(records, "prediction"), **options)


def _edit_records(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    return token_edit_distance(_text(records, "target"), _text(records, "prediction"), **options)


def _ll_records(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    return target_log_likelihood(_lists(records, "target_token_logprobs"), **options)


def _tp_records(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    return target_token_probability(_lists(records, "target_token_logprobs"), **options)


def _greedy_records(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    if options:
        raise TypeError(f"per_token_accuracy takes no options, got {sorted(options)}")
    return per_token_accuracy(_lists(records, "target_token_greedy"))


def _mc(func: Any) -> Any:
    def scorer(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
        return func(_lists(records, "choice_logprobs"),
                    records["correct_choice"].to_numpy(dtype=np.int64), **options)
    return scorer


def _mc_joint(records: pd.DataFrame) -> Mapping[str, np.ndarray]:
    """The four multiple-choice metrics of ``records`` from one softmax (:func:`choice_scores`)."""
    return choice_scores(_lists(records, "choice_logprobs"), records["correct_choice"].to_numpy(dtype=np.int64))


def _option_counts(records: pd.DataFrame) -> np.ndarray:
    """Each example's number of options ``K_i``: BIG-bench's Brier score pools (example, option) pairs."""
    from emergence_lens.metrics.ragged import as_ragged

    return as_ragged(records["choice_logprobs"], "choice_logprobs")[1].astype(float)


def _item_records(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    return label_sequence_scores(_text(records, "target"), _text(records, "prediction"), **options)[0]


def _subset_records(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    return label_sequence_scores(_text(records, "target"), _text(records, "prediction"), **options)[1]


def _reconstruction_errors(records: pd.DataFrame, options: Mapping[str, Any], metric: str) -> np.ndarray:
    if options:
        raise TypeError(f"{metric} takes no options, got {sorted(options)}")
    return records["reconstruction_mse"].to_numpy(dtype=float)


def _mse_records(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    return _reconstruction_errors(records, options, "mse")


_GEN = ("target", "prediction")
_REC = ("reconstruction_mse",)
_LP = ("target_token_logprobs",)
_MC = ("choice_logprobs", "correct_choice")
_GREEDY = ("target_token_greedy",)

for _spec in [
    MetricSpec("exact_match", exact_match, linear=False, continuous=False, higher_is_better=True,
               description="1[target == prediction]; E = p**L for L tokens",
               partners=("per_token_accuracy", "token_edit_distance", "target_token_probability",
                         "target_log_likelihood"),
               paper="Fig. 2C, 3", requires=_GEN, record_scorer=_exact_match_records, binary=True),
    MetricSpec("token_edit_distance", token_edit_distance, linear=True, continuous=False,
               higher_is_better=False, description="Levenshtein distance in tokens; E ~ L(1-p)",
               paper="Fig. 2D, 3", requires=_GEN, record_scorer=_edit_records),
    MetricSpec("per_token_accuracy", per_token_accuracy, linear=True, continuous=False,
               higher_is_better=True,
               description="(1/L) sum_j 1[argmax = target token], teacher-forced; greedy E = a**L",
               paper="Fig. 2C-D, 3", requires=_GREEDY, record_scorer=_greedy_records),
    MetricSpec("target_log_likelihood", target_log_likelihood, linear=True, continuous=True,
               higher_is_better=True, description="sum_j log p_j over target tokens = -L*CE",
               paper="Fig. 2A", requires=_LP, record_scorer=_ll_records),
    MetricSpec("target_token_probability", target_token_probability, linear=True, continuous=True,
               higher_is_better=True, description="(1/L) sum_j p_j, mean per-token target probability",
               paper="Fig. 2B, 3", requires=_LP, record_scorer=_tp_records),
    MetricSpec("multiple_choice_grade", multiple_choice_grade, linear=False, continuous=False,
               higher_is_better=True, description="1[argmax_k q_k == correct]",
               partners=("brier_score", "correct_choice_probability", "bigbench_brier_score"),
               paper="Fig. 2E, 6",
               requires=_MC, record_scorer=_mc(multiple_choice_grade),
               joint=_mc_joint, binary=True),
    MetricSpec("brier_score", brier_score, linear=False, continuous=True, higher_is_better=False,
               description="sum_k (q_k - y_k)**2, multiclass form in [0, 2]", paper="Fig. 2F, 6",
               requires=_MC, record_scorer=_mc(brier_score),
               joint=_mc_joint),
    MetricSpec("bigbench_brier_score", bigbench_brier_score, linear=False, continuous=True,
               higher_is_better=False,
               description="(1/K) sum_k (q_k - y_k)**2, BIG-bench per-option form",
               paper="Fig. 6", requires=_MC, record_scorer=_mc(bigbench_brier_score),
               joint=_mc_joint, weights=_option_counts),
    MetricSpec("correct_choice_probability", correct_choice_probability, linear=True, continuous=True,
               higher_is_better=True, description="q_correct, softmax probability of the right option",
               paper="Fig. 6", requires=_MC, record_scorer=_mc(correct_choice_probability),
               joint=_mc_joint),
    MetricSpec("subset_accuracy", subset_accuracy, linear=False, continuous=False,
               higher_is_better=True, description="1[all L items of a group right]; E = a**L",
               partners=("per_item_accuracy",), paper="Fig. 7, 9", binary=True, requires=_GEN,
               record_scorer=_subset_records, default=False),
    MetricSpec("per_item_accuracy", per_item_accuracy, linear=True, continuous=False,
               higher_is_better=True, description="1[item right]; on a group, the share of its L items right",
               paper="Fig. 7, 9", binary=True, requires=_GEN, record_scorer=_item_records, default=False),
    MetricSpec("reconstruction_at", reconstruction_at, linear=False, continuous=False,
               higher_is_better=True, description="1[MSE < c]; on records use reconstruction_at[c=...]",
               partners=("mse",), paper="Fig. 8", binary=True),
    MetricSpec("mse", mse, linear=False, continuous=True, higher_is_better=False,
               description="mean_d (x - x_hat)**2 (emergence scored on log10 MSE)", paper="Fig. 8", requires=_REC,
               record_scorer=_mse_records, log_scale=True),
]:
    register_metric(_spec)


def _reconstruction_factory(params: dict[str, float]) -> MetricSpec:
    """``reconstruction_at[c=...]``: the paper's Reconstruction_c on records' ``reconstruction_mse``."""
    if set(params) != {"c"}:
        raise KeyError(f"reconstruction_at takes one parameter c (the MSE threshold), got {sorted(params)}")
    c = params["c"]
    if not np.isfinite(c) or c <= 0:
        raise ValueError(f"reconstruction_at threshold c must be finite and > 0, got {c!r}")

    name = metric_name("reconstruction_at", c=c)

    def scorer(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
        return (_reconstruction_errors(records, options, name) < c).astype(float)

    return MetricSpec(name, reconstruction_at, linear=False, continuous=False,
                      higher_is_better=True, description=f"1[MSE < {c:g}]", partners=("mse",), paper="Fig. 8",
                      requires=_REC, record_scorer=scorer, binary=True, default=False)


register_metric_factory("reconstruction_at", _reconstruction_factory)
