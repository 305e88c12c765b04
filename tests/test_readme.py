"""The README's promises: two Quick-start commands, CI runs the test one, figures exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_exactly_two_quick_start_commands():
    cmds = _quick_start_commands()
    assert len(cmds) == 2 and all("\n" not in c for c in cmds)
    assert "emergence-lens reproduce" in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _quick_start_commands()[1] in ci
    assert '"$rc" -eq 5' in ci  # an empty suite must fail


def test_readme_figures_exist_and_come_from_a_named_command():
    for img in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        assert (ROOT / img).exists(), img
        if img.startswith("docs/reproduce/"):
            assert "emergence-lens reproduce --out docs/reproduce" in README
