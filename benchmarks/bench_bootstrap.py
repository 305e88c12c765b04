"""Bootstrap of 1,000 resamples over 10 models x 100,000 per-example scores.

Compares emergence_lens.emergence.bootstrap_means (exact multinomial resampling over distinct
values; chunked index resampling otherwise) with the obvious vectorised alternative (draw a
(B, n) index matrix per model and average), and times the emergence-score CI on top.

Run: python benchmarks/bench_bootstrap.py [--models 10] [--examples 100000] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from emergence_lens.emergence import bootstrap_emergence, bootstrap_means


def naive(scores: list[np.ndarray], n_boot: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, len(scores)))
    for j, s in enumerate(scores):
        n = s.size
        step = max(1, (1 << 24) // n)
        for start in range(0, n_boot, step):
            b = min(step, n_boot - start)
            out[start:start + b, j] = s[rng.integers(0, n, size=(b, n))].mean(axis=1)
    return out


def timed(fn):
    t0 = time.perf_counter()
    res = fn()
    return res, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=10)
    ap.add_argument("--examples", type=int, default=100_000)
    ap.add_argument("--resamples", type=int, default=1000)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    acc = np.linspace(0.01, 0.6, a.models)
    binary = [(rng.random(a.examples) < p).astype(float) for p in acc]
    x = np.logspace(7, 11, a.models)

    fast, t_fast = timed(lambda: bootstrap_means(binary, a.resamples, seed=1))
    slow, t_slow = timed(lambda: naive(binary, a.resamples, seed=1))
    assert np.allclose(fast.std(axis=0), slow.std(axis=0), rtol=0.15)
    print(f"{a.models} models x {a.examples:,} binary scores x {a.resamples:,} resamples")
    print(f"bootstrap_means (multinomial): {t_fast:.3f} s")
    print(f"naive index resampling:        {t_slow:.3f} s")
    print(f"ratio: {t_slow / t_fast:.0f}x")
    _, t_em = timed(lambda: bootstrap_emergence(x, binary, n_boot=a.resamples, seed=1))
    print(f"emergence score + CI (same data): {t_em:.3f} s")

    edit = [rng.poisson(3 * (1 - p), size=a.examples).astype(float) for p in acc]
    _, t_int = timed(lambda: bootstrap_means(edit, a.resamples, seed=1))
    print(f"integer scores (edit distances, multinomial): {t_int:.3f} s")
    cont = [rng.normal(p, 1, size=a.examples // 10) for p in acc]
    _, t_c = timed(lambda: bootstrap_means(cont, a.resamples, seed=1))
    _, t_cn = timed(lambda: naive(cont, a.resamples, seed=1))
    print(f"continuous scores, {a.examples // 10:,} per model (index path): {t_c:.3f} s "
          f"(naive {t_cn:.3f} s)")


if __name__ == "__main__":
    main()
