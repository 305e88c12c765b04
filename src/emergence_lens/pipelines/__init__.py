"""Each command's pipeline, callable from Python with the command's options, one module each, named
after the command: :mod:`.audit`, :mod:`.predict`, :mod:`.score`, :mod:`.report`, :mod:`.evaluate`,
:mod:`.reproduce`, :mod:`.finetune` (``from emergence_lens.pipelines.audit import audit``)."""

__all__ = ["audit", "evaluate", "finetune", "predict", "report", "reproduce", "score"]
