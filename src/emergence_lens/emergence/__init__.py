"""Emergence statistics: score, bootstrap CIs, resolution, verdicts.

* :mod:`.score` — :func:`emergence_score` (BIG-bench breakthroughness), :func:`linearity`;
* :mod:`.bootstrap` — vectorised seeded bootstrap over examples;
* :mod:`.resolution` — Clopper-Pearson intervals and the resolution limit of ``n`` examples;
* :mod:`.table` — scores for every curve of a table;
* :mod:`.compare` — :func:`compare_metrics`: does emergence survive the partner metric?
"""

from emergence_lens.emergence.bootstrap import (
    BootstrapResult,
    bootstrap_emergence,
    bootstrap_means,
    percentile_ci,
)
from emergence_lens.emergence.compare import (
    DEFAULT_THRESHOLD,
    classify_sharpness,
    compare_metrics,
)
from emergence_lens.emergence.resolution import (
    clopper_pearson,
    detection_probability,
    min_detectable_accuracy,
    resolution_limit,
)
from emergence_lens.emergence.score import (
    EmergenceScoreError,
    emergence_score,
    emergence_scores,
    linearity,
)
from emergence_lens.emergence.table import emergence_table

__all__ = [
    "emergence_score", "emergence_scores", "linearity", "EmergenceScoreError",
    "bootstrap_means", "bootstrap_emergence", "percentile_ci", "BootstrapResult",
    "clopper_pearson", "resolution_limit", "detection_probability", "min_detectable_accuracy",
    "emergence_table", "compare_metrics", "classify_sharpness", "DEFAULT_THRESHOLD",
]
