"""What every command module shares: the console, one-line failures, the option parsers, and the
command line as the user typed it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:  # pandas is imported where a table is printed: the CLI starts (and its workers) sooner
    import pandas as pd

__all__ = ["console", "fail", "require", "command_line", "parse_chance", "split_list", "say",
           "alias", "parse_fit_on", "print_answer", "wide_console", "metric_list", "XAxis", "OldX", "Confidence",
           "Metric", "Chance", "NExamples",
           "Family", "Models", "ScaleMap", "Figures", "FitOn", "NBoot", "Seed", "Threshold", "Out"]

T = TypeVar("T")

# -- one option name per idea: the commands that share an idea share its option ------------------
XAxis = Annotated[str, typer.Option("--x-axis", help="x-axis: params, flops (6ND) or loss (pretraining loss).")]
#: The old spelling of --x-axis, still accepted.
OldX = Annotated[str | None, typer.Option("--x", hidden=True)]
Confidence = Annotated[float, typer.Option(help="Level of every interval (CIs, bands, calibrated intervals).")]
Metric = Annotated[list[str] | None, typer.Option(
    help="Only this metric (repeatable or comma-separated; default: every one that applies). Parametrised "
         "metrics by name, e.g. 'reconstruction_at[c=0.003]'.")]
Chance = Annotated[list[str] | None, typer.Option(
    help="TASK=LEVEL (or TASK:METRIC=LEVEL) chance level, repeatable (default: mean 1/K for multiple choice, 0 "
         "for generation; needed for accuracy in results files that do not say how many options there are).")]
NExamples = Annotated[list[str] | None, typer.Option(
    "--n-examples", help="TASK=N test-set size for results-only values that carry neither n nor a stderr "
                         "(repeatable); gives their points a resolution and their curves a CI.")]
Family = Annotated[str | None, typer.Option(help="Use this family name for every model.")]
Models = Annotated[Path | None, typer.Option(
    "--models", help="Metadata table: a model column and sizes with units in the header, e.g. 'Size (B)', "
                     "'Tokens (T)', 'FLOPs (1E21)'; optional family.")]
ScaleMap = Annotated[Path | None, typer.Option(
    help="CSV/JSON mapping model -> scale_params[, family] for models whose size is unknown.")]
Figures = Annotated[bool, typer.Option(help="Draw the figures (--no-figures: tables only, faster).")]
FitOn = Annotated[str | None, typer.Option(
    help="Fit on the K smallest models of each family and predict the rest; a list (3,4,5,6) runs each K.")]
NBoot = Annotated[int, typer.Option(help="Bootstrap resamples.")]
Seed = Annotated[int, typer.Option(help="Seed of every resample (same seed, same bytes).")]
Threshold = Annotated[float, typer.Option(help="Sharpness threshold (emergence score / (n_scales - 1)).")]
Out = Annotated[Path, typer.Option(help="Output directory (this run's own; never inside an input folder).")]


def alias(value: T, old: T | None, default: T, name: str, old_name: str) -> T:
    """The value of an option given under its name or its old spelling (both: they must agree)."""
    if old is None:
        return value
    if value != default and value != old:
        fail(f"{name} {value!r} and {old_name} {old!r} disagree: give one")
    return old


def parse_fit_on(text: str | None) -> list[int]:
    """``--fit-on 4`` or ``--fit-on 3,4,5``: whole numbers >= 2 (exit 2 naming the option otherwise)."""
    try:
        ks = [int(k) for k in (text or "").split(",") if k.strip()]
    except ValueError:
        ks = []
    if not ks or min(ks) < 2:
        fail(f"--fit-on {text!r}: expected K or a list K1,K2,... of whole numbers >= 2")
    return list(dict.fromkeys(ks))


def metric_list(items: list[str] | None) -> tuple[str, ...]:
    """``--metric`` given repeatedly, comma-separated, or both, as names in order (a parametrised
    name's own commas, inside ``[...]``, are kept)."""
    out: list[str] = []
    for item in items or []:
        depth, start = 0, 0
        for i, ch in enumerate(item + ","):
            depth += ch == "["
            depth -= ch == "]"
            if ch == "," and depth == 0:
                if item[start:i].strip():
                    out.append(item[start:i].strip())
                start = i + 1
    return tuple(dict.fromkeys(out))

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


#: How many of the sharpest curves the console lists.
SHARPEST = 5


def wide_console(min_width: int) -> Console:
    """The console for a table: at least ``min_width`` columns, so that no name in it is cut."""
    return Console(stderr=True, width=max(console.width, min_width), soft_wrap=False)


def print_answer(curves: pd.DataFrame, report: str, *, what: str = "curves") -> None:
    """The answer, before the list of files: how the verdicts fall, the sharpest curves with their
    emergence score, CI and verdict, and where the report is.  ``curves``: one row per curve with
    ``family, task, metric, n_scales, emergence_score, ci_low, ci_high, verdict`` (``audit.csv``)."""
    import pandas as pd

    from emergence_lens.emergence.verdict import verdict_tally

    if curves.empty:
        say(report)
        return
    counts = Table("verdict", what, title=f"verdicts of {len(curves)} {what}", title_justify="left")
    for verdict, n in verdict_tally(curves["verdict"]).items():
        counts.add_row(escape(str(verdict)), str(int(n)))
    wide = wide_console(120)
    wide.print(counts)
    scored = curves[curves["emergence_score"].notna()].copy()
    if len(scored):
        steps = (scored["n_scales"].astype(float) - 1).clip(lower=1)
        scored["_sharpness"] = scored["emergence_score"].astype(float) / steps
        top = scored.sort_values(["_sharpness", "family", "task", "metric"], ascending=[False, True, True, True],
                                 kind="stable").head(SHARPEST)
        sources = "source" in top
        sharp = Table("family", "task", "metric", *(["from"] if sources else []), "models", "emergence score (CI)",
                      "verdict", title=f"the {len(top)} sharpest of {len(scored)} scored", title_justify="left")
        for r in top.itertuples():
            ci = (f" ({r.ci_low:.3g} .. {r.ci_high:.3g})" if pd.notna(r.ci_low) and pd.notna(r.ci_high) else "")
            origin = (["re-scored samples" if "re-scored" in str(r.source) else "results only"] if sources else [])
            sharp.add_row(*(escape(str(v)) for v in (r.family, r.task, r.metric, *origin, int(r.n_scales),
                                                      f"{r.emergence_score:.3g}{ci}", r.verdict)))
        wide.print(sharp)
    say(report)
