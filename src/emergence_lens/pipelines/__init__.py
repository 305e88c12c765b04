"""Each command's pipeline, callable from Python with the command's options: ``audit``, ``predict``,
``score``, ``report``, ``evaluate`` and ``reproduce`` — one module each, named after the command."""

from emergence_lens.pipelines.audit import audit
from emergence_lens.pipelines.evaluate import evaluate
from emergence_lens.pipelines.predict import predict
from emergence_lens.pipelines.report import report
from emergence_lens.pipelines.reproduce import reproduce
from emergence_lens.pipelines.score import score

__all__ = ["audit", "evaluate", "predict", "report", "reproduce", "score"]
