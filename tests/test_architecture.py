"""The package's shape, checked on its source: imports run one way with no circle, statistics never
import torch, the core knows no CLI, no private name crosses a package, and every command has its
pipeline module of the same name."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "emergence_lens"
#: Packages and modules that hold statistics or data handling: never torch (it is an optional extra).
NO_TORCH = ("emergence", "curves", "metrics", "records", "sources", "scoring", "backtesting", "report", "pipelines",
            "engine", "outputs", "naming", "_io")


def _modules() -> dict[str, Path]:
    out = {}
    for p in SRC.rglob("*.py"):
        parts = p.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


MODULES = _modules()


def _imports(name: str) -> list[tuple[str, str]]:
    """``(module imported, name)`` of every import in a module (top level and inside functions)."""
    p = MODULES[name]
    is_pkg = p.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(p.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_pkg else name.split(".")[:-1]
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            out += [(base, a.name) for a in node.names]
    return out


def _target(module: str, name: str) -> str | None:
    """The module of ours an import loads: ``module.name`` when that is a submodule, else ``module``."""
    if f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module or None


def test_no_import_circle():
    graph = {m: set() for m in MODULES}
    for m in MODULES:
        for module, name in _imports(m):
            t = _target(module, name) if module.startswith("emergence_lens") else None
            # a package's __init__ re-exporting its own submodules is not an edge of the flow
            if t and t != m and not t.startswith(m + "."):
                graph[m].add(t)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(v: str) -> None:
        state[v] = 1
        path.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(w):] + [w]))
            if w not in state:
                visit(w)
        path.pop()
        state[v] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_statistics_never_import_torch_and_the_core_knows_no_cli():
    bad = []
    for name in sorted(MODULES):
        short = name.removeprefix("emergence_lens.")
        imported = {module.split(".")[0] for module, _ in _imports(name)}
        if short.split(".")[0] in NO_TORCH and "torch" in imported:
            bad.append(f"{name} imports torch")
        if not short.startswith(("cli", "__main__")) and (
                "typer" in imported or any(m.startswith("emergence_lens.cli") for m, _ in _imports(name))):
            bad.append(f"{name} imports the CLI")
    assert not bad, bad


def test_no_private_name_crosses_a_package():
    bad = []
    for name in sorted(MODULES):
        own_package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
        for module, imported in _imports(name):
            if not module.startswith("emergence_lens") or not imported.startswith("_") or imported.startswith("__"):
                continue
            package = module if MODULES.get(module, Path()).name == "__init__.py" else module.rpartition(".")[0]
            if package != own_package:
                bad.append(f"{name} imports {module}.{imported}")
    assert not bad, bad


def test_every_command_has_its_pipeline_and_cli_module_of_the_same_name():
    from emergence_lens.cli import app

    commands = {c.name for c in app.registered_commands}
    for command in ("audit", "predict", "score", "report", "evaluate", "reproduce"):
        assert command in commands
        assert f"emergence_lens.pipelines.{command}" in MODULES and f"emergence_lens.cli.{command}" in MODULES


def _recipes() -> dict[str, str]:
    """The python code block under each ``### `` heading of docs/architecture.md."""
    import re

    text = (SRC.parents[1] / "docs" / "architecture.md").read_text()
    out = {}
    for m in re.finditer(r"^### (?P<title>.+?)\n(?P<body>.*?)(?=^### |\Z)", text, re.S | re.M):
        code = re.findall(r"```python\n(.*?)```", m.group("body"), re.S)
        if code:
            out[m.group("title").strip()] = code[0]
    return out


def test_the_architecture_recipes_run_as_written(monkeypatch):
    """Every recipe of docs/architecture.md runs as written (from the repository root) and its own
    asserts hold; what it registered is taken out again, so no other test sees it."""
    from emergence_lens.emergence.forecast import PREDICTORS
    from emergence_lens.metrics import METRICS
    from emergence_lens.sources.load import READERS
    from emergence_lens.sources.sniff import JSON_FORMATS

    recipes = _recipes()
    assert set(recipes) == {"Add a metric", "Add a reader", "Add a forecast method", "Add a command"}
    monkeypatch.chdir(SRC.parents[1])
    before = {id(r): dict(r) for r in (METRICS, PREDICTORS, READERS, JSON_FORMATS)}
    try:
        for title, code in recipes.items():
            exec(compile(code, f"docs/architecture.md: {title}", "exec"), {"__name__": f"recipe_{len(title)}"})  # noqa: S102
    finally:
        for registry in (METRICS, PREDICTORS, READERS, JSON_FORMATS):
            registry.clear()
            registry.update(before[id(registry)])


def test_the_cli_starts_without_the_data_stack():
    """``emergence-lens`` imports pandas (and numpy, torch) only inside a command: the audit starts
    its worker processes before this process's heavy imports, so they overlap."""
    import subprocess
    import sys

    code = "import sys, emergence_lens.cli.main; print(sorted({'pandas', 'numpy', 'torch'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", out


def test_the_audit_process_never_imports_matplotlib_and_the_report_s_figures_still_import():
    """The audit's own process writes tables and the HTML report (its workers draw the figures): its
    pipeline imports no matplotlib, while ``emergence_lens.report``'s figure names still resolve.
    Nor does it (or a worker, which imports the partitions' code) import ``scipy.optimize`` (0.12 s),
    which only the finetuning forecast's fit needs — and imports when it runs."""
    import subprocess
    import sys

    code = ("import sys, emergence_lens.pipelines.audit, emergence_lens.engine.partition, emergence_lens.report as r; "
            "print('matplotlib' in sys.modules, 'scipy.optimize' in sys.modules); "
            "from emergence_lens.report import plot_curves, plot_verdicts; "
            "print(plot_curves.__module__, plot_verdicts.__module__, 'save_figure' in dir(r))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "emergence_lens.report.figures", "emergence_lens.report.verdict_figures", "True"]
