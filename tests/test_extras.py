"""The light core: audit, score, theory, reproduce (theory, simulated), predict and report work where
none of the heavy extras can be imported, and a command that needs an extra says so in one line.

The heavy packages are blocked with a meta-path finder in a subprocess (no second venv needed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from emergence_lens.records import write_records
from tests.conftest import make_records

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
BLOCKED = ("torch", "transformers", "tokenizers", "safetensors", "skimage", "sklearn", "mlxtend", "HersheyFonts",
           "vllm", "openai", "lm_eval", "torchvision", "accelerate")

WRAPPER = textwrap.dedent(f"""
    import atexit, importlib.abc, sys
    BLOCKED = {BLOCKED!r}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, Block())

    @atexit.register
    def _leaks():
        leaked = sorted({{m.split(".")[0] for m in sys.modules}} & set(BLOCKED))
        if leaked:
            print("LEAKED", leaked, file=sys.stderr)

    from emergence_lens.cli import main
    sys.argv = ["emergence-lens", *sys.argv[1:]]
    main()
""")


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    d = tmp_path_factory.mktemp("core")
    (d / "cli.py").write_text(WRAPPER)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(d / "cli.py"), *map(str, args)], capture_output=True, text=True,
                              cwd=ROOT, timeout=600)
    return run


def test_blocker_blocks(core, tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(WRAPPER.split("from emergence_lens.cli")[0] + "import torch\n")
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert res.returncode != 0 and "blocked by the test" in res.stderr


def test_core_commands_work_without_any_extra(core, tmp_path):
    out = tmp_path
    res = core("theory", "--out", out / "theory", "--points", "21")
    assert res.returncode == 0, res.stderr
    assert len(pd.read_csv(out / "theory" / "theory.csv")) == 21 * 5

    res = core("audit", DATA / "lmeval_wild", "--out", out / "audit", "--n-boot", "100")
    assert res.returncode == 0, res.stderr
    verdicts = pd.read_csv(out / "audit" / "verdicts.csv")
    assert len(verdicts) > 5 and (out / "audit" / "report.html").exists()

    rec = write_records(make_records(n_models=4, n_examples=8), out / "rec.parquet")
    res = core("score", rec, "--out", out / "score", "--n-boot", "100")
    assert res.returncode == 0, res.stderr
    assert len(pd.read_csv(out / "score" / "verdicts.csv")) > 0

    res = core("predict", out / "audit", "--out", out / "predict")
    assert res.returncode in (0, 1), res.stderr  # 1: nothing predictable is a one-line answer, not a crash
    assert "Traceback" not in res.stderr

    res = core("report", out / "audit")
    assert res.returncode == 0, res.stderr
    assert "LEAKED" not in res.stderr


def test_reproduce_without_extras_runs_what_is_installed_and_says_what_it_skipped(core, tmp_path):
    res = core("reproduce", "--quick", "--out", tmp_path / "r")
    assert res.returncode == 0, res.stderr
    assert "LEAKED" not in res.stderr
    assert (tmp_path / "r" / "theory" / "theory.csv").exists()
    assert (tmp_path / "r" / "simulated" / "verdicts.csv").exists()
    assert not (tmp_path / "r" / "arithmetic").exists() and not (tmp_path / "r" / "vision").exists()
    text = " ".join(res.stderr.split())
    assert "skipped: 'reproduce arithmetic' needs the train extra" in text
    assert "skipped: 'reproduce vision' needs the vision extra" in text
    summary = (tmp_path / "r" / "summary.md").read_text()
    assert "Skipped: 'reproduce arithmetic' needs the train extra" in summary


@pytest.mark.parametrize(("args", "extra"), [
    (["reproduce", "arithmetic", "--quick"], "train"),
    (["reproduce", "vision", "--quick"], "vision"),
    (["evaluate", "--model", "x", "--task", "generate:plus:2", "--out", "OUT"], "train"),
    (["evaluate", "--model", "x", "--task", "generate:plus:2", "--out", "OUT", "--backend", "openai",
      "--base-url", "http://127.0.0.1:1/v1"], "openai"),
    (["serve", "--model", "x"], "train"),
])
def test_a_command_that_needs_an_extra_says_so_in_one_line(core, tmp_path, args, extra):
    res = core(*[str(tmp_path / "o") if a == "OUT" else a for a in args])
    assert res.returncode == 2
    assert "Traceback" not in res.stderr + res.stdout
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    joined = " ".join(" ".join(lines).split())
    assert f"needs the {extra} extra" in joined and f"pip install 'emergence-lens[{extra}]'" in joined
    assert joined.startswith("error:")
