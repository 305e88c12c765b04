"""``emergence-lens theory``: the closed-form model of the paper's Fig. 2."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emergence_lens.cli.common import fail, say


def theory(
    out: Annotated[Path, typer.Option(help="Output directory.")],
    c: Annotated[float, typer.Option(help="Scale constant c in CE(N) = (N/c)^alpha.")] = 1e9,
    alpha: Annotated[float, typer.Option(help="Exponent alpha (< 0).")] = -0.3,
    lengths: Annotated[str, typer.Option(help="Target lengths L, comma-separated.")] = "1,2,3,4,5",
    n_choices: Annotated[int, typer.Option(help="Options per multiple-choice question.")] = 4,
    n_min: Annotated[float, typer.Option(help="Smallest N.")] = 1e7,
    n_max: Annotated[float, typer.Option(help="Largest N.")] = 1e14,
    points: Annotated[int, typer.Option(help="Log-spaced N values.")] = 141,
) -> None:
    """Closed-form model (paper Fig. 2): write OUT/theory.csv and OUT/theory.png (panels A-F)."""
    from emergence_lens.experiments.theory import run_theory
    from emergence_lens.theory import ScalingModel

    try:
        ls = [int(v) for v in lengths.split(",") if v.strip()]
        model = ScalingModel(c=c, alpha=alpha, n_choices=n_choices, n_min=n_min, n_max=n_max, n_points=points)
        res = run_theory(out, model=model, lengths=ls)
    except ValueError as exc:
        fail(str(exc))
    for f in res.files:
        say(f"wrote {f}")
