"""Paper reproductions, registered by name; ``emergence-lens reproduce`` runs them.

An experiment is a function ``run(out_dir, quick, seed, options) -> ExperimentResult``; ``options``
maps the names it declares in :attr:`Experiment.options` to strings (``reproduce --option
KEY=VALUE``).  Later work adds its experiments with :func:`register_experiment`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from emergence_lens.registry import Registry

__all__ = ["Experiment", "ExperimentResult", "ExperimentOptionError", "EXPERIMENTS", "register_experiment",
           "get_experiment"]


class ExperimentOptionError(ValueError):
    """An experiment option (``reproduce -o KEY=VALUE``) has a value the experiment cannot use."""


@dataclass
class ExperimentResult:
    """What an experiment wrote: its files and a markdown section for ``summary.md``."""

    files: list[Path]
    summary_md: str
    numbers: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """Attributes:
        name: registry key and output subfolder.
        description: one line.
        run: ``run(out_dir, quick, seed, options)``.
        options: option name -> help, for the options ``run`` accepts.
        requires: optional extras it needs (``"train"``, ``"vision"``; see :mod:`emergence_lens.extras`).
    """

    name: str
    description: str
    run: Callable[[Path, bool, int, dict[str, str]], ExperimentResult]
    options: dict[str, str] = field(default_factory=dict)
    requires: tuple[str, ...] = ()


EXPERIMENTS: Registry[Experiment] = Registry("experiment")


def register_experiment(exp: Experiment) -> Experiment:
    """Add ``exp`` to :data:`EXPERIMENTS` (a name once)."""
    if exp.name in EXPERIMENTS:
        raise ValueError(f"experiment {exp.name!r} is already registered")
    return EXPERIMENTS.register(exp.name, exp)


def get_experiment(name: str) -> Experiment:
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise KeyError(f"unknown experiment {name!r}; available: {sorted(EXPERIMENTS)}") from None


#: Built-in experiments, in the order `reproduce` runs them.
BUILTIN = ("theory", "simulated", "arithmetic", "vision")


def _load_builtin() -> None:
    import importlib

    for name in BUILTIN:
        importlib.import_module(f"emergence_lens.experiments.{name.replace('-', '_')}")


_load_builtin()
