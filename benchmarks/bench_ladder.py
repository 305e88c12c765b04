"""CPU throughput of the ladder: training tokens/s and FLOP/s per size against the machine's own
matmul FLOP/s, and evaluation examples/s against Hugging Face ``generate`` one prompt at a time.

Training runs as ``train-ladder`` trains a member: one thread, in a process under the pinned
environment (:data:`emergence_lens.models.pinned.PINNED_ENV`: oneMKL's reproducible ``COMPATIBLE``
branch, ATen's AVX2 kernels), the default recipe's batches, for ``--steps`` steps after one
warm-up step.  The benchmark re-executes itself under that environment; ``--unpinned`` measures
the same loop with the libraries free to use the CPU's best code paths (not reproducible across
CPUs), for the price of portability.  Model FLOP/s counts ``6 * (non-embedding params +
vocab x width)`` per token plus attention (``6 * layers * T * width``, T the mean row width);
the machine's figure is the best of ``torch.mm`` on one thread at the model's own layer shapes and
at 1024 x 1024, measured in the same environment, and at 1024 x 1024 with the CPU's best code
path.  Evaluation answers held-out 4-digit sums (0-shot compact format, greedy with KV cache +
teacher-forced target log-probs) with the shipped ladder.

Run: python benchmarks/bench_ladder.py [--steps 20] [--examples 500]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from emergence_lens.experiments.arithmetic import make_examples
from emergence_lens.models.backends.hf import HFBackend
from emergence_lens.models.data import PAD_ID, training_batch
from emergence_lens.models.evaluate import evaluate_examples
from emergence_lens.models.ladder import DEFAULT_RECIPE, DEFAULT_SIZES, shipped_ladder, train_model
from emergence_lens.models.pinned import PINNED_ENV


def _mm_flops(m: int, k: int, n: int, seconds: float = 0.5) -> float:
    a, b = torch.randn(m, k), torch.randn(k, n)
    torch.mm(a, b)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        torch.mm(a, b)
        reps += 1
    return 2.0 * m * k * n * reps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--examples", type=int, default=500)
    ap.add_argument("--unpinned", action="store_true", help="train with the CPU's own best code paths")
    a = ap.parse_args()
    if not a.unpinned and any(os.environ.get(k) != v for k, v in PINNED_ENV.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **PINNED_ENV})
    torch.set_num_threads(1)
    recipe = replace(DEFAULT_RECIPE, steps=a.steps + 1, ckpt_every=10**9, warmup=1)
    widths = [(training_batch(s, recipe.batch_size, recipe.seq_len).input_ids != PAD_ID).sum(1).mean() for s in range(20)]
    mean_row = float(sum(widths) / len(widths))
    ex = [e for e in make_examples(a.examples, seed=0) if e.task == "addition-L5"]
    print(f"torch {torch.__version__}, 1 thread (as train-ladder trains), batch {recipe.batch_size} rows, "
          f"mean row {mean_row:.1f} tokens")
    big = _mm_flops(1024, 1024, 1024)
    env = {k: v for k, v in os.environ.items() if k not in PINNED_ENV} | {"OMP_NUM_THREADS": "1"}
    best = float(subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                                 "import torch, bench_ladder as b; torch.set_num_threads(1); "
                                 "print(b._mm_flops(1024, 1024, 1024))"],
                                env=env, capture_output=True, text=True, check=True).stdout)
    mode = "unpinned (the CPU's best code paths)" if a.unpinned else "pinned (PINNED_ENV, as train-ladder)"
    print(f"training {mode}: MKL_CBWR={os.environ.get('MKL_CBWR', '-')}, "
          f"ATen capability {torch.backends.cpu.get_cpu_capability()}")
    print(f"machine: torch.mm 1024x1024x1024, 1 thread: {big / 1e9:.1f} GFLOP/s in this environment, "
          f"{best / 1e9:.1f} GFLOP/s with the CPU's best code path")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (DEFAULT_SIZES[0], DEFAULT_SIZES[3], DEFAULT_SIZES[-1]):
            stamps: list[float] = []
            meta = train_model(size, recipe, Path(tmp) / size.name, threads=1,
                               progress=lambda step, total, loss: stamps.append(time.perf_counter()))
            d, n_tok = size.d_model, recipe.batch_size * mean_row
            per_token = 6 * (meta["non_embedding_params"] + 100 * d) + 6 * size.n_layer * mean_row * d
            step_s = (stamps[-1] - stamps[0]) / (len(stamps) - 1)  # after the warm-up step
            achieved = per_token * n_tok / step_s
            shaped = max(_mm_flops(int(n_tok), d, 4 * d), _mm_flops(int(n_tok), 4 * d, d))
            be = HFBackend(shipped_ladder() / size.name, device="cpu", batch_size=500)
            t0 = time.perf_counter()
            evaluate_examples(be, ex, family="b", model=size.name, scale_params=1.0, answer_prefix="")
            ev = len(ex) / (time.perf_counter() - t0)
            m = min(50, len(ex))
            t0 = time.perf_counter()
            for e in ex[:m]:
                ids = be.tokenizer(e.prompt, return_tensors="pt")
                be.model.generate(**ids, max_new_tokens=7, do_sample=False, pad_token_id=0)
            naive = m / (time.perf_counter() - t0)
            print(f"{size.name} ({meta['non_embedding_params']:,} non-emb params): train {n_tok / step_s:,.0f} "
                  f"tokens/s = {achieved / 1e9:.2f} GFLOP/s = {achieved / shaped:.0%} of torch.mm at its layer "
                  f"shape ({shaped / 1e9:.1f} GFLOP/s), {achieved / big:.0%} of 1024^3, {achieved / best:.0%} of the "
                  f"CPU's best 1024^3; evaluate {ev:,.0f} "
                  f"examples/s; HF generate one-by-one {naive:,.0f} examples/s (generation only), ratio "
                  f"{ev / naive:.0f}x")


if __name__ == "__main__":
    main()
