"""``emergence-lens evaluate``: options -> :func:`emergence_lens.pipelines.evaluate.evaluate` -> console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emergence_lens.cli.common import alias, console, fail, require, say


def evaluate(
    model: Annotated[str, typer.Option(help="Local path or hub id (hf, vllm) or served model name (openai).")],
    task: Annotated[str, typer.Option(help="GPT-3 JSONL, BIG-bench task.json or directory, generate:OP:DIGITS, "
                                           "or generate:OP:DIGITS:compact (the shipped ladder's format).")],
    out: Annotated[Path, typer.Option(help="Output directory (records.parquet; resumable parts/).")],
    backend: Annotated[str, typer.Option(help="hf, openai or vllm.")] = "hf",
    family: Annotated[str | None, typer.Option(
        help="Model family for the records (default: inferred from the model name).")] = None,
    scale_params: Annotated[float | None, typer.Option(
        help="Parameter count (default for hf: counted from the loaded model).")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (…/v1).")] = None,
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the API key.")] = "OPENAI_API_KEY",
    tensor_parallel_size: Annotated[int, typer.Option(help="vLLM tensor parallelism.")] = 1,
    shots: Annotated[int, typer.Option(help="Solved examples prepended (GPT-3 JSONL / generate).")] = 2,
    n_examples: Annotated[int | None, typer.Option("--n-examples", help="Evaluate at most N examples.")] = None,
    n: Annotated[int | None, typer.Option("--n", hidden=True)] = None,
    device: Annotated[str, typer.Option(help="hf: auto, cpu or cuda.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed for generated tasks and for sampling.")] = 0,
    sample_until_pass: Annotated[int | None, typer.Option(
        help="PassUntil (Hu et al. 2023): also sample completions per problem until K are right (records "
             "attempts, passes); resolves pass rates far below 1/n.")] = None,
    max_samples: Annotated[int, typer.Option(help="PassUntil: at most this many samples per problem.")] = 1000,
    temperature: Annotated[float, typer.Option(help="PassUntil: sampling temperature (> 0).")] = 1.0,
) -> None:
    """Run a model on a task and write per-example records (completion, target log-probs, choices)."""
    extra = {"hf": "train", "openai": "openai", "vllm": "vllm"}.get(backend)
    if extra:
        require(extra, f"'evaluate --backend {backend}'")
    from emergence_lens.models.backends import BackendError
    from emergence_lens.pipelines.evaluate import EvaluateError
    from emergence_lens.pipelines.evaluate import evaluate as run_evaluate
    from emergence_lens.tasks import TaskFormatError

    n = alias(n_examples, n, None, "--n-examples", "--n")
    try:
        with console.status(f"evaluating {model} on {task}"):
            df = run_evaluate(model, task, out, backend=backend, family=family, scale_params=scale_params,
                              base_url=base_url, api_key_env=api_key_env, tensor_parallel_size=tensor_parallel_size,
                              shots=shots, n=n, device=device, seed=seed, sample_until_pass=sample_until_pass,
                              max_samples=max_samples, temperature=temperature)
    except (EvaluateError, BackendError, TaskFormatError, FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    say(f"wrote {out / 'records.parquet'}: {len(df)} records")
