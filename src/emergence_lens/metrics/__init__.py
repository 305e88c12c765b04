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
per_token_accuracy         :mod:`.token_accuracy`                      linear, discontinuous
subset_accuracy            :mod:`.subset`                              nonlinear, discontinuous
per_item_accuracy          :mod:`.subset`                              linear, discontinuous
reconstruction_at          :mod:`.reconstruction`                      nonlinear, discontinuous
mse                        :mod:`.reconstruction`                      nonlinear, continuous
=========================  ==========================================  ======================

Every function returns one score per example (per group for ``subset_accuracy``); curves
average them per model.  The registry and the built-in registrations live in :mod:`.registry`.
"""

from __future__ import annotations

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
from emergence_lens.metrics.token_accuracy import per_token_accuracy

__all__ = [
    "MetricSpec", "METRICS", "register_metric", "register_metric_factory", "get_metric", "list_metrics",
    "metric_name", "label_sequence_scores",
    "exact_match", "token_edit_distance", "tokenize", "target_log_likelihood",
    "target_token_probability", "multiple_choice_grade", "brier_score", "bigbench_brier_score",
    "choice_probabilities", "correct_choice_probability", "subset_accuracy", "per_item_accuracy", "mse",
    "reconstruction_at", "per_token_accuracy",
]

