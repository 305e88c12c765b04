"""The built wheel is complete: every file the package reads at run time is inside it.

Tests otherwise run on an editable install, which would hide a data file the wheel leaves out.  The
install of the wheel into a fresh venv (and `theory`/`audit` from it) is measured by
``benchmarks/bench_install.py``; here the wheel is built and its contents checked, and the installed
tree is imported from the unpacked wheel alone."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "emergence_lens"


def _runtime_files() -> set[str]:
    """Every non-Python file in the source package (all of them are read at run time)."""
    return {str(p.relative_to(PKG.parent)) for p in PKG.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("wheel")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                          str(d), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    (whl,) = d.glob("emergence_lens-*.whl")
    return whl


def test_wheel_holds_every_module_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = _runtime_files()
    assert "emergence_lens/sources/data/model_catalogue.csv" in data
    assert data <= names, sorted(data - names)
    modules = {str(p.relative_to(PKG.parent)) for p in PKG.rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "Provides-Extra: train" in text and "Provides-Extra: all" in text
    core = [ln for ln in text.splitlines() if ln.startswith("Requires-Dist:") and "extra ==" not in ln]
    assert not any(h in ln for ln in core for h in ("torch", "transformers", "scikit", "mlxtend")), core


def test_unpacked_wheel_alone_reads_its_catalogue(wheel, tmp_path):
    zipfile.ZipFile(wheel).extractall(tmp_path)
    code = ("import emergence_lens, sys; assert emergence_lens.__file__.startswith(sys.argv[1]), emergence_lens.__file__;"
            "from emergence_lens.sources.catalogue import catalogue; print(len(catalogue()))")
    res = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, sys.argv[1]); {code}",
                          str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout.strip()) > 50


def test_core_install_reads_inspect_zstd_logs(wheel):
    """Inspect AI writes zstd-compressed ``.eval`` logs by default: the core requirements (no extra)
    carry the reader Python < 3.14 needs, and the shipped zstd logs open with it."""
    meta = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/METADATA"))
    requires = [line.split(":", 1)[1].strip() for line in zipfile.ZipFile(wheel).read(meta).decode().splitlines()
                if line.startswith("Requires-Dist:")]
    core = [r for r in requires if "extra ==" not in r]
    assert any(r.startswith("zipfile-zstd") and "python_version < \"3.14\"" in r for r in core), core
    from emergence_lens.sources.inspect_logs import read_inspect_log
    from emergence_lens.sources.issues import IssueLog

    logs = sorted((ROOT / "tests" / "data" / "inspect").rglob("*.eval"))
    zstd = [p for p in logs if any(i.compress_type == 93 for i in zipfile.ZipFile(p).infolist())]
    assert zstd, "no zstd-compressed .eval log among the test data"
    issues = IssueLog()
    rows, *_ = read_inspect_log(zstd[0], issues)
    assert rows and not [i for i in issues if i.severity == "error"], list(issues)
