"""Kinds of the metric names that BIG-bench and lm-evaluation-harness report.

``(linear, continuous, higher_is_better)``; names not listed are ``unknown``.  Filter suffixes
(``exact_match[strict-match]``) are ignored.  Registered emergence-lens metrics use the registry.
"""

from __future__ import annotations

from emergence_lens.metrics import METRICS

__all__ = ["metric_kind", "metric_properties", "is_log_scale", "chance_for", "AUDIT_PARTNERS", "LOG_SCALE_METRICS",
           "VALUE_RANGES", "SCALED_SCORES",
           "GENERATION_ACCURACY", "CHOICE_ACCURACY"]

_D, _C = (False, False), (False, True)
_TABLE: dict[str, tuple[bool, bool, bool]] = {
    # BIG-bench
    "exact_str_match": (*_D, True), "case_insensitive_str_match": (*_D, True),
    "multiple_choice_grade": (*_D, True), "numeric_match_with_0_1_relative_error": (*_D, True),
    "main_words_match": (*_D, True), "calibration_multiple_choice_brier_score": (*_C, False),
    "expected_calibration_error": (*_C, False), "log_likelihood": (True, True, True),
    "relative_log_likelihood": (True, True, True), "bleu": (*_C, True), "bleurt": (*_C, True),
    "rouge1": (*_C, True), "rouge2": (*_C, True), "rougeLsum": (*_C, True), "sequence_f1": (*_C, True),
    "macro_f1": (*_D, True),
    # lm-evaluation-harness
    "acc": (*_D, True), "acc_norm": (*_D, True), "exact_match": (*_D, True), "em": (*_D, True),
    "mcc": (*_D, True), "f1": (*_C, True), "brier_score": (*_C, False), "perplexity": (*_C, False),
    "word_perplexity": (*_C, False), "byte_perplexity": (*_C, False), "bits_per_byte": (True, True, False),
    "chrf": (*_C, True), "ter": (*_C, False), "likelihood": (*_C, True), "ppl": (*_C, False),
    # Inspect AI's built-in scorers (C/I per sample)
    "match": (*_D, True), "exact": (*_D, True), "includes": (*_D, True), "pattern": (*_D, True),
    "answer": (*_D, True), "choice": (*_D, True), "model_graded_qa": (*_D, True),
    "model_graded_fact": (*_D, True),
}

#: Positive errors that fall like a power law with scale: scored on log10 (like MSE), because on the
#: raw scale the breakthroughness score calls any power-law decay "sharp" (its first steps dwarf
#: the median step).
LOG_SCALE_METRICS = frozenset({"perplexity", "word_perplexity", "byte_perplexity", "ppl", "bits_per_byte",
                               "loss", "cross_entropy", "nll", "mse"})
#: Accuracy-like metrics of generation tasks: chance level 0.
GENERATION_ACCURACY = frozenset({"exact_match", "em", "exact_str_match", "case_insensitive_str_match",
                                 "numeric_match_with_0_1_relative_error", "main_words_match",
                                 "match", "exact", "includes", "pattern", "answer", "model_graded_qa",
                                 "model_graded_fact"})
#: Accuracy-like metrics of multiple-choice tasks: chance 1/K, known only from samples or --chance.
CHOICE_ACCURACY = frozenset({"acc", "acc_norm", "multiple_choice_grade", "choice"})

#: Bounded scores held to a noise floor of their own scale (paper: "no measurable ability" below it):
#: BLEU, ROUGE and chrF are published on 0-100 (floor: 1 point) or on 0-1 (floor 0.01), F1 on 0-1.  A
#: curve is read on 0-100 when any of its values passes 1; one whose every value lies under 0.01 is
#: below the floor either way.
SCALED_SCORES = frozenset({"bleu", "sacrebleu", "rouge1", "rouge2", "rougeL", "rougeLsum", "chrf", "f1",
                           "sequence_f1"})

#: Metrics whose per-example values lie in a known range: with ``n`` but no stderr, a results-only
#: mean ``m`` still has ``Var <= (m - lo)(hi - m)`` (Bhatia-Davis), a conservative stderr.
VALUE_RANGES: dict[str, tuple[float, float]] = {"brier_score": (0.0, 2.0), "f1": (0.0, 1.0),
                                                "sequence_f1": (0.0, 1.0), "mcc": (-1.0, 1.0)}

#: Sharp metric -> smooth partners looked for on the same (family, task, subtask, shots).
AUDIT_PARTNERS: dict[str, tuple[str, ...]] = {
    "multiple_choice_grade": ("calibration_multiple_choice_brier_score", "brier_score",
                              "correct_choice_probability", "log_likelihood"),
    "acc": ("brier_score",), "acc_norm": ("brier_score",),
    "exact_str_match": ("log_likelihood", "sequence_f1", "token_edit_distance"),
    "exact_match": ("token_edit_distance", "f1"),
}


def _base(name: str) -> str:
    return name.split("[", 1)[0]


def metric_properties(name: str) -> tuple[bool, bool, bool] | None:
    """``(linear, continuous, higher_is_better)`` or ``None`` if unknown."""
    spec = METRICS.get(_base(name))
    if spec is not None:
        return spec.linear, spec.continuous, spec.higher_is_better
    return _TABLE.get(_base(name))


def is_log_scale(name: str) -> bool:
    """Scored on log10: perplexity, loss, bits per byte, MSE (see :data:`LOG_SCALE_METRICS`)."""
    spec = METRICS.get(_base(name))
    return (spec is not None and spec.log_scale) or _base(name) in LOG_SCALE_METRICS


def chance_for(name: str) -> float:
    """Chance level of a reported metric when nothing else is known: 0 for generation accuracy,
    NaN otherwise (multiple-choice accuracy needs the number of options)."""
    return 0.0 if _base(name) in GENERATION_ACCURACY else float("nan")


def metric_kind(name: str) -> str:
    props = metric_properties(name)
    if props is None:
        return "unknown"
    kind = f"{'linear' if props[0] else 'nonlinear'}, {'continuous' if props[1] else 'discontinuous'}"
    return kind + (", log scale" if is_log_scale(name) else "")
