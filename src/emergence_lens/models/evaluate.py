"""Evaluate a backend on task examples and return records (the core issue's table).

For every example: the greedy completion (cut at the stop strings), the teacher-forced
per-token log-probabilities of the target, and — when the example has answer options — the
log-likelihood of every option.  An empty or unparseable completion is kept as it is (scored as
wrong, with its edit distance); nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from emergence_lens.models.backends.base import Backend
from emergence_lens.records import records_to_pandas, validate_records
from emergence_lens.tasks import TaskExample

__all__ = ["evaluate_examples"]


def evaluate_examples(backend: Backend, examples: Sequence[TaskExample], *, family: str, model: str,
                      scale_params: float, scale_flops: float | None = None,
                      pretrain_loss: float | None = None,
                      answer_prefix: str = " ", max_new_tokens: int | None = None,
                      stop: Sequence[str] = ("\n",), sample_until_pass: int | None = None,
                      max_samples: int = 1000, temperature: float = 1.0, sample_seed: int = 0) -> pd.DataFrame:
    """Run ``backend`` on ``examples`` and return validated records.

    Args:
        answer_prefix: text between the prompt and the answer (GPT-3 format: one space, so the
            target tokens are the answer's digits).
        max_new_tokens: generation budget (default: longest target + 2 tokens of slack).
        pretrain_loss: the model's pretraining loss, recorded for ``--x loss``.

    Backends with ``target_scores`` (the HF backend) also record ``target_token_greedy``: whether
    each target token is the teacher-forced argmax, the ingredient of greedy exact match.

    With ``sample_until_pass=K`` (backends that can ``sample``: hf), completions are also drawn at
    ``temperature`` until K are right or ``max_samples`` are drawn (PassUntil, Hu et al. 2023):
    ``attempts`` and ``passes`` per example, ``pass_k`` = K
    (:func:`emergence_lens.emergence.pass_rate_table` turns them into pass rates with CIs).
    """
    if not examples:
        raise ValueError("no examples to evaluate")
    prompts = [e.prompt + answer_prefix for e in examples]
    targets = [e.target for e in examples]
    budget = max_new_tokens or max(len(t) for t in targets) + 2
    preds = backend.generate(prompts, budget, stop)
    scorer = getattr(backend, "target_scores", None)
    if callable(scorer):  # log-probs and per-token greedy flags in one pass
        lps, greedy = scorer(prompts, targets)
    else:
        lps, greedy = backend.target_logprobs(prompts, targets), None
    mc = [i for i, e in enumerate(examples) if e.choices]
    choice_lp: dict[int, list[float]] = {}
    if mc:
        res = backend.choice_logprobs([prompts[i] for i in mc], [list(examples[i].choices or ()) for i in mc])
        choice_lp = dict(zip(mc, res, strict=True))
    df = pd.DataFrame({
        "family": family, "model": model, "scale_params": float(scale_params),
        "scale_flops": scale_flops, "task": [e.task for e in examples],
        "example_id": [e.example_id for e in examples], "target": targets,
        "prediction": [p.strip() for p in preds], "target_token_logprobs": lps,
        "choice_logprobs": [choice_lp.get(i) for i in range(len(examples))],
        "correct_choice": pd.array([e.correct_choice if e.choices else None for e in examples], dtype="Int64"),
        "target_token_greedy": greedy if greedy is not None else [None] * len(examples),
        "pretrain_loss": pretrain_loss,
    })
    if sample_until_pass is not None:
        from emergence_lens.models.sampling import sample_until_pass as draw

        attempts, passes = draw(backend, prompts, targets, k=sample_until_pass, max_samples=max_samples,
                                temperature=temperature, seed=sample_seed, max_new_tokens=budget, stop=stop)
        df["attempts"], df["passes"], df["pass_k"] = attempts, passes, sample_until_pass
    table = validate_records(df, source=f"evaluation of {model}")
    return records_to_pandas(table)


def evaluate_to_dir(backend: Backend, examples: Sequence[TaskExample], out, *, family: str, model: str,
                    scale_params: float, scale_flops: float | None = None, chunk_size: int = 500,
                    **kwargs) -> pd.DataFrame:
    """Evaluate in chunks, each written to ``out/parts/part-NNNNN.parquet`` as it finishes; a rerun
    after an interruption evaluates only the missing chunks.  Writes ``out/records.parquet``."""
    from pathlib import Path

    from emergence_lens.records import read_records, write_records

    out = Path(out)
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    frames = []
    for k, start in enumerate(range(0, len(examples), chunk_size)):
        path = parts / f"part-{k:05d}.parquet"
        chunk = examples[start:start + chunk_size]
        if path.exists():
            df = read_records(path)
            if list(df["example_id"]) == [e.example_id for e in chunk] and (df["model"] == model).all():
                frames.append(df)
                continue
        extra = dict(kwargs)
        if "sample_seed" in extra:  # each chunk draws from its own stream
            extra["sample_seed"] = extra["sample_seed"] * 100_003 + k
        df = evaluate_examples(backend, chunk, family=family, model=model, scale_params=scale_params,
                               scale_flops=scale_flops, **extra)
        write_records(df, path)
        frames.append(df)
    records = pd.concat(frames, ignore_index=True)
    write_records(records, out / "records.parquet")
    return records
