"""CPU throughput of the ladder: training tokens/s per size and evaluation examples/s.

Trains each default size for a few steps (after a warm-up step) and evaluates 2-shot 4-digit
addition with the transformers backend (greedy generation + teacher-forced target log-probs).
The obvious alternative for evaluation is Hugging Face ``model.generate`` one prompt at a time.

Run: python benchmarks/bench_ladder.py [--steps 10] [--examples 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from emergence_lens.models.backends.hf import HFBackend
from emergence_lens.models.evaluate import evaluate_examples
from emergence_lens.models.ladder import DEFAULT_RECIPE, DEFAULT_SIZES, train_model
from emergence_lens.tasks import generate_arithmetic


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--examples", type=int, default=200)
    a = ap.parse_args()
    recipe = replace(DEFAULT_RECIPE, steps=a.steps + 1, ckpt_every=10**9)
    ex = generate_arithmetic("plus", 4, a.examples, seed=0, k_shot=2)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {recipe.batch_size} x "
          f"{recipe.seq_len} tokens")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (DEFAULT_SIZES[0], DEFAULT_SIZES[3], DEFAULT_SIZES[-1]):
            meta = train_model(size, recipe, Path(tmp) / size.name)
            be = HFBackend(Path(tmp) / size.name, device="cpu", batch_size=250)
            t0 = time.perf_counter()
            evaluate_examples(be, ex, family="b", model=size.name, scale_params=1.0)
            ev = a.examples / (time.perf_counter() - t0)
            m = min(20, a.examples)
            t0 = time.perf_counter()
            for e in ex[:m]:
                ids = be.tokenizer(e.prompt + " ", return_tensors="pt")
                be.model.generate(**ids, max_new_tokens=7, do_sample=False, pad_token_id=0)
            naive = m / (time.perf_counter() - t0)
            print(f"{size.name} ({meta['non_embedding_params']:,} non-emb params): train "
                  f"{meta['tokens_per_second']:,.0f} tokens/s; evaluate {ev:,.0f} examples/s "
                  f"(generation + target log-probs); HF generate one-by-one {naive:,.0f} examples/s "
                  f"(generation only), ratio {ev / naive:.0f}x")


if __name__ == "__main__":
    main()
