"""Sample a model family's records from the paper's model (:mod:`emergence_lens.theory`).

Each simulated model of size ``N`` answers ``n_examples`` questions whose targets are ``L``-digit
strings.  Token ``j`` of example ``i`` is right with probability
``p_ij = exp(-CE(N) * e_ij)``, where ``e_ij ~ Gamma(shape, 1/shape)`` (mean 1) makes some tokens
harder than others; ``E[log p_ij] = -CE(N)`` exactly as in the model.  The simulated output has
every token right with that probability and a different random digit otherwise, so exact match,
edit distance and log-likelihood all come from the same outputs; ``target_token_greedy`` records
which tokens the output got right (the per-token accuracy whose ``a**L`` predicts exact match),
``pretrain_loss`` the model's per-token cross-entropy ``CE(N)``.  ``example_sigma`` adds a
per-example difficulty factor (lognormal, mean 1) shared by every token of the example.  A multiple-choice view puts
``q_i = prod_j p_ij`` on the correct option and spreads ``1 - q_i`` over ``K - 1`` distractors.

This is *not* evidence about real models: it is a controlled family whose per-token ability
improves smoothly by construction, used to show what each metric does to such a family and to
exercise the whole pipeline on embedded defaults.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from emergence_lens.records import records_to_pandas, validate_records
from emergence_lens.theory import DEFAULT_MODEL, ScalingModel, per_token_ce

__all__ = ["simulate_records"]


def simulate_records(scales: Sequence[float], lengths: Sequence[int], n_examples: int, *,
                     model: ScalingModel = DEFAULT_MODEL, family: str = "simulated",
                     heterogeneity: float = 4.0, example_sigma: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Records for ``len(scales)`` models x ``len(lengths)`` tasks x ``n_examples`` examples.

    Args:
        scales: parameter counts of the simulated models.
        lengths: target lengths ``L``; one task ``"digits-L{L}"`` each.
        n_examples: test examples per task (the same examples for every model).
        model: ``c``, ``alpha`` and ``n_choices`` of the scaling model.
        heterogeneity: Gamma shape of the per-token difficulty (larger: more uniform tokens).
        example_sigma: spread of a per-example difficulty factor, lognormal with mean 1
            (``exp(sigma z - sigma^2 / 2)``) multiplying every token's cross-entropy of that example:
            some examples are harder than others for every model (0: none, the default).
        seed: same seed, same records.
    """
    if n_examples < 1:
        raise ValueError("n_examples must be >= 1")
    if heterogeneity <= 0:
        raise ValueError("heterogeneity must be > 0")
    if not example_sigma >= 0:
        raise ValueError("example_sigma must be >= 0")
    rng = np.random.default_rng(seed)
    K = model.n_choices
    frames = []
    for L in sorted(set(int(v) for v in lengths)):
        if L < 1:
            raise ValueError("lengths must be >= 1")
        digits = rng.integers(0, 10, size=(n_examples, L))
        digits[:, 0] = rng.integers(1, 10, size=n_examples)
        targets = ["".join(map(str, row)) for row in digits]
        # Difficulty is a property of the example, shared by every model (a fixed test set).
        difficulty = rng.gamma(heterogeneity, 1.0 / heterogeneity, size=(n_examples, L))
        if example_sigma > 0:  # drawn only when asked, so the default records keep their bytes
            z = rng.standard_normal(n_examples)
            difficulty = difficulty * np.exp(example_sigma * z - example_sigma ** 2 / 2)[:, None]
        correct_pos = rng.integers(0, K, size=n_examples)
        for j, n_params in enumerate(sorted(float(s) for s in scales)):
            ce = float(per_token_ce(n_params, model.c, model.alpha))
            logp = -ce * difficulty
            right = rng.random((n_examples, L)) < np.exp(logp)
            wrong_digit = (digits + rng.integers(1, 10, size=digits.shape)) % 10
            pred_digits = np.where(right, digits, wrong_digit)
            preds = ["".join(map(str, row)) for row in pred_digits]
            log_q = logp.sum(axis=1)
            q = np.exp(log_q)
            log_other = np.log(np.clip((1.0 - q) / (K - 1), 1e-300, None))
            choices = np.repeat(log_other[:, None], K, axis=1)
            choices[np.arange(n_examples), correct_pos] = log_q
            frames.append(pd.DataFrame({
                "family": family,
                "model": f"sim-{j:02d}-{n_params:.3g}",
                "scale_params": n_params,
                "scale_flops": 6.0 * n_params * 3e11,
                "task": f"digits-L{L}",
                "example_id": [f"L{L}-{i:05d}" for i in range(n_examples)],
                "target": targets,
                "prediction": preds,
                "target_token_logprobs": list(logp),
                "choice_logprobs": list(choices),
                "correct_choice": correct_pos.astype(np.int64),
                "target_token_greedy": list(right),
                "pretrain_loss": ce,
            }))
    df = pd.concat(frames, ignore_index=True)
    table = validate_records(df, source="simulate_records")
    return records_to_pandas(table)
