"""Forecasting a family's larger models from its smaller ones: predictors side by side, calibrated.

* :mod:`.data` — :class:`CurveData` (what a predictor sees of a curve) and :class:`Forecast`;
* :mod:`.fits` — lines on a link scale, chosen by rolling-origin held-out error;
* :mod:`.registry` — predictors by name (``--methods``);
* one module per predictor: :mod:`.transform` (ingredient -> the metric's transform; Schaeffer et
  al. 2023), :mod:`.per_example` (each example's cross-entropy -> the metric per example), :mod:`.two_step` (proxy -> sigmoid; Llama 3, OLMo ladder), :mod:`.passuntil` (PassUntil
  pass rates; Hu et al. 2023), :mod:`.naive` (the metric itself; Wei et al. 2022),
  :mod:`.observational` (capability components of a benchmark matrix; Ruan et al. 2024),
  :mod:`.loss` and :mod:`.loss_law` (the metric against pretraining loss; Du et al. 2024),
  :mod:`.finetune` (an emergence law on finetuned models; Snell et al. 2024);
* :mod:`.calibrate` — leave-future-out widening of each predictor's band;
* :mod:`.backtest` — one curve: fit on the smallest, predict the rest, with every predictor
  (:mod:`emergence_lens.backtesting` runs it over curves and calibrates).
"""

from emergence_lens.emergence.forecast.data import CurveData, Examples, Finetuned, Forecast, Ingredient, Pool, Series
from emergence_lens.emergence.forecast.fits import choose_link, extrapolate, extrapolate_selected, fit_lines
from emergence_lens.emergence.forecast.registry import (
    PREDICTORS,
    PredictorSpec,
    get_predictor,
    predictor_names,
    register_predictor,
    resolve_methods,
)
from emergence_lens.emergence.forecast.transform import predict_transform  # isort: skip  (registration order)
from emergence_lens.emergence.forecast.per_example import predict_per_example  # isort: skip
from emergence_lens.emergence.forecast.two_step import predict_two_step, proxy_of, two_step_predict  # isort: skip
from emergence_lens.emergence.forecast.passuntil import predict_passuntil  # isort: skip
from emergence_lens.emergence.forecast.naive import naive_links, predict_naive  # isort: skip
from emergence_lens.emergence.forecast.observational import capability_components, predict_observational  # isort: skip
from emergence_lens.emergence.forecast.loss import fit_loss_law, metric_at_loss, predict_loss  # isort: skip
from emergence_lens.emergence.forecast.loss_law import predict_loss_law  # isort: skip
from emergence_lens.emergence.forecast.finetune import fit_emergence_law, predict_finetune  # isort: skip
from emergence_lens.emergence.forecast.calibrate import (  # isort: skip
    DEFAULT_CALIBRATION,
    Calibration,
    calibrated_interval,
    calibration_quantile,
    conformal_quantile,
    horizon_factor,
    leave_future_out_scores,
    metric_moved,
)
from emergence_lens.emergence.forecast.backtest import (  # isort: skip
    PREDICTION_COLUMNS,
    MethodForecast,
    curve_from_designs,
    forecast_methods,
    half_range_crossing,
)

__all__ = [
    "CurveData", "Examples", "Finetuned", "Forecast", "Ingredient", "Pool", "Series", "choose_link", "extrapolate",
    "extrapolate_selected", "fit_lines", "PREDICTORS", "PredictorSpec", "get_predictor", "predictor_names",
    "register_predictor", "resolve_methods", "predict_transform", "predict_per_example", "predict_two_step",
    "proxy_of", "two_step_predict", "predict_passuntil", "naive_links", "predict_naive", "capability_components",
    "predict_observational", "predict_loss", "predict_loss_law", "predict_finetune", "fit_emergence_law",
    "fit_loss_law", "metric_at_loss", "calibrated_interval",
    "calibration_quantile", "conformal_quantile", "horizon_factor",
    "leave_future_out_scores", "metric_moved", "Calibration", "DEFAULT_CALIBRATION", "PREDICTION_COLUMNS",
    "MethodForecast", "curve_from_designs",
    "forecast_methods", "half_range_crossing",
]
