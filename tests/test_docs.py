"""The documentation: the site builds with ``mkdocs build --strict`` (no broken link, no missing
reference), the README leads with the user's path, and README and docs speak to users only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
#: The pages written by hand (the folders under docs/ beside them hold generated outputs).
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "CONTRIBUTING.md",
         *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "docs").glob("*/*.md"))]
PAGES = [p for p in PAGES if p.parent.name not in ("reproduce", "audit", "audit_wide", "forecast", "examples")]


def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    warnings = [line for line in res.stderr.splitlines() if line.startswith("WARNING")]
    assert not warnings, warnings
    cli = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    for option in ("--x-axis", "--confidence", "--metric", "--fit-on", "--no-figures"):
        assert option in cli, option  # the CLI reference is generated from the application
    assert "--metric-cols" not in cli.split("not listed")[1]  # old spellings stay hidden
    api = (tmp_path / "site" / "reference" / "api" / "index.html").read_text()
    assert "emergence_lens.pipelines.audit.audit" in api and "emergence_lens.backtesting.backtest_curves" in api


def test_readme_leads_with_the_users_path():
    lines = README.split("\n")
    assert len(lines) <= 200, len(lines)
    first_screen = "\n".join(lines[:60])
    assert "emergence-lens audit runs/ --out audit/" in first_screen
    assert "--log_samples" in first_screen and "emergence-lens predict" in first_screen


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_speak_to_users_about_the_project_only(page):
    text = page.read_text()
    assert not re.search(r"\bsessions?\b", text, flags=re.I), page
    assert not re.search(r"\bissues? #?\d+", text, flags=re.I), page


def test_every_image_and_local_link_of_the_readme_exists():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target


def test_citation_licence_and_contributing_are_there():
    cff = (ROOT / "CITATION.cff").read_text()
    assert "cff-version:" in cff and "Are Emergent Abilities of Large Language Models a Mirage?" in cff
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0" in (ROOT / "LICENSE").read_text()
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text() or "## [0." in (ROOT / "CHANGELOG.md").read_text()
    assert (ROOT / "CONTRIBUTING.md").exists()
