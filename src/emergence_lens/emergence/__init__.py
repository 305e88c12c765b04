"""Emergence statistics: score, bootstrap CIs, resolution, chance, transforms, verdicts.

* :mod:`.score` — :func:`emergence_score` (BIG-bench breakthroughness), :func:`linearity`;
* :mod:`.bootstrap` — vectorised seeded bootstrap over examples (paired across metrics);
* :mod:`.resolution` — Clopper-Pearson intervals, resolution limit, "no measurable ability";
* :mod:`.chance` — chance levels, ``emerges_at``, Wei et al.'s criterion;
* :mod:`.xaxis` — parameters, training FLOPs or pretraining loss as the x-axis;
* :mod:`.table` — scores for every curve of a table;
* :mod:`.compare` — sharpness states and the partner comparison;
* :mod:`.paired` — sharpness difference of a metric and its partner on the same resamples;
* :mod:`.transforms` — each sharp metric as a transform of a smooth ingredient (``a**L``, ...);
* :mod:`.explain` — observed vs predicted curve in a band that holds jointly over scales;
* :mod:`.forecast` — predictors (transform, per-example, two-step, passuntil, naive, observational),
  calibrated backtests;
* :mod:`.verdict` — the verdict table that combines them.
"""

from emergence_lens.emergence.bootstrap import (
    BootstrapResult,
    bootstrap_column_means,
    bootstrap_emergence,
    bootstrap_means,
    curve_seed,
    percentile_ci,
)
from emergence_lens.emergence.chance import chance_level, chance_levels, emerges_at, wei_emergent
from emergence_lens.emergence.compare import (
    DEFAULT_THRESHOLD,
    classify_sharpness,
    compare_metrics,
)
from emergence_lens.emergence.explain import Explanation, explain_aggregate, explain_curve
from emergence_lens.emergence.paired import PairedSharpness, paired_sharpness
from emergence_lens.emergence.passuntil import (
    PASS_RATE_COLUMNS,
    PassRate,
    pass_rate,
    pass_rate_table,
    problem_pass_rates,
)
from emergence_lens.emergence.resolution import (
    clopper_pearson,
    detection_probability,
    measurable_ability,
    min_detectable_accuracy,
    minimal_detectable_effect,
    resolution_limit,
)
from emergence_lens.emergence.score import (
    EmergenceScoreError,
    emergence_score,
    emergence_scores,
    linearity,
)
from emergence_lens.emergence.table import emergence_table
from emergence_lens.emergence.transforms import Transform, transform_for
from emergence_lens.emergence.verdict import (
    PREDICTION_COLUMNS,
    VERDICT_COLUMNS,
    VERDICTS,
    VerdictResult,
    verdict_table,
)
from emergence_lens.emergence.xaxis import X_AXES, X_LABELS, x_column, x_position

__all__ = [
    "PassRate",
    "PASS_RATE_COLUMNS",
    "pass_rate_table",
    "pass_rate",
    "problem_pass_rates",
    "emergence_score", "emergence_scores", "linearity", "EmergenceScoreError",
    "bootstrap_means", "bootstrap_column_means", "bootstrap_emergence", "percentile_ci", "BootstrapResult",
    "curve_seed",
    "clopper_pearson", "resolution_limit", "detection_probability", "min_detectable_accuracy",
    "measurable_ability", "minimal_detectable_effect",
    "chance_level", "chance_levels", "emerges_at", "wei_emergent",
    "emergence_table", "compare_metrics", "classify_sharpness", "DEFAULT_THRESHOLD",
    "PairedSharpness", "paired_sharpness", "Transform", "transform_for", "Explanation", "explain_curve",
    "explain_aggregate", "VerdictResult", "verdict_table", "VERDICT_COLUMNS",
    "PREDICTION_COLUMNS", "VERDICTS", "X_AXES", "X_LABELS", "x_column", "x_position",
]
