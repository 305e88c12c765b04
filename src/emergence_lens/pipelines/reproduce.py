"""The pipeline behind ``emergence-lens reproduce``: run registered experiments into ``OUT/<name>/``,
resumable.

Each experiment leaves ``OUT/<name>/manifest.json`` when it completes (its configuration hash and
files); a rerun with the same settings skips it unless ``force``.  ``OUT/summary.md`` gathers every
experiment's summary; ``run.json`` and ``report.html`` close the run.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from emergence_lens import __version__
from emergence_lens._io import atomic_write_text

__all__ = ["ReproduceError", "ReproduceRun", "plan_experiments", "reproduce"]


class ReproduceError(ValueError):
    """Bad experiment names or options, or an experiment that failed on its data (one line)."""


@dataclass
class ReproduceRun:
    """Attributes:
        completed: per experiment run or resumed: ``(name, files, seconds or None when resumed)``.
        skipped: why experiments whose extra is missing were left out.
        summary: ``OUT/summary.md``.
        report: the line about ``report.html`` (written, or why not).
    """

    completed: list[tuple[str, int, float | None]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    summary: Path | None = None
    report: str = ""


def _config_hash(name: str, quick: bool, seed: int, options: dict[str, str] | None = None) -> str:
    key = [name, quick, seed, __version__] + ([sorted(options.items())] if options else [])
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]


def plan_experiments(names: Sequence[str] | None, options: Mapping[str, str]) -> tuple[list, list[str]]:
    """The experiments to run (registered ones whose extras are installed) and the messages of those
    left out.  Raises :class:`ReproduceError` for an unknown name, an option no experiment takes, or
    an experiment named explicitly whose extra is missing."""
    from emergence_lens.experiments import EXPERIMENTS, get_experiment
    from emergence_lens.extras import ExtraMissing, require_extra

    explicit = bool(names)
    names = list(names or EXPERIMENTS)
    try:
        exps = [get_experiment(n) for n in names]
    except KeyError as exc:
        raise ReproduceError(str(exc.args[0])) from None
    runnable, skipped = [], []
    for exp in exps:
        try:
            for extra in exp.requires:
                require_extra(extra, f"'reproduce {exp.name}'")
        except ExtraMissing as exc:
            if explicit:  # named explicitly: refused
                raise ReproduceError(str(exc)) from None
            skipped.append(str(exc))
            continue
        runnable.append(exp)
    accepted = {k for e in runnable for k in e.options}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ReproduceError(f"--option {', '.join(unknown)}: not accepted by {', '.join(names)} "
                             f"(accepted: {', '.join(sorted(accepted)) or 'none'})")
    return runnable, skipped


def reproduce(names: Sequence[str] | None, out: str | Path, *, quick: bool = False, seed: int = 0,
              force: bool = False, options: Mapping[str, str] | None = None, retrain: bool = False,
              command_line: str = "", on_skipped: Callable[[str], None] | None = None,
              on_start: Callable[[str, int, int], None] | None = None,
              on_done: Callable[[str, str], None] | None = None) -> ReproduceRun:
    """Run the experiments ``names`` (default: every registered one whose extras are installed) into
    ``out``; ``on_skipped(message)`` (an experiment left out for a missing extra), ``on_start(name, i,
    n)`` and ``on_done(name, message)`` report progress.

    Raises:
        ReproduceError: bad names or options, or an experiment's data error.
    """
    from emergence_lens.experiments import EXPERIMENTS, ExperimentOptionError
    from emergence_lens.outputs import output_run
    from emergence_lens.pipelines.run import finish_run
    from emergence_lens.vision.data import DatasetError

    started = time.time()
    options = dict(options or {})
    exps, skipped = plan_experiments(names, options)
    for message in skipped if on_skipped else ():
        on_skipped(message)
    out = Path(out)
    run = ReproduceRun(skipped=skipped)
    sections: list[str] = []
    with output_run(out, (), "reproduce") as outputs:
        out.mkdir(parents=True, exist_ok=True)
        for i, exp in enumerate(exps):
            if on_start:
                on_start(exp.name, i, len(exps))
            exp_dir = out / exp.name
            manifest = exp_dir / "manifest.json"
            exp_options = {k: v for k, v in options.items() if k in exp.options}
            if retrain and "retrain" in exp.options:
                exp_options["retrain"] = "1"
            digest = _config_hash(exp.name, quick, seed, exp_options)
            if not force and manifest.exists():
                info = json.loads(manifest.read_text())
                if info.get("config") == digest and all((exp_dir / f).exists() for f in info["files"]):
                    for f in [*info["files"], "manifest.json"]:  # resumed: still this run's outputs
                        outputs.claim(exp_dir / f)
                    sections.append(info["summary_md"])
                    run.completed.append((exp.name, len(info["files"]), None))
                    if on_done:
                        on_done(exp.name, f"already complete in {exp_dir}, skipped (--force reruns)")
                    continue
            t0 = time.perf_counter()
            try:
                res = exp.run(exp_dir, quick, seed, exp_options)
            except (ExperimentOptionError, DatasetError, FileNotFoundError) as exc:  # bad options or data
                raise ReproduceError(f"{exp.name}: {exc}") from exc
            elapsed = time.perf_counter() - t0
            files = sorted({str(Path(f).relative_to(exp_dir)) for f in res.files})
            atomic_write_text(manifest, json.dumps(
                {"experiment": exp.name, "config": digest, "quick": quick, "seed": seed, "options": exp_options,
                 "version": __version__, "files": files, "summary_md": res.summary_md}, indent=1))
            sections.append(res.summary_md)
            run.completed.append((exp.name, len(files), elapsed))
            if on_done:
                on_done(exp.name, f"{len(files)} files in {exp_dir} ({elapsed:.1f} s)")
        opt_text = "".join(f" -o {k}={v}" for k, v in options.items())
        shown = " ".join(names or list(EXPERIMENTS))
        header = (f"# emergence-lens reproduce\n\nSettings: quick={quick}, seed={seed}, version "
                  f"{__version__}. Command: `emergence-lens reproduce {shown}"
                  f"{' --quick' if quick else ''}{' --retrain' if retrain else ''}{opt_text} --out {out}`. Each "
                  "section's files are in its subdirectory.\n" + "".join(f"\nSkipped: {m}.\n" for m in skipped))
        run.summary = atomic_write_text(out / "summary.md", "\n\n".join([header, *sections]) + "\n")
        run.report = finish_run(out, command="reproduce", started=started, seed=seed, command_line=command_line)
    return run
