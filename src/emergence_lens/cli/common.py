"""What every command module shares: the console, one-line failures, the option parsers, and the
command line as the user typed it."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["console", "fail", "require", "command_line", "parse_chance", "split_list", "print_verdicts", "say"]

console = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> NoReturn:
    """Print ``error: message`` (one line) and exit 2."""
    console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code=2)


def say(line: str, style: str | None = None) -> None:
    """Print a line of the run's own words (file names, issues) literally: no markup, no highlighting."""
    console.print(line, style=style, markup=False, highlight=False)


def require(extra: str, what: str) -> None:
    """Exit 2 with one line when ``what`` needs an optional extra that is not installed."""
    from emergence_lens.extras import ExtraMissing, require_extra

    try:
        require_extra(extra, what)
    except ExtraMissing as exc:
        fail(str(exc))


def command_line(ctx: typer.Context | None, command: str) -> str:
    """The command as a user would type it, rebuilt from the parsed options (the process's own argv
    is a test runner's or a notebook's when the CLI is called in-process)."""
    import shlex

    parts = ["emergence-lens", command]
    if ctx is not None:
        for param in ctx.command.params:
            value = ctx.params.get(param.name)
            if value is None or value == param.default or value in ([], ()):
                continue
            values = value if isinstance(value, (list, tuple)) else [value]
            if param.param_type_name == "argument":
                parts += [str(v) for v in values]
            elif isinstance(value, bool):
                parts.append(param.opts[0] if value else (param.secondary_opts or [f"--no-{param.name}"])[0])
            else:
                for v in values:
                    parts += [param.opts[0], str(v)]
    return shlex.join(parts)


def parse_chance(items: list[str] | None) -> dict[str, float]:
    """``TASK=LEVEL`` (or ``TASK:METRIC=LEVEL``) options as a mapping; ``ValueError`` names a bad one."""
    levels: dict[str, float] = {}
    for item in items or []:
        task, sep, value = item.rpartition("=")
        try:
            if not sep or not task:
                raise ValueError
            levels[task] = float(value)
        except ValueError:
            raise ValueError(f"--chance {item!r}: expected TASK=LEVEL with a number") from None
    return levels


def split_list(text: str | None) -> tuple[str, ...]:
    """A comma-separated option as its non-empty, stripped items."""
    return tuple(c.strip() for c in (text or "").split(",") if c.strip())


def print_verdicts(verdicts: pd.DataFrame) -> None:
    """The verdict of every sharp metric against its first partner, and every other curve's."""
    if verdicts.empty:
        return
    first = verdicts.drop_duplicates(["family", "task", "metric"], keep="first")
    table = Table("family", "task", "metric", "partner", "state", "explained", "verdict")
    for r in first.itertuples():
        if r.partner or r.verdict not in ("no emergence",):
            table.add_row(*(escape(str(v)) for v in (r.family, r.task, r.metric, r.partner, r.metric_state,
                                                      r.explained, r.verdict)))
    Console().print(table)
