"""The pipeline behind ``emergence-lens evaluate``: run a model on a task and write per-example
records (``OUT/records.parquet``, resumable through ``OUT/parts/``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["EvaluateError", "evaluate", "load_task"]


class EvaluateError(ValueError):
    """Options that do not fit together (one line)."""


def load_task(spec: str, shots: int, n: int | None, seed: int) -> list[Any]:
    """Task examples from a GPT-3 JSONL file, a BIG-bench task.json / directory, or
    ``generate:OP:DIGITS`` (GPT-3 format, 2-shot by default) / ``generate:OP:DIGITS:compact`` (the
    ladder's ``a+b=`` format, drawn from the held-out half the ladder never trained on)."""
    from emergence_lens.tasks import (
        TaskExample,
        generate_arithmetic,
        load_bigbench_dir,
        load_bigbench_task,
        load_gpt3_arithmetic,
    )

    if spec.startswith("generate:"):
        parts = spec.split(":")
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "compact") or not parts[2].isdigit():
            raise ValueError(f"--task {spec!r}: expected generate:OP:DIGITS or generate:OP:DIGITS:compact")
        if len(parts) == 4:
            return generate_arithmetic(parts[1], int(parts[2]), n or 1000, seed=seed, k_shot=shots,  # type: ignore[arg-type]
                                       format="compact", heldout=True)
        return generate_arithmetic(parts[1], int(parts[2]), n or 1000, seed=seed, k_shot=shots)  # type: ignore[arg-type]
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"task file not found: {path}")
    if path.suffix == ".jsonl":
        base = load_gpt3_arithmetic(path)
        if shots:
            # k solved examples from the same file (the next ones, cyclically), never the question.
            solved = [e.prompt + " " + e.target for e in base]
            base = [TaskExample(e.task, e.example_id,
                                "".join(solved[(i + j) % len(base)] for j in range(1, shots + 1)) + e.prompt,
                                e.target) for i, e in enumerate(base)]
        return base[:n] if n else base
    examples = (load_bigbench_task(path) if path.is_file()
                else [e for ex in load_bigbench_dir(path).values() for e in ex])
    return examples[:n] if n else examples


def evaluate(model: str, task: str, out: str | Path, *, backend: str = "hf", family: str | None = None,
             scale_params: float | None = None, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
             tensor_parallel_size: int = 1, shots: int = 2, n: int | None = None, device: str = "auto",
             seed: int = 0, sample_until_pass: int | None = None, max_samples: int = 1000,
             temperature: float = 1.0) -> pd.DataFrame:
    """Evaluate ``model`` on ``task`` with ``backend`` (``hf``, ``openai``, ``vllm``) into ``out`` and
    return the records (see ``emergence-lens evaluate --help`` for each option).

    Raises:
        EvaluateError: options that do not fit together; BackendError, TaskFormatError,
            FileNotFoundError, ValueError: the model or task cannot be used.
    """
    from emergence_lens.models.backends import make_backend
    from emergence_lens.models.evaluate import evaluate_to_dir
    from emergence_lens.sources.scale import infer_family

    examples = load_task(task, shots, n, seed)
    if backend == "openai":
        if not base_url:
            raise EvaluateError("--backend openai needs --base-url")
        be = make_backend("openai", model, base_url=base_url, api_key_env=api_key_env)
    elif backend == "vllm":
        be = make_backend("vllm", model, tensor_parallel_size=tensor_parallel_size)
    else:
        be = make_backend(backend, model, device=device)
    if scale_params is None:
        if backend != "hf":
            raise EvaluateError("--scale-params is required for this backend")
        scale_params = float(sum(p.numel() for p in be.model.parameters()))  # type: ignore[attr-defined]
    sampling = ({} if sample_until_pass is None else
                {"sample_until_pass": sample_until_pass, "max_samples": max_samples,
                 "temperature": temperature, "sample_seed": seed})
    # the compact format's answer follows "=" directly; GPT-3's follows "A:" and a space
    prefix = "" if task.startswith("generate:") and task.endswith(":compact") else " "
    return evaluate_to_dir(be, examples, out, family=family or infer_family(model), model=Path(model).name or model,
                           answer_prefix=prefix, scale_params=scale_params, **sampling)
