"""``emergence-lens train-ladder`` and ``train-vision``: train the ladders that ship in the package
(development commands; ``reproduce --retrain`` uses the same recipes)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from emergence_lens.cli.common import console, fail, require


def train_ladder_cmd(
    out: Annotated[Path, typer.Option(help="Directory for the models (OUT/ladder-01 ...).")] = Path("ladder"),
    seed: Annotated[int, typer.Option(help="Training seed (seeds 0, 1 and 2 ship; reproduce evaluates 0).")] = 0,
    jobs: Annotated[int, typer.Option(help="Members trained at once, one CPU thread each; the bytes do "
                                           "not depend on it.")] = 2,
    size: Annotated[list[str] | None, typer.Option(
        help="Train only these members (e.g. --size ladder-01); default all eight.")] = None,
) -> None:
    """Train the arithmetic ladder with the default recipe; resumable.

    `emergence-lens train-ladder --out src/emergence_lens/models/checkpoints` regenerates the
    ladder that ships in the package, and `--seed 1 --out src/emergence_lens/models/checkpoints/seed-1`
    (likewise seed 2) the seed ladders shipped beside it. Each member trains on one thread in its own
    process with the numeric libraries pinned: same seed, same bytes on the same machine; on another
    CPU kind the loss curve follows the shipped one closely, then the weights differ (README).
    """
    require("train", "'train-ladder'")
    from dataclasses import replace

    from emergence_lens.models.ladder import DEFAULT_RECIPE, DEFAULT_SIZES, train_ladder

    sizes = DEFAULT_SIZES
    if size:
        known = {s.name: s for s in DEFAULT_SIZES}
        missing = [n for n in size if n not in known]
        if missing:
            fail(f"--size {', '.join(missing)}: unknown (members: {', '.join(known)})")
        sizes = tuple(known[n] for n in size)
    if jobs < 1:
        fail("--jobs must be >= 1")
    t0 = time.perf_counter()
    metas = train_ladder(out, sizes, replace(DEFAULT_RECIPE, seed=seed), jobs=jobs)
    table = Table("model", "non-embedding params", "final loss")
    for m in metas:
        table.add_row(m["name"], f"{m['non_embedding_params']:,}", f"{m['final_loss']:.4f}")
    console.print(table)
    console.print(f"{len(metas)} models in {out} ({time.perf_counter() - t0:.0f} s)")


def train_vision_cmd(
    out: Annotated[Path, typer.Option(help="Directory for the models (OUT/lenet/lenet-01 ...).")] = Path("vision-ladders"),
    seed: Annotated[int, typer.Option(help="Training seed (seed 0 ships; reproduce vision evaluates it).")] = 0,
    quick: Annotated[bool, typer.Option(help="Fewer epochs and less data (the quick recipes).")] = False,
    data_dir: Annotated[Path | None, typer.Option(
        help="Folder with real datasets (mnist/, cifar-100-python/, omniglot/); default: the embedded ones.")] = None,
    jobs: Annotated[int, typer.Option(help="Families trained at once, one CPU thread each.")] = 2,
) -> None:
    """Train the LeNet, autoencoder and transformer ladders (paper Figs. 7-9); resumable.

    `emergence-lens train-vision --out src/emergence_lens/vision/checkpoints` regenerates the vision
    ladders that ship in the package. Each family trains on one thread in its own pinned process:
    the same seed gives the same bytes on the same machine; on another CPU the weights differ in the
    last bits (see the README's "What is byte-identical").
    """
    require("vision", "'train-vision'")
    from emergence_lens.experiments.vision import train_vision
    from emergence_lens.vision.data import DatasetError

    if jobs < 1:
        fail("--jobs must be >= 1")
    t0 = time.perf_counter()
    try:
        metas = train_vision(out, quick=quick, seed=seed, data_dir=data_dir, jobs=jobs)
    except (DatasetError, FileNotFoundError) as exc:
        fail(str(exc))
        return
    table = Table("model", "params", "epochs")
    for m in metas:
        table.add_row(m["name"], f"{m['params']:,}", str(m["recipe"]["epochs"]))
    console.print(table)
    console.print(f"{len(metas)} models in {out} ({time.perf_counter() - t0:.0f} s)")
