"""``emergence-lens finetune``: options -> :func:`emergence_lens.pipelines.finetune.finetune` -> console."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emergence_lens.cli.common import NBoot, Out, console, fail, require, say, split_list


def finetune(
    ladder: Annotated[Path | None, typer.Argument(
        help="A folder of Hugging Face-format causal LMs, each with a ladder.json (name, non_embedding_params, "
             "final_loss: its pretraining loss), as `train-ladder` writes them; default: the shipped ladder.",
        metavar="[LADDER]")] = None,
    out: Out = Path("finetune"),
    task: Annotated[list[str] | None, typer.Option(
        help="Task of the arithmetic experiment (repeatable or comma-separated; default addition-L4 and -L5).")] = None,
    train: Annotated[Path | None, typer.Option(
        help="Instead of --task: a task file to finetune on (GPT-3 JSONL or BIG-bench task.json, as `evaluate` "
             "reads them), with --eval.")] = None,
    eval_: Annotated[Path | None, typer.Option(
        "--eval", help="The task file to evaluate on (disjoint from --train), with --train.")] = None,
    k: Annotated[str, typer.Option(
        help="Finetuning examples per run, comma-separated (nested sets).")] = "256,1024,4096",
    fit_on: Annotated[int, typer.Option(help="Finetune the K smallest members (the ones a forecast fits on).")] = 6,
    n_eval: Annotated[int, typer.Option(help="Held-out problems per task (the arithmetic experiment's n).")] = 500,
    steps: Annotated[int, typer.Option(help="Optimizer steps of every finetune (same for every k).")] = 1000,
    batch_size: Annotated[int, typer.Option(help="Examples per step.")] = 32,
    lr: Annotated[float, typer.Option(help="Peak learning rate (a cosine to a tenth, with a linear warmup).")] = 3e-3,
    seeds: Annotated[str, typer.Option(
        help="Finetuning seeds, comma-separated: each draws its own examples and order; forecasts average "
             "them.")] = "0",
    seed: Annotated[int, typer.Option(help="Seed of the evaluation problems (the arithmetic experiment's) and of "
                                           "the bootstrap.")] = 0,
    jobs: Annotated[int, typer.Option(help="Jobs at once, one CPU thread each.")] = 2,
    n_boot: NBoot = 1000,
) -> None:
    """Finetune a ladder's smaller members on k examples of a task, for several k, and evaluate them
    (Snell et al. 2024): the data of the `finetune` forecast method (`predict --finetuned OUT`). Resumable:
    a rerun into the same folder reuses every finished (task, k, member)."""
    require("train", "'finetune'")
    from emergence_lens.models.finetune import FinetuneRecipe
    from emergence_lens.outputs import OutputConflict
    from emergence_lens.pipelines.finetune import FinetuneError
    from emergence_lens.pipelines.finetune import finetune as run_finetune

    try:
        ks = [int(v) for v in split_list(k)]
        seed_list = [int(v) for v in split_list(seeds)]
        recipe = FinetuneRecipe(steps=steps, batch_size=batch_size, lr=lr)
    except ValueError as exc:
        fail(f"--k {k!r}, --seeds {seeds!r} or the recipe: {exc}")
    tasks = list(split_list(",".join(task))) if task else None
    try:
        res = run_finetune(ladder, out, tasks=tasks, train=train, evaluate=eval_, ks=ks, fit_on=fit_on,
                           n_eval=n_eval, seed=seed, seeds=seed_list, recipe=recipe, jobs=jobs, n_boot=n_boot)
    except (FinetuneError, OutputConflict) as exc:
        fail(str(exc))
    say(f"{res.jobs_run} finetunes run, {res.jobs_reused} reused; {res.cpu_seconds:.1f} CPU seconds of finetuning")
    console.print(f"wrote {out / 'finetune.csv'} and {out / 'summary.md'}")
