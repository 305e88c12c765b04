"""The metrics that results files report by name — BIG-bench, lm-evaluation-harness, Inspect AI —
and what each one is, registered beside the metrics emergence-lens computes per example
(:data:`~emergence_lens.metrics.registry.METRICS`, which answers first for a name in both).

Each :class:`ReportedMetric` says whether the metric is linear and continuous in the model's
probabilities and whether higher is better (the paper's two properties), whether it is scored on
log10 (a positive error falling like a power law), whether it is an accuracy (a mean of 0/1 per
example) and of which kind of task (chance 0 for generation, 1/K for multiple choice), its range of
values, whether it is held to a point of its own scale (BLEU, ROUGE, chrF, F1), and which smooth
partners ``audit`` looks for on the same outputs.  Filter suffixes (``exact_match[strict-match]``)
are ignored.  A name in neither registry is ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from emergence_lens.metrics.registry import METRICS
from emergence_lens.registry import Registry

__all__ = ["ReportedMetric", "MetricProperties", "REPORTED", "metric_properties", "metric_kind", "is_log_scale",
           "chance_for", "AUDIT_PARTNERS", "LOG_SCALE_METRICS", "VALUE_RANGES", "SCALED_SCORES",
           "GENERATION_ACCURACY", "CHOICE_ACCURACY"]


class MetricProperties(NamedTuple):
    """What the paper's argument turns on: linear and continuous in the per-token probabilities, and
    the direction of improvement."""

    linear: bool
    continuous: bool
    higher_is_better: bool


@dataclass(frozen=True)
class ReportedMetric:
    """A metric reported by name in results files.

    Attributes:
        name: as the files spell it (``acc``, ``exact_str_match``, ``bleu``, ...).
        properties: linear, continuous, higher is better; ``None`` where only other facts are known.
        log_scale: scored on log10 (perplexity, loss, bits per byte).
        accuracy: ``"generation"`` (chance 0) or ``"choice"`` (chance 1/K) for a mean of 0/1 scores.
        value_range: the range of per-example values, where known (a conservative stderr from ``n``).
        scaled: held to a point of its own scale (1 on 0-100, 0.01 on 0-1) for "no measurable ability".
        partners: smooth metrics ``audit`` contrasts it with on the same outputs, best first.
    """

    name: str
    properties: MetricProperties | None
    log_scale: bool = False
    accuracy: str = ""
    value_range: tuple[float, float] | None = None
    scaled: bool = False
    partners: tuple[str, ...] = ()


REPORTED: Registry[ReportedMetric] = Registry("reported metric")

_STEP = MetricProperties(False, False, True)  # an accuracy: a step of the probabilities, higher is better
_SMOOTH = MetricProperties(False, True, True)
_ERROR = MetricProperties(False, True, False)
for _entry in (
    # BIG-bench
    ReportedMetric("exact_str_match", _STEP, accuracy="generation",
                   partners=("log_likelihood", "sequence_f1", "token_edit_distance")),
    ReportedMetric("case_insensitive_str_match", _STEP, accuracy="generation"),
    ReportedMetric("multiple_choice_grade", _STEP, accuracy="choice",
                   partners=("calibration_multiple_choice_brier_score", "brier_score", "correct_choice_probability",
                             "log_likelihood")),
    ReportedMetric("numeric_match_with_0_1_relative_error", _STEP, accuracy="generation"),
    ReportedMetric("main_words_match", _STEP, accuracy="generation"),
    ReportedMetric("calibration_multiple_choice_brier_score", _ERROR),
    ReportedMetric("expected_calibration_error", _ERROR),
    ReportedMetric("log_likelihood", MetricProperties(True, True, True)),
    ReportedMetric("relative_log_likelihood", MetricProperties(True, True, True)),
    ReportedMetric("bleu", _SMOOTH, scaled=True),
    ReportedMetric("bleurt", _SMOOTH),
    ReportedMetric("rouge1", _SMOOTH, scaled=True),
    ReportedMetric("rouge2", _SMOOTH, scaled=True),
    ReportedMetric("rougeLsum", _SMOOTH, scaled=True),
    ReportedMetric("sequence_f1", _SMOOTH, value_range=(0.0, 1.0), scaled=True),
    ReportedMetric("macro_f1", _STEP),
    # lm-evaluation-harness
    ReportedMetric("acc", _STEP, accuracy="choice", partners=("brier_score",)),
    ReportedMetric("acc_norm", _STEP, accuracy="choice", partners=("brier_score",)),
    ReportedMetric("exact_match", _STEP, accuracy="generation", partners=("token_edit_distance", "f1")),
    ReportedMetric("em", _STEP, accuracy="generation"),
    ReportedMetric("mcc", _STEP, value_range=(-1.0, 1.0)),
    ReportedMetric("f1", _SMOOTH, value_range=(0.0, 1.0), scaled=True),
    ReportedMetric("brier_score", _ERROR, value_range=(0.0, 2.0)),
    ReportedMetric("perplexity", _ERROR, log_scale=True),
    ReportedMetric("word_perplexity", _ERROR, log_scale=True),
    ReportedMetric("byte_perplexity", _ERROR, log_scale=True),
    ReportedMetric("bits_per_byte", MetricProperties(True, True, False), log_scale=True),
    ReportedMetric("chrf", _SMOOTH, scaled=True),
    ReportedMetric("ter", _ERROR),
    ReportedMetric("likelihood", _SMOOTH),
    ReportedMetric("ppl", _ERROR, log_scale=True),
    # Inspect AI's built-in scorers (C/I per sample)
    ReportedMetric("match", _STEP, accuracy="generation"),
    ReportedMetric("exact", _STEP, accuracy="generation"),
    ReportedMetric("includes", _STEP, accuracy="generation"),
    ReportedMetric("pattern", _STEP, accuracy="generation"),
    ReportedMetric("answer", _STEP, accuracy="generation"),
    ReportedMetric("choice", _STEP, accuracy="choice"),
    ReportedMetric("model_graded_qa", _STEP, accuracy="generation"),
    ReportedMetric("model_graded_fact", _STEP, accuracy="generation"),
    # named by other tools, with only some facts known
    ReportedMetric("loss", None, log_scale=True),
    ReportedMetric("cross_entropy", None, log_scale=True),
    ReportedMetric("nll", None, log_scale=True),
    ReportedMetric("mse", None, log_scale=True),
    ReportedMetric("sacrebleu", None, scaled=True),
    ReportedMetric("rougeL", None, scaled=True),
):
    REPORTED.register(_entry.name, _entry)
del _entry

#: Positive errors that fall like a power law with scale: scored on log10 (like MSE), because on the
#: raw scale the breakthroughness score calls any power-law decay "sharp" (its first steps dwarf
#: the median step).
LOG_SCALE_METRICS = frozenset(n for n, m in REPORTED.items() if m.log_scale)
#: Accuracy-like metrics of generation tasks: chance level 0.
GENERATION_ACCURACY = frozenset(n for n, m in REPORTED.items() if m.accuracy == "generation")
#: Accuracy-like metrics of multiple-choice tasks: chance 1/K, known only from samples or --chance.
CHOICE_ACCURACY = frozenset(n for n, m in REPORTED.items() if m.accuracy == "choice")
#: Bounded scores held to a noise floor of their own scale (paper: "no measurable ability" below it):
#: BLEU, ROUGE and chrF are published on 0-100 (floor: 1 point) or on 0-1 (floor 0.01), F1 on 0-1.  A
#: curve is read on 0-100 when any of its values passes 1; one whose every value lies under 0.01 is
#: below the floor either way.
SCALED_SCORES = frozenset(n for n, m in REPORTED.items() if m.scaled)
#: Metrics whose per-example values lie in a known range: with ``n`` but no stderr, a results-only
#: mean ``m`` still has ``Var <= (m - lo)(hi - m)`` (Bhatia-Davis), a conservative stderr.
VALUE_RANGES: dict[str, tuple[float, float]] = {n: m.value_range for n, m in REPORTED.items() if m.value_range}
#: Sharp metric -> smooth partners looked for on the same (family, task, subtask, shots).
AUDIT_PARTNERS: dict[str, tuple[str, ...]] = {n: m.partners for n, m in REPORTED.items() if m.partners}


def _base(name: str) -> str:
    return name.split("[", 1)[0]


def metric_properties(name: str) -> MetricProperties | None:
    """``(linear, continuous, higher_is_better)`` of a metric computed here or reported by name, or
    ``None`` if unknown."""
    spec = METRICS.get(_base(name))
    if spec is not None:
        return MetricProperties(spec.linear, spec.continuous, spec.higher_is_better)
    reported = REPORTED.get(_base(name))
    return None if reported is None else reported.properties


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
    kind = f"{'linear' if props.linear else 'nonlinear'}, {'continuous' if props.continuous else 'discontinuous'}"
    return kind + (", log scale" if is_log_scale(name) else "")
