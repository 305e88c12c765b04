"""The tutorial's commands, run as written: its lm_eval command gives the runs it audits, and every
``emergence-lens`` command in it prints exactly the output the page shows."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emergence_lens.cli import app

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
RUNS = ROOT / "tests" / "data" / "tutorial_runs"


def _console_blocks() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) of every ``console`` block, in page order."""
    out = []
    for block in re.findall(r"```console\n(.*?)```", TUTORIAL.read_text(), flags=re.S):
        lines = block.rstrip("\n").split("\n")
        assert lines[0].startswith("$ emergence-lens "), lines[0]
        out.append((lines[0][2:], lines[1:]))
    return out


def _normalise(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def test_every_tutorial_command_prints_what_the_page_shows(tmp_path, monkeypatch):
    blocks = _console_blocks()
    assert [c.split()[1] for c, _ in blocks] == ["audit", "predict"]
    shutil.copytree(RUNS, tmp_path / "runs")
    monkeypatch.chdir(tmp_path)
    for command, expected in blocks:
        res = CliRunner().invoke(app, shlex.split(command)[1:])
        assert res.exit_code == 0, res.output
        assert _normalise(res.output) == _normalise("\n".join(expected)), f"{command}\n{res.output}"
    assert (tmp_path / "audit" / "report.html").exists() and (tmp_path / "forecast" / "report.html").exists()
    # the report counts what audit.csv and the console count: a curve re-scored from the samples and the
    # same curve from the results files alone are two curves with two verdicts
    import pandas as pd

    audit = pd.read_csv(tmp_path / "audit" / "audit.csv")
    report = (tmp_path / "audit" / "report.html").read_text()
    assert f'<b id="n-curves">{len(audit)}</b>' in report
    artifacts = int(audit["verdict"].str.startswith("metric artifact").sum())
    assert artifacts == 3 and f'<b id="n-artifact">{artifacts}</b>' in report


def _lm_eval_command() -> str:
    text = TUTORIAL.read_text()
    block = next(b for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S) if "lm_eval run" in b)
    joined = block.replace("\\\n", " ")
    return re.search(r"lm_eval run [^\n]*", joined).group(0).strip()


def _samples(folder: Path, task: str) -> list[Path]:
    return [f for f in folder.rglob("samples_*.jsonl") if re.fullmatch(rf"samples_{task}_\d{{4}}-.*", f.name)]


def test_the_tutorial_lm_eval_command_wrote_the_runs_it_audits(tmp_path):
    """The first 10 problems of each task through the page's own lm_eval command, on the smallest
    model: the same answers and log-likelihoods as the committed runs."""
    pytest.importorskip("lm_eval")
    pytest.importorskip("transformers")
    model = "src/emergence_lens/models/checkpoints/ladder-01"
    command = _lm_eval_command().replace("$(basename $m)", "ladder-01").replace("$m", model)
    args = shlex.split(command)
    args[args.index("--output_path") + 1] = str(tmp_path / "runs" / "ladder-01")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    res = subprocess.run([sys.executable, "-m", "lm_eval", *args[1:], "--limit", "10"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    for task in ("ladder_add4", "ladder_add5", "ladder_add5_mc"):
        (ours,) = _samples(tmp_path / "runs" / "ladder-01", task)
        (theirs,) = _samples(RUNS / "ladder-01", task)
        fields = ("doc_id", "doc", "target", "filtered_resps")
        got = [tuple(json.dumps(r[f], sort_keys=True) for f in fields) for r in map(json.loads, ours.open())]
        want = [tuple(json.dumps(r[f], sort_keys=True) for f in fields) for r in map(json.loads, theirs.open())]
        assert len(got) == 10 and got == want[:10], task
