"""Genuine Inspect AI logs of a task run for two epochs (mean reducer), as ``inspect eval --epochs 2``
writes them: ``.eval`` and JSON.  No model runs: a solver answers each sample right with probability
0.6 (seeded), so the scores differ between epochs.  This is how ``tests/data/inspect_epochs/`` was
made (inspect-ai 0.3.285):

    pip install inspect-ai
    python scripts/inspect_epochs.py tests/data/inspect_epochs
"""

from __future__ import annotations

import os
import random
import sys


def main() -> None:
    os.environ.setdefault("INSPECT_LOG_LEVEL", "warning")
    from inspect_ai import Epochs, Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput
    from inspect_ai.scorer import includes, match
    from inspect_ai.solver import solver

    out = sys.argv[1]
    rng = random.Random(0)

    @solver
    def guess():
        async def solve(state, generate):
            answer = state.target.text if rng.random() < 0.6 else "0"
            state.output = ModelOutput.from_content(model="mockllm/model", content=answer)
            return state
        return solve

    dataset = [Sample(input=f"{i}+1=", target=str(i + 1), id=i) for i in range(10)]
    for fmt in ("eval", "json"):
        eval(Task(dataset=dataset, solver=guess(), scorer=[match(), includes()], epochs=Epochs(2, "mean")),
             model="mockllm/model", log_dir=out, log_format=fmt, display="none")


if __name__ == "__main__":
    main()
