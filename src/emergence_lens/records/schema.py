"""The records table: one row per (family, model, task, example).

Every analysis in emergence-lens starts from this table.  A row holds what one model did on
one test example; metrics turn rows into per-example scores, curves aggregate them per model.

Columns (``RECORD_SCHEMA``):

================================  =====================  =========================================
column                            type                   meaning
================================  =====================  =========================================
``family``                        string, required       model family, e.g. ``"pythia"``
``model``                         string, required       model name within the family
``scale_params``                  float64, required      parameter count N (> 0, finite)
``scale_flops``                   float64, nullable      training compute (> 0, finite) if known
``task``                          string, required       task (or subtask) name
``example_id``                    string, required       id of the test example, unique per
                                                         (family, model, task)
``target``                        string, nullable       reference answer text
``prediction``                    string, nullable       model output text ("" is a valid, empty
                                                         output; null means "not generated")
``target_token_logprobs``         list<float64>, null.   teacher-forced log p of each target token
``choice_logprobs``               list<float64>, null.   log-likelihood of each answer option
``correct_choice``                int64, nullable        index of the correct option
``reconstruction_mse``            float64, nullable      per-example mean squared reconstruction
                                                         error (autoencoders; >= 0, finite)
``target_token_greedy``           list<bool>, nullable   per target token: is the teacher-forced
                                                         argmax the target token (lm-eval's
                                                         ``is_greedy``, per token); same length as
                                                         ``target_token_logprobs`` when both given
``pretrain_loss``                 float64, nullable      the model's pretraining (held-out) loss,
                                                         one value per model; an x-axis (Du et al.
                                                         2024)
``attempts``                      int64, nullable        PassUntil: completions sampled for this
                                                         example (>= 1; Hu et al. 2023)
``passes``                        int64, nullable        PassUntil: how many of them were right
                                                         (0 <= passes <= attempts; sampling stopped
                                                         at the K-th pass or the cap; the extra
                                                         column ``pass_k`` holds K)
================================  =====================  =========================================

Extra columns (``subtask``, ``n_shots``, ...) are allowed and preserved.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["RECORD_SCHEMA", "REQUIRED_COLUMNS", "KEY_COLUMNS", "LIST_COLUMNS"]

RECORD_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field("family", pa.string(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("scale_params", pa.float64(), nullable=False),
        pa.field("scale_flops", pa.float64(), nullable=True),
        pa.field("task", pa.string(), nullable=False),
        pa.field("example_id", pa.string(), nullable=False),
        pa.field("target", pa.string(), nullable=True),
        pa.field("prediction", pa.string(), nullable=True),
        pa.field("target_token_logprobs", pa.list_(pa.float64()), nullable=True),
        pa.field("choice_logprobs", pa.list_(pa.float64()), nullable=True),
        pa.field("correct_choice", pa.int64(), nullable=True),
        pa.field("reconstruction_mse", pa.float64(), nullable=True),
        pa.field("target_token_greedy", pa.list_(pa.bool_()), nullable=True),
        pa.field("pretrain_loss", pa.float64(), nullable=True),
        pa.field("attempts", pa.int64(), nullable=True),
        pa.field("passes", pa.int64(), nullable=True),
    ]
)

#: Columns that must be present (nullable columns may be absent; they are then added as nulls).
REQUIRED_COLUMNS: tuple[str, ...] = tuple(f.name for f in RECORD_SCHEMA if not f.nullable)

#: A row is identified by these columns; duplicates are an error.
KEY_COLUMNS: tuple[str, ...] = ("family", "model", "task", "example_id")

LIST_COLUMNS: tuple[str, ...] = ("target_token_logprobs", "choice_logprobs")
