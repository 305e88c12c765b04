"""Per-example metrics, vectorised, registered by name with their properties.

Where is X computed?  One module per idea:

=========================  ==========================================  ======================
metric                     module                                      kind
=========================  ==========================================  ======================
exact_match                :mod:`.exact_match`                         nonlinear, discontinuous
token_edit_distance        :mod:`.edit_distance`                       linear, discontinuous
target_log_likelihood      :mod:`.likelihood`                          linear, continuous
target_token_probability   :mod:`.likelihood`                          linear, continuous
multiple_choice_grade      :mod:`.multiple_choice`                     nonlinear, discontinuous
brier_score                :mod:`.multiple_choice`                     nonlinear, continuous
bigbench_brier_score       :mod:`.multiple_choice`                     nonlinear, continuous
correct_choice_probability :mod:`.multiple_choice`                     linear, continuous
subset_accuracy            :mod:`.subset`                              nonlinear, discontinuous
per_item_accuracy          :mod:`.subset`                              linear, discontinuous
reconstruction_at          :mod:`.reconstruction`                      nonlinear, discontinuous
mse                        :mod:`.reconstruction`                      nonlinear, continuous
=========================  ==========================================  ======================

Every function returns one score per example (per group for ``subset_accuracy``); curves
average them per model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from emergence_lens.metrics.edit_distance import token_edit_distance, tokenize
from emergence_lens.metrics.exact_match import exact_match
from emergence_lens.metrics.likelihood import target_log_likelihood, target_token_probability
from emergence_lens.metrics.multiple_choice import (
    bigbench_brier_score,
    brier_score,
    choice_probabilities,
    correct_choice_probability,
    multiple_choice_grade,
)
from emergence_lens.metrics.reconstruction import mse, reconstruction_at
from emergence_lens.metrics.registry import (
    METRICS,
    MetricSpec,
    get_metric,
    list_metrics,
    metric_name,
    register_metric,
    register_metric_factory,
)
from emergence_lens.metrics.subset import label_sequence_scores, per_item_accuracy, subset_accuracy

__all__ = [
    "MetricSpec", "METRICS", "register_metric", "register_metric_factory", "get_metric", "list_metrics",
    "metric_name", "label_sequence_scores",
    "exact_match", "token_edit_distance", "tokenize", "target_log_likelihood",
    "target_token_probability", "multiple_choice_grade", "brier_score", "bigbench_brier_score",
    "choice_probabilities", "correct_choice_probability", "subset_accuracy", "per_item_accuracy", "mse",
    "reconstruction_at",
]


def _text(records: pd.DataFrame, col: str) -> list[str]:
    return records[col].tolist()


def _lists(records: pd.DataFrame, col: str) -> list[np.ndarray]:
    return records[col].tolist()


def _exact_match_records(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    return exact_match(_text(records, "target"), _text(records, "prediction"), **options)


def _edit_records(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    return token_edit_distance(_text(records, "target"), _text(records, "prediction"), **options)


def _ll_records(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    return target_log_likelihood(_lists(records, "target_token_logprobs"), **options)


def _tp_records(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    return target_token_probability(_lists(records, "target_token_logprobs"), **options)


def _mc(func: Any) -> Any:
    def scorer(records: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
        return func(_lists(records, "choice_logprobs"),
                    records["correct_choice"].to_numpy(dtype=np.int64), **options)
    return scorer


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

for _spec in [
    MetricSpec("exact_match", exact_match, linear=False, continuous=False, higher_is_better=True,
               description="1[target == prediction]; E = p**L for L tokens",
               partners=("token_edit_distance", "target_token_probability", "target_log_likelihood"),
               paper="Fig. 2C, 3", requires=_GEN, record_scorer=_exact_match_records, binary=True),
    MetricSpec("token_edit_distance", token_edit_distance, linear=True, continuous=False,
               higher_is_better=False, description="Levenshtein distance in tokens; E ~ L(1-p)",
               paper="Fig. 2D, 3", requires=_GEN, record_scorer=_edit_records),
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
               requires=_MC, record_scorer=_mc(multiple_choice_grade), binary=True),
    MetricSpec("brier_score", brier_score, linear=False, continuous=True, higher_is_better=False,
               description="sum_k (q_k - y_k)**2, multiclass form in [0, 2]", paper="Fig. 2F, 6",
               requires=_MC, record_scorer=_mc(brier_score)),
    MetricSpec("bigbench_brier_score", bigbench_brier_score, linear=False, continuous=True,
               higher_is_better=False,
               description="(1/K) sum_k (q_k - y_k)**2, BIG-bench per-option form",
               paper="Fig. 6", requires=_MC, record_scorer=_mc(bigbench_brier_score)),
    MetricSpec("correct_choice_probability", correct_choice_probability, linear=True, continuous=True,
               higher_is_better=True, description="q_correct, softmax probability of the right option",
               paper="Fig. 6", requires=_MC, record_scorer=_mc(correct_choice_probability)),
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
